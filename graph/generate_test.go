package graph

import (
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestGenerateGreedyMatchesForward: greedy generation picks, step by step, the argmax of a full forward pass
// on the growing sequence; sampling is reproducible for a seed.
func TestGenerateGreedyMatchesForward(t *testing.T) {
	_, m, w, _ := loadFixtureModel(t, "llama_causal_lm")
	be := testBackend(t)
	prompt := []int{5, 17, 42}
	got, err := Generate(be, m, w, prompt, GenerateOptions{MaxNewTokens: 4, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	seq := slices.Clone(prompt)
	for i := 0; i < 4; i++ {
		ids := make([]int64, len(seq))
		for j, s := range seq {
			ids[j] = int64(s)
		}
		out, err := RunForward(be, m, w, map[string]*tensors.Tensor{"input_ids": tensors.FromFlatDataAndDimensions(ids, 1, len(seq))}, ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		logits := tensors.MustCopyFlatData[float32](out["logits"])
		V := out["logits"].Shape().Dimensions[2]
		last := logits[(len(seq)-1)*V:]
		best := 0
		for v := range last {
			if last[v] > last[best] {
				best = v
			}
		}
		seq = append(seq, best)
	}
	if !slices.Equal(got, seq[len(prompt):]) {
		t.Errorf("greedy %v, step-by-step argmax %v", got, seq[len(prompt):])
	}
	o := GenerateOptions{MaxNewTokens: 6, Temperature: 0.9, TopK: 20, TopP: 0.95, Seed: 7}
	a, _ := Generate(be, m, w, prompt, o)
	b, _ := Generate(be, m, w, prompt, o)
	if !slices.Equal(a, b) || len(a) != 6 {
		t.Errorf("sampling not reproducible: %v vs %v", a, b)
	}
	stop, _ := Generate(be, m, w, prompt, GenerateOptions{MaxNewTokens: 4, Stop: []int{got[1]}})
	if len(stop) != 2 {
		t.Errorf("stop token ignored: %v (stop at %d)", stop, got[1])
	}
}

// checkCachedMatchesRecompute generates with the key/value cache and without it, for each option set, and
// requires the same tokens.
func checkCachedMatchesRecompute(t *testing.T, m *Model, w map[string]*tensors.Tensor, prompt []int, opts ...GenerateOptions) {
	t.Helper()
	if m.Decoder == nil {
		t.Fatalf("%s has no cached decoder", m.Class)
	}
	be := testBackend(t)
	for _, o := range opts {
		cached, err := Generate(be, m, w, prompt, o)
		if err != nil {
			t.Fatal(err)
		}
		o.NoCache = true
		full, err := Generate(be, m, w, prompt, o)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cached, full) {
			t.Errorf("%s, temperature %g: cached %v, recomputed %v", m.Class, o.Temperature, cached, full)
		}
	}
}

// TestGenerateWithCacheMatchesRecompute: decoding against the key/value cache gives the same tokens as
// rerunning the whole sequence, greedy and sampled, for LLaMA, Mistral with a sliding window and GPT-2.
func TestGenerateWithCacheMatchesRecompute(t *testing.T) {
	_, m, w, _ := loadFixtureModel(t, "llama_causal_lm")
	prompt := []int{5, 17, 42, 9}
	checkCachedMatchesRecompute(t, m, w, prompt, GenerateOptions{MaxNewTokens: 12}, GenerateOptions{MaxNewTokens: 12, Temperature: 0.8, TopK: 30, Seed: 3})
	cfg, err := ParseConfig([]byte(`{"architectures":["MistralForCausalLM"],"model_type":"mistral","vocab_size":256,"hidden_size":64,
"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"sliding_window":3,"pad_token_id":0}`), "mistral")
	if err != nil {
		t.Fatal(err)
	}
	mm, err := NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkCachedMatchesRecompute(t, mm, w, prompt, GenerateOptions{MaxNewTokens: 8})
	_, g, gw, _ := loadFixtureModel(t, "gpt2_causal_lm")
	checkCachedMatchesRecompute(t, g, gw, prompt, GenerateOptions{MaxNewTokens: 10}, GenerateOptions{MaxNewTokens: 10, Temperature: 0.7, TopP: 0.9, Seed: 5})
}
