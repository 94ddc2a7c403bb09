package graph

import (
	"strings"
	"testing"
)

// TestConfigLayerBound: a layer count beyond any model is refused by CheckSizes (LoadConfig), naming the key (2e9 layers made
// `hift plan` build units for hours); the deepest real depths still parse.
func TestConfigLayerBound(t *testing.T) {
	const base = `{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":64,"hidden_size":32,"intermediate_size":64,"num_attention_heads":4,`
	for _, tc := range []struct{ layers, want string }{
		{`"num_hidden_layers":2000000000}`, "num_hidden_layers is 2000000000, beyond any model"},
		{`"num_hidden_layers":10001}`, "beyond any model"},
		{`"num_hidden_layers":1000}`, ""},
	} {
		c, err := ParseConfig([]byte(base+tc.layers), "tiny/config.json")
		if err == nil {
			err = c.CheckSizes()
		}
		if (tc.want == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "tiny/config.json"))) {
			t.Errorf("%s: error %v, want %q", tc.layers, err, tc.want)
		}
	}
}
