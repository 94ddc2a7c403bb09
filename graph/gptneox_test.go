package graph

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/safetensors"
)

func TestParityGPTNeoXCausalLM(t *testing.T) { checkParity(t, "gpt_neox_causal_lm") }

// gptNeoXTinyParams lists the expected parameters of a GPT-NeoX with D = 16, V = 40, I = 32 and two layers, in
// named_parameters order, followed by tail.
func gptNeoXTinyParams(tail ...ParamSpec) []ParamSpec {
	want := []ParamSpec{decSpec("gpt_neox.embed_in.weight", false, 40, 16)}
	for l := 0; l < 2; l++ {
		p := fmt.Sprintf("gpt_neox.layers.%d.", l)
		want = append(want,
			decSpec(p+"input_layernorm.weight", true, 16), decSpec(p+"input_layernorm.bias", true, 16),
			decSpec(p+"post_attention_layernorm.weight", true, 16), decSpec(p+"post_attention_layernorm.bias", true, 16),
			decSpec(p+"attention.query_key_value.weight", false, 48, 16), decSpec(p+"attention.query_key_value.bias", true, 48),
			decSpec(p+"attention.dense.weight", false, 16, 16), decSpec(p+"attention.dense.bias", true, 16),
			decSpec(p+"mlp.dense_h_to_4h.weight", false, 32, 16), decSpec(p+"mlp.dense_h_to_4h.bias", true, 32),
			decSpec(p+"mlp.dense_4h_to_h.weight", false, 16, 32), decSpec(p+"mlp.dense_4h_to_h.bias", true, 16))
	}
	want = append(want, decSpec("gpt_neox.final_layer_norm.weight", true, 16), decSpec("gpt_neox.final_layer_norm.bias", true, 16))
	return append(want, tail...)
}

const gptNeoXTiny = `"model_type":"gpt_neox","vocab_size":40,"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":32`

// TestGPTNeoXVariants covers what the fixture does not: sequential residual, full and half rotary, rope
// scaling, a tied embed_out, sequence classification; and the inv_freq buffers.
func TestGPTNeoXVariants(t *testing.T) {
	units := []string{"gpt_neox.embed_in", "gpt_neox.layers.0", "gpt_neox.layers.1", "gpt_neox.final_layer_norm"}
	t.Run("sequential residual, full rotary", func(t *testing.T) {
		m := decModel(t, `{"architectures":["GPTNeoXForCausalLM"],`+gptNeoXTiny+`,"use_parallel_residual":false,"rotary_pct":1.0}`)
		decCheckParams(t, m, gptNeoXTinyParams(decSpec("embed_out.weight", false, 40, 16)))
		decCheckUnits(t, m, map[string][]string{"embed_out": {"embed_out.weight"}}, append(slices.Clone(units), "embed_out")...)
		// head size 8, rotary_pct 1: 8 rotary dims, inv_freq of length 4.
		var buffers []string
		for _, b := range m.Buffers {
			buffers = append(buffers, fmt.Sprintf("%s%v", b.Name, b.Shape))
		}
		if want := []string{"gpt_neox.layers.0.attention.rotary_emb.inv_freq[4]", "gpt_neox.layers.1.attention.rotary_emb.inv_freq[4]"}; !slices.Equal(buffers, want) {
			t.Errorf("buffers %v, want %v", buffers, want)
		}
		seq := decRun(t, m, decBatch(TaskCausalLM, 0, true, 0), []int{2, 6, 40}, 2)
		par := decRun(t, decModel(t, `{"architectures":["GPTNeoXForCausalLM"],`+gptNeoXTiny+`,"rotary_pct":1.0}`),
			decBatch(TaskCausalLM, 0, true, 0), []int{2, 6, 40}, 2)
		if d := decMaxDiff(seq["logits"], par["logits"]); d < 1e-4 {
			t.Errorf("use_parallel_residual changes logits by only %g", d)
		}
	})
	t.Run("tied embed_out, linear rope scaling", func(t *testing.T) {
		m := decModel(t, `{"architectures":["GPTNeoXForCausalLM"],`+gptNeoXTiny+`,"tie_word_embeddings":true,"rope_scaling":{"type":"linear","factor":2.0}}`)
		decCheckParams(t, m, gptNeoXTinyParams())
		if m.Tied["embed_out.weight"] != "gpt_neox.embed_in.weight" {
			t.Errorf("tied = %v", m.Tied)
		}
		decCheckUnits(t, m, nil, units...)
		decRun(t, m, decBatch(TaskCausalLM, 0, false, 0), []int{2, 6, 40}, 2)
	})
	t.Run("seq-cls, half rotary", func(t *testing.T) {
		m := decModel(t, `{"architectures":["GPTNeoXForSequenceClassification"],`+gptNeoXTiny+`,"rotary_pct":0.5,"num_labels":2,"pad_token_id":1}`)
		decCheckParams(t, m, gptNeoXTinyParams(decSpec("score.weight", false, 2, 16)))
		decCheckUnits(t, m, nil, append(slices.Clone(units), "score")...)
		if m.Buffers[0].Shape[0] != 2 {
			t.Errorf("inv_freq shape %v, want [2]", m.Buffers[0].Shape)
		}
		decRun(t, m, decBatch(TaskSeqCls, 1, false, 2), []int{2, 2}, 2)
	})
}

