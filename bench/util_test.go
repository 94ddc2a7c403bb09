package bench

import (
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/graph"
)

// fixtureConfig is testdata/fixtures/llama_causal_lm's config.
const fixtureConfig = `{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":256,"hidden_size":64,
"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"rms_norm_eps":1e-6,
"max_position_embeddings":64,"pad_token_id":0}`

func tensorsInts(t *tensors.Tensor) []int64 { return tensors.MustCopyFlatData[int64](t) }

func vocabOf(m *graph.Model) int {
	p, _ := m.Param(m.Params[0].Name)
	return p.Shape[0]
}
