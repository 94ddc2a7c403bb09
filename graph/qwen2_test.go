package graph

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// qwen2Biases returns the q/k/v biases of a Qwen2 model (all parameters named *_proj.bias), each filled by fill.
func qwen2Biases(m *Model, fill func(name string, i int) float32) map[string]*tensors.Tensor {
	out := map[string]*tensors.Tensor{}
	for _, p := range m.Params {
		if strings.HasSuffix(p.Name, "_proj.bias") {
			v := make([]float32, p.NumElements())
			for i := range v {
				v[i] = fill(p.Name, i)
			}
			out[p.Name] = tensors.FromFlatDataAndDimensions(v, p.Shape...)
		}
	}
	return out
}

// TestQwen2ZeroBiasIsLlama: on the LLaMA fixture's weights (same names, nothing renamed) plus q/k/v biases of
// zero, Qwen2 is LLaMA bit for bit (logits, loss, hidden states, every gradient), hence within the fixture's HF
// tolerances; non-zero biases change the logits.
func TestQwen2ZeroBiasIsLlama(t *testing.T) {
	want := runLlamaFixture(t)
	m, w, batch, fx := llamaFixtureVariant(t, "qwen2", "Qwen2ForCausalLM", nil)
	biases := qwen2Biases(m, func(string, int) float32 { return 0 })
	if len(biases) != 6 { // 2 layers × q, k, v
		t.Fatalf("Qwen2 has %d q/k/v biases, want 6", len(biases))
	}
	for k, v := range biases {
		w[k] = v
	}
	out, err := RunForward(testBackend(t), m, w, batch, ForwardOptions{Grads: true, Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	checkBitIdentical(t, "qwen2 with zero biases", out, want)
	compareWithGolden(t, fx, out, batch)
	for k := range biases {
		if g := out["grad."+k]; g == nil || !slices.ContainsFunc(tensors.MustCopyFlatData[float32](g), func(x float32) bool { return x != 0 }) {
			t.Errorf("grad.%s missing or zero", k)
		}
	}

	for k, v := range qwen2Biases(m, func(name string, i int) float32 { return 0.05 * float32(i%7-3) }) {
		w[k] = v
	}
	biased, err := RunForward(testBackend(t), m, w, batch, ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := decMaxDiff(biased["logits"], want["logits"]); d < 1e-4 {
		t.Errorf("non-zero q/k/v biases changed the logits by only %g", d)
	}
}

const qwen2Tiny = `"model_type":"qwen2","vocab_size":40,"hidden_size":16,"intermediate_size":24,"num_hidden_layers":2,"num_attention_heads":4`

// TestQwen2Layout checks the parameters (q/k/v biases in the block unit, NoDecay; no o_proj or MLP bias even if
// config.json says attention_bias), Qwen2Config's defaults (untied head, 32 kv heads when absent) and units.
func TestQwen2Layout(t *testing.T) {
	m := decModel(t, `{"architectures":["Qwen2ForCausalLM"],`+qwen2Tiny+`,"num_key_value_heads":2,"attention_bias":true}`)
	var want []ParamSpec
	want = append(want, decSpec("model.embed_tokens.weight", false, 40, 16))
	for l := 0; l < 2; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		want = append(want,
			decSpec(p+"self_attn.q_proj.weight", false, 16, 16), decSpec(p+"self_attn.q_proj.bias", true, 16),
			decSpec(p+"self_attn.k_proj.weight", false, 8, 16), decSpec(p+"self_attn.k_proj.bias", true, 8),
			decSpec(p+"self_attn.v_proj.weight", false, 8, 16), decSpec(p+"self_attn.v_proj.bias", true, 8),
			decSpec(p+"self_attn.o_proj.weight", false, 16, 16),
			decSpec(p+"mlp.gate_proj.weight", false, 24, 16), decSpec(p+"mlp.up_proj.weight", false, 24, 16),
			decSpec(p+"mlp.down_proj.weight", false, 16, 24),
			decSpec(p+"input_layernorm.weight", true, 16), decSpec(p+"post_attention_layernorm.weight", true, 16))
	}
	want = append(want, decSpec("model.norm.weight", true, 16), decSpec("lm_head.weight", false, 40, 16))
	decCheckParams(t, m, want)
	decCheckUnits(t, m, nil, "model.embed_tokens", "model.layers.0", "model.layers.1", "model.norm", "lm_head")
	if len(m.Tied) != 0 {
		t.Errorf("Qwen2Config's tie_word_embeddings defaults to false; tied = %v", m.Tied)
	}
	decRun(t, m, decBatch(TaskCausalLM, 0, false, 0), []int{2, 6, 40}, 2)

	tied := decModel(t, `{"architectures":["Qwen2ForCausalLM"],`+qwen2Tiny+`,"num_key_value_heads":4,"tie_word_embeddings":true}`)
	if tied.Tied["lm_head.weight"] != "model.embed_tokens.weight" {
		t.Errorf("tied = %v", tied.Tied)
	}
	cls := decModel(t, `{"architectures":["Qwen2ForSequenceClassification"],`+qwen2Tiny+`,"num_key_value_heads":4,"num_labels":2,"pad_token_id":0}`)
	decCheckUnits(t, cls, nil, "model.embed_tokens", "model.layers.0", "model.layers.1", "model.norm", "score")
	decRun(t, cls, decBatch(TaskSeqCls, 0, false, 2), []int{2, 2}, 2)

	cfg, _ := ParseConfig([]byte(`{"architectures":["Qwen2ForCausalLM"],`+qwen2Tiny+`}`), "tiny/config.json")
	if _, err := DecodeQwen2Config(cfg); err == nil || !strings.Contains(err.Error(), "num_key_value_heads 32") {
		t.Errorf("absent num_key_value_heads is Qwen2Config's 32: err = %v", err)
	}
	decCheckUnitCount(t, "Qwen2-7B", `{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","vocab_size":152064,"hidden_size":3584,"intermediate_size":18944,"num_hidden_layers":28,"num_attention_heads":28,"num_key_value_heads":4}`, 31)
	decCheckUnitCount(t, "Qwen2-0.5B (tied)", `{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","vocab_size":151936,"hidden_size":896,"intermediate_size":4864,"num_hidden_layers":24,"num_attention_heads":14,"num_key_value_heads":2,"tie_word_embeddings":true}`, 26)
}

// TestQwen2SlidingWindow: the window applies only with use_sliding_window, and then to layers >= max_window_layers
// (or those layer_types marks sliding_attention). With max_window_layers 1 in a two-layer model, block 0's output
// equals full attention's bit for bit and block 1's does not.
func TestQwen2SlidingWindow(t *testing.T) {
	decode := func(extra string) (*LlamaConfig, error) {
		cfg, err := ParseConfig([]byte(`{"architectures":["Qwen2ForCausalLM"],`+qwen2Tiny+`,"num_key_value_heads":2`+extra+`}`), "tiny/config.json")
		if err != nil {
			t.Fatal(err)
		}
		return DecodeQwen2Config(cfg)
	}
	for _, tc := range []struct {
		extra  string
		window int
		layers []bool
	}{
		{``, 0, nil},
		{`,"sliding_window":2,"max_window_layers":0`, 0, nil},
		{`,"use_sliding_window":true`, 4096, []bool{false, false}},
		{`,"use_sliding_window":true,"sliding_window":2,"max_window_layers":1`, 2, []bool{false, true}},
		{`,"use_sliding_window":true,"sliding_window":2,"layer_types":["sliding_attention","full_attention"]`, 2, []bool{true, false}},
		{`,"use_sliding_window":true,"sliding_window":null`, 0, nil},
	} {
		c, err := decode(tc.extra)
		if err != nil {
			t.Fatalf("%s: %v", tc.extra, err)
		}
		if c.SlidingWindow != tc.window || !slices.Equal(c.SlidingLayers, tc.layers) {
			t.Errorf("%s: window %d layers %v, want %d %v", tc.extra, c.SlidingWindow, c.SlidingLayers, tc.window, tc.layers)
		}
	}
	for extra, want := range map[string]string{
		`,"layer_types":["full_attention"]`:                                            "layer_types has 1 entries",
		`,"use_sliding_window":true,"layer_types":["full_attention","chunked"]`:        `"chunked"`,
		`,"layer_types":["sliding_attention","full_attention"]`:                        "use_sliding_window is false",
		`,"use_sliding_window":true,"sliding_window":-1`:                               "sliding_window must be positive",
		`,"use_sliding_window":true,"sliding_window":2,"rope_scaling":{"type":"yarn"}`: "yarn",
	} {
		if _, err := decode(extra); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %s", extra, err, want)
		}
	}

	batch := decBatch(TaskCausalLM, 0, false, 0)
	full := decModel(t, `{"architectures":["Qwen2ForCausalLM"],`+qwen2Tiny+`,"num_key_value_heads":2}`)
	win := decModel(t, `{"architectures":["Qwen2ForCausalLM"],`+qwen2Tiny+`,"num_key_value_heads":2,"use_sliding_window":true,"sliding_window":2,"max_window_layers":1}`)
	a := decRun(t, full, batch, []int{2, 6, 40}, 2)
	b := decRun(t, win, batch, []int{2, 6, 40}, 2)
	if d := decMaxDiff(a["hidden_states.1"], b["hidden_states.1"]); d != 0 {
		t.Errorf("block 0 (full attention in both) differs by %g", d)
	}
	if d := decMaxDiff(a["hidden_states.2"], b["hidden_states.2"]); d < 1e-5 {
		t.Errorf("block 1 (window 2) differs from full attention by only %g", d)
	}
}
