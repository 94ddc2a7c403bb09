package graph

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func TestParityGPTNeoCausalLM(t *testing.T) { checkParity(t, "gpt_neo_causal_lm") }

// gptNeoTinyParams lists the expected parameters of a GPT-Neo with D = 16, V = 40, 8 positions, I = 64 and L
// blocks, in named_parameters order, followed by tail.
func gptNeoTinyParams(L int, tail ...ParamSpec) []ParamSpec {
	want := []ParamSpec{decSpec("transformer.wte.weight", false, 40, 16), decSpec("transformer.wpe.weight", false, 8, 16)}
	for l := 0; l < L; l++ {
		p := fmt.Sprintf("transformer.h.%d.", l)
		want = append(want,
			decSpec(p+"ln_1.weight", true, 16), decSpec(p+"ln_1.bias", true, 16),
			decSpec(p+"attn.attention.k_proj.weight", false, 16, 16),
			decSpec(p+"attn.attention.v_proj.weight", false, 16, 16),
			decSpec(p+"attn.attention.q_proj.weight", false, 16, 16),
			decSpec(p+"attn.attention.out_proj.weight", false, 16, 16), decSpec(p+"attn.attention.out_proj.bias", true, 16),
			decSpec(p+"ln_2.weight", true, 16), decSpec(p+"ln_2.bias", true, 16),
			decSpec(p+"mlp.c_fc.weight", false, 64, 16), decSpec(p+"mlp.c_fc.bias", true, 64),
			decSpec(p+"mlp.c_proj.weight", false, 16, 64), decSpec(p+"mlp.c_proj.bias", true, 16))
	}
	want = append(want, decSpec("transformer.ln_f.weight", true, 16), decSpec("transformer.ln_f.bias", true, 16))
	return append(want, tail...)
}

const gptNeoTiny = `"model_type":"gpt_neo","vocab_size":40,"max_position_embeddings":8,"hidden_size":16,"num_heads":4`

// TestGPTNeoVariants covers what the fixture does not: attention_types with several entries, local windows
// smaller and larger than the sequence, sequence classification (ln_f and score as separate units).
func TestGPTNeoVariants(t *testing.T) {
	t.Run("local window", func(t *testing.T) {
		m := decModel(t, `{"architectures":["GPTNeoForCausalLM"],`+gptNeoTiny+`,"num_layers":3,"window_size":2,"attention_types":[[["local"],1],[["global","local"],1]]}`)
		c, err := DecodeGPTNeoConfig(m.Config)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"local", "global", "local"}; !slices.Equal(c.AttentionLayers, want) {
			t.Errorf("attention layers %v, want %v", c.AttentionLayers, want)
		}
		decCheckParams(t, m, gptNeoTinyParams(3))
		if m.Tied["lm_head.weight"] != "transformer.wte.weight" {
			t.Errorf("tied = %v", m.Tied)
		}
		decCheckUnits(t, m, nil, "transformer.wte+transformer.wpe", "transformer.h.0", "transformer.h.1", "transformer.h.2", "transformer.ln_f")
		decRun(t, m, decBatch(TaskCausalLM, 0, false, 0), []int{2, 6, 40}, 3)
	})
	t.Run("window semantics", func(t *testing.T) {
		// A local window at least as long as the sequence is global attention; a window of 2 is not (a window of 1 makes q and k irrelevant).
		run := func(kinds string, window int) []float32 {
			m := decModel(t, fmt.Sprintf(`{"architectures":["GPTNeoForCausalLM"],%s,"num_layers":2,"window_size":%d,"attention_types":[[%s,1]]}`, gptNeoTiny, window, kinds))
			out := decRun(t, m, decBatch(TaskCausalLM, 0, false, 0), []int{2, 6, 40}, 2)
			return tensors.MustCopyFlatData[float32](out["logits"])
		}
		global := run(`["global","global"]`, 6)
		wide := run(`["local","local"]`, 6)
		narrow := run(`["local","local"]`, 2)
		if !slices.Equal(global, wide) {
			t.Errorf("local attention with window 6 >= T differs from global attention")
		}
		if slices.Equal(global, narrow) {
			t.Errorf("local attention with window 2 equals global attention")
		}
	})
	t.Run("seq-cls", func(t *testing.T) {
		m := decModel(t, `{"architectures":["GPTNeoForSequenceClassification"],`+gptNeoTiny+`,"num_layers":2,"window_size":3,"attention_types":[[["global","local"],1]],"id2label":{"0":"a","1":"b","2":"c","3":"d"},"pad_token_id":0}`)
		decCheckParams(t, m, gptNeoTinyParams(2, decSpec("score.weight", false, 4, 16)))
		decCheckUnits(t, m, map[string][]string{"score": {"score.weight"}},
			"transformer.wte+transformer.wpe", "transformer.h.0", "transformer.h.1", "transformer.ln_f", "score")
		decRun(t, m, decBatch(TaskSeqCls, 0, false, 4), []int{2, 4}, 2)
	})
}

// TestGPTNeoUnitCounts checks n from configs alone: wte+wpe (+ tied head) · blocks · ln_f (· score).
func TestGPTNeoUnitCounts(t *testing.T) {
	cfg := func(class string) string {
		return fmt.Sprintf(`{"architectures":[%q],"model_type":"gpt_neo","vocab_size":50257,"max_position_embeddings":2048,"hidden_size":768,"num_layers":12,"num_heads":12,"attention_types":[[["global","local"],6]]}`, class)
	}
	decCheckUnitCount(t, "gpt-neo-125m", cfg("GPTNeoForCausalLM"), 14)
	decCheckUnitCount(t, "gpt-neo-125m seq-cls", cfg("GPTNeoForSequenceClassification"), 15)
}

// TestGPTNeoConfigErrors checks that bad configs fail naming the file and the field.
func TestGPTNeoConfigErrors(t *testing.T) {
	const base = `{"architectures":["GPTNeoForCausalLM"],"model_type":"gpt_neo","vocab_size":64,"max_position_embeddings":16,"hidden_size":32,"num_heads":4`
	decCheckConfigError(t, base+`,"num_layers":3,"attention_types":[[["global","local"],1]]}`, "expand to 2 layers")
	decCheckConfigError(t, base+`,"num_layers":2,"attention_types":[[["global","sparse"],1]]}`, `"sparse"`)
	decCheckConfigError(t, base+`,"num_layers":2,"attention_types":[["global",1]]}`, "attention_types[0]")
	decCheckConfigError(t, base+`,"num_layers":2,"attention_types":[[["global","local"],1]],"attention_layers":["local","local"]}`, "attention_layers")
	decCheckConfigError(t, base+`}`, `"num_layers"`)
}