// TestGPTNeoXInvFreq checks that the inverse frequencies computed from the config equal the persistent
// rotary_emb.inv_freq buffers of the fixture checkpoint.
func TestGPTNeoXInvFreq(t *testing.T) {
	fx, err := fixture.Load("gpt_neox_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(fx.Dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := DecodeGPTNeoXConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := safetensors.Open(fx.Path("model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	want := c.invFreq(12)
	for l := 0; l < c.NumHiddenLayers; l++ {
		got, err := ck.Float32(fmt.Sprintf("gpt_neox.layers.%d.attention.rotary_emb.inv_freq", l))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("layer %d: inv_freq has %d entries, computed %d", l, len(got), len(want))
		}
		for i := range got {
			if math.Abs(float64(got[i])-want[i]) > 1e-7*want[i] {
				t.Errorf("layer %d: inv_freq[%d] = %g in the file, computed %g", l, i, got[i], want[i])
			}
		}
	}
}

// TestGPTNeoXUnitCounts checks n from configs alone: embed_in · blocks · final_layer_norm · embed_out / score.
func TestGPTNeoXUnitCounts(t *testing.T) {
	cfg := func(class, extra string) string {
		return fmt.Sprintf(`{"architectures":[%q],"model_type":"gpt_neox","vocab_size":50304,"hidden_size":512,"num_hidden_layers":6,"num_attention_heads":8,"intermediate_size":2048%s}`, class, extra)
	}
	decCheckUnitCount(t, "pythia-70m", cfg("GPTNeoXForCausalLM", ""), 9)
	decCheckUnitCount(t, "pythia-70m tied", cfg("GPTNeoXForCausalLM", `,"tie_word_embeddings":true`), 8)
	decCheckUnitCount(t, "pythia-70m seq-cls", cfg("GPTNeoXForSequenceClassification", ""), 9)
}

// TestGPTNeoXConfigErrors checks that bad configs fail naming the file and the field.
func TestGPTNeoXConfigErrors(t *testing.T) {
	const base = `{"architectures":["GPTNeoXForCausalLM"],"model_type":"gpt_neox","vocab_size":64,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":4`
	decCheckConfigError(t, base+`,"intermediate_size":64,"rotary_pct":0.4}`, "must be even")
	decCheckConfigError(t, base+`,"intermediate_size":64,"rope_scaling":{"type":"yarn","factor":2}}`, "yarn")
	decCheckConfigError(t, base+`,"intermediate_size":64,"rope_scaling":{"type":"linear","factor":1}}`, "factor")
	decCheckConfigError(t, base+`}`, `"intermediate_size"`)
}

// TestRandomWeightsInvFreq: synthetic checkpoints (hift init) carry GPT-NeoX's persistent rotary inv_freq as HF
// saves it, not a constant fill: equal to the fixture's buffer written by transformers.
func TestRandomWeightsInvFreq(t *testing.T) {
	fx, err := fixture.Load("gpt_neox_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	m, w, err := LoadModel(fx.Dir)
	if err != nil {
		t.Fatal(err)
	}
	r := RandomWeights(m, 7)
	n := 0
	for _, b := range m.Buffers {
		want, ok := w[b.Name]
		if !ok {
			t.Fatalf("fixture lacks buffer %s", b.Name)
		}
		got := r[b.Name].Value().([]float32)
		exp := want.Value().([]float32)
		var maxErr float64
		for i := range exp {
			maxErr = math.Max(maxErr, math.Abs(float64(got[i]-exp[i])))
		}
		t.Logf("%s: max |Δ| %.3g over %d values", b.Name, maxErr, len(exp))
		if maxErr > 1e-7 {
			t.Errorf("%s: random weights' inv_freq %v, HF saved %v", b.Name, got, exp)
		}
		n++
	}
	if n == 0 {
		t.Fatal("GPT-NeoX model declares no buffers")
	}
}
