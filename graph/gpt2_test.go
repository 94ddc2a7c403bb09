package graph

import (
	"fmt"
	"testing"
)

func TestParityGPT2CausalLM(t *testing.T) { checkParity(t, "gpt2_causal_lm") }

// gpt2TinyParams lists the expected parameters of a GPT-2 with D = 16, V = 40, 8 positions, inner size I and two
// blocks, in named_parameters order, followed by tail.
func gpt2TinyParams(I int, tail ...ParamSpec) []ParamSpec {
	want := []ParamSpec{decSpec("transformer.wte.weight", false, 40, 16), decSpec("transformer.wpe.weight", false, 8, 16)}
	for l := 0; l < 2; l++ {
		p := fmt.Sprintf("transformer.h.%d.", l)
		want = append(want,
			decSpec(p+"ln_1.weight", true, 16), decSpec(p+"ln_1.bias", true, 16),
			decSpec(p+"attn.c_attn.weight", false, 16, 48), decSpec(p+"attn.c_attn.bias", true, 48),
			decSpec(p+"attn.c_proj.weight", false, 16, 16), decSpec(p+"attn.c_proj.bias", true, 16),
			decSpec(p+"ln_2.weight", true, 16), decSpec(p+"ln_2.bias", true, 16),
			decSpec(p+"mlp.c_fc.weight", false, 16, I), decSpec(p+"mlp.c_fc.bias", true, I),
			decSpec(p+"mlp.c_proj.weight", false, I, 16), decSpec(p+"mlp.c_proj.bias", true, 16))
	}
	want = append(want, decSpec("transformer.ln_f.weight", true, 16), decSpec("transformer.ln_f.bias", true, 16))
	return append(want, tail...)
}

const gpt2Tiny = `"model_type":"gpt2","vocab_size":40,"n_positions":8,"n_embd":16,"n_layer":2,"n_head":4`

// TestGPT2Variants builds the variants the fixture does not cover: sequence classification (ln_f and score as
// separate units), an untied lm_head, n_inner and scale_attn_by_inverse_layer_idx; forward + backward must run
// and give finite values.
func TestGPT2Variants(t *testing.T) {
	t.Run("seq-cls", func(t *testing.T) {
		m := decModel(t, `{"architectures":["GPT2ForSequenceClassification"],`+gpt2Tiny+`,"n_inner":24,"num_labels":3,"pad_token_id":0,"scale_attn_by_inverse_layer_idx":true,"reorder_and_upcast_attn":true}`)
		decCheckParams(t, m, gpt2TinyParams(24, decSpec("score.weight", false, 3, 16)))
		decCheckUnits(t, m, map[string][]string{
			"transformer.wte+transformer.wpe": {"transformer.wte.weight", "transformer.wpe.weight"},
			"transformer.ln_f":                {"transformer.ln_f.weight", "transformer.ln_f.bias"},
			"score":                           {"score.weight"},
		}, "transformer.wte+transformer.wpe", "transformer.h.0", "transformer.h.1", "transformer.ln_f", "score")
		if len(m.Tied) != 0 {
			t.Errorf("seq-cls has tied weights %v", m.Tied)
		}
		decRun(t, m, decBatch(TaskSeqCls, 0, false, 3), []int{2, 3}, 2)
	})
	t.Run("causal-lm untied", func(t *testing.T) {
		m := decModel(t, `{"architectures":["GPT2LMHeadModel"],`+gpt2Tiny+`,"tie_word_embeddings":false}`)
		decCheckParams(t, m, gpt2TinyParams(64, decSpec("lm_head.weight", false, 40, 16)))
		decCheckUnits(t, m, nil, "transformer.wte+transformer.wpe", "transformer.h.0", "transformer.h.1", "transformer.ln_f", "lm_head")
		decRun(t, m, decBatch(TaskCausalLM, 0, false, 0), []int{2, 6, 40}, 2)
	})
	t.Run("causal-lm tied", func(t *testing.T) {
		m := decModel(t, `{"architectures":["GPT2LMHeadModel"],`+gpt2Tiny+`}`)
		decCheckParams(t, m, gpt2TinyParams(64))
		if m.Tied["lm_head.weight"] != "transformer.wte.weight" {
			t.Errorf("tied = %v, want lm_head.weight → transformer.wte.weight", m.Tied)
		}
		decCheckUnits(t, m, nil, "transformer.wte+transformer.wpe", "transformer.h.0", "transformer.h.1", "transformer.ln_f")
		decRun(t, m, decBatch(TaskCausalLM, 0, false, 0), []int{2, 6, 40}, 2)
	})
	t.Run("scale_attn_by_inverse_layer_idx", func(t *testing.T) {
		// Block l divides its scores by l+1: block 0 is unchanged, block 1 is not.
		base := decModel(t, `{"architectures":["GPT2LMHeadModel"],`+gpt2Tiny+`}`)
		inv := decModel(t, `{"architectures":["GPT2LMHeadModel"],`+gpt2Tiny+`,"scale_attn_by_inverse_layer_idx":true}`)
		batch := decBatch(TaskCausalLM, 0, false, 0)
		a := decRun(t, base, batch, []int{2, 6, 40}, 2)
		b := decRun(t, inv, batch, []int{2, 6, 40}, 2)
		if d := decMaxDiff(a["hidden_states.1"], b["hidden_states.1"]); d != 0 {
			t.Errorf("block 0 output changed by %g", d)
		}
		if d := decMaxDiff(a["hidden_states.2"], b["hidden_states.2"]); d < 1e-4 {
			t.Errorf("block 1 output changed by only %g", d)
		}
	})
}

// TestGPT2UnitCounts checks n from configs alone: wte+wpe (+ tied head) · blocks · ln_f (· score).
func TestGPT2UnitCounts(t *testing.T) {
	cfg := func(class string, layers, d, heads int) string {
		return fmt.Sprintf(`{"architectures":[%q],"model_type":"gpt2","vocab_size":50257,"n_positions":1024,"n_embd":%d,"n_layer":%d,"n_head":%d}`, class, d, layers, heads)
	}
	decCheckUnitCount(t, "gpt2", cfg("GPT2LMHeadModel", 12, 768, 12), 14)
	decCheckUnitCount(t, "gpt2-medium", cfg("GPT2LMHeadModel", 24, 1024, 16), 26)
	decCheckUnitCount(t, "gpt2-large", cfg("GPT2LMHeadModel", 36, 1280, 20), 38)
	decCheckUnitCount(t, "gpt2 seq-cls", cfg("GPT2ForSequenceClassification", 12, 768, 12), 15)
}

// TestGPT2ConfigErrors checks that bad configs fail naming the file and the field.
func TestGPT2ConfigErrors(t *testing.T) {
	const base = `{"architectures":["GPT2LMHeadModel"],"model_type":"gpt2","vocab_size":64,"n_positions":16,"n_layer":1`
	decCheckConfigError(t, base+`,"n_head":2}`, `"n_embd"`)
	decCheckConfigError(t, base+`,"n_embd":30,"n_head":4}`, "not divisible")
	decCheckConfigError(t, base+`,"n_embd":32,"n_head":4,"activation_function":"mish"}`, "activation_function")
	decCheckConfigError(t, base+`,"n_embd":32,"n_head":4,"add_cross_attention":true}`, "add_cross_attention")
}
