package graph

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func llamaTestConfig(t *testing.T, extra string) *Config {
	t.Helper()
	js := `{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":64,"hidden_size":32,
"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"pad_token_id":0` + extra + `}`
	cfg, err := ParseConfig([]byte(js), "test/config.json")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func flat(t *tensors.Tensor) []float32 { return tensors.MustCopyFlatData[float32](t) }

// TestLlamaTiedHead: with tie_word_embeddings the lm_head is the embedding; its gradient must be the sum of
// the untied model's embedding and lm_head gradients when both hold the same values.
func TestLlamaTiedHead(t *testing.T) {
	be := testBackend(t)
	tied, err := NewModel(llamaTestConfig(t, `,"tie_word_embeddings":true`))
	if err != nil {
		t.Fatal(err)
	}
	untied, err := NewModel(llamaTestConfig(t, ``))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tied.Param("lm_head.weight"); ok || len(tied.Units) != len(untied.Units)-1 {
		t.Fatalf("tied model still has an lm_head parameter or unit: %d vs %d units", len(tied.Units), len(untied.Units))
	}
	w := RandomWeights(untied, 7)
	emb := flat(w["model.embed_tokens.weight"])
	w["lm_head.weight"] = tensors.FromFlatDataAndDimensions(append([]float32(nil), emb...), 64, 32)
	batch := RandomBatch(2, 8, 64, 3)
	outU, err := RunForward(be, untied, w, batch, ForwardOptions{Grads: true})
	if err != nil {
		t.Fatal(err)
	}
	wt := map[string]*tensors.Tensor{}
	for k, v := range w {
		if k != "lm_head.weight" {
			wt[k] = v
		}
	}
	outT, err := RunForward(be, tied, wt, batch, ForwardOptions{Grads: true})
	if err != nil {
		t.Fatal(err)
	}
	ge, gh, gt := flat(outU["grad.model.embed_tokens.weight"]), flat(outU["grad.lm_head.weight"]), flat(outT["grad.model.embed_tokens.weight"])
	worst := 0.0
	for i := range gt {
		worst = math.Max(worst, math.Abs(float64(gt[i]-(ge[i]+gh[i]))))
	}
	t.Logf("max|tied grad − (embed + head grads)| = %.3g", worst)
	if worst > 1e-6 {
		t.Errorf("tied gradient differs by %.3g", worst)
	}
	if d := math.Abs(float64(tensors.ToScalar[float32](outT["loss"]) - tensors.ToScalar[float32](outU["loss"]))); d > 1e-6 {
		t.Errorf("loss differs by %g", d)
	}
}

// TestLlamaLeftPaddingIsMasked: with left padding, the logits of real positions must not depend on what the
// padded positions hold, and nothing is NaN.
func TestLlamaLeftPaddingIsMasked(t *testing.T) {
	be := testBackend(t)
	m, err := NewModel(llamaTestConfig(t, ``))
	if err != nil {
		t.Fatal(err)
	}
	w := RandomWeights(m, 5)
	run := func(padFill int64) []float32 {
		ids := []int64{padFill, padFill, padFill, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}
		mask := []int64{0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
		labels := []int64{-100, -100, -100, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}
		b := map[string]*tensors.Tensor{
			"input_ids":      tensors.FromFlatDataAndDimensions(ids, 2, 8),
			"attention_mask": tensors.FromFlatDataAndDimensions(mask, 2, 8),
			"labels":         tensors.FromFlatDataAndDimensions(labels, 2, 8),
		}
		out, err := RunForward(be, m, w, b, ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if l := tensors.ToScalar[float32](out["loss"]); math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
			t.Fatalf("loss %v", l)
		}
		return flat(out["logits"])
	}
	a, b := run(0), run(33)
	worst := 0.0
	for i := range a {
		if i/64%8 < 3 && i/(64*8) == 0 { // padded query positions of row 0
			continue
		}
		if math.IsNaN(float64(a[i])) {
			t.Fatalf("NaN logit at %d", i)
		}
		worst = math.Max(worst, math.Abs(float64(a[i]-b[i])))
	}
	if worst != 0 {
		t.Errorf("real-position logits depend on padded tokens: max diff %g", worst)
	}
}

// TestRopeScaling checks the inverse frequencies of every rope_scaling type against the formulas.
func TestRopeScaling(t *testing.T) {
	base := func(extra string) *LlamaConfig {
		c, err := DecodeLlamaConfig(llamaTestConfig(t, `,"max_position_embeddings":16,"rope_theta":500000`+extra))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	plain := base("").InvFreq(8) // head_dim 8 → 4 frequencies
	for i, f := range plain {
		want := 1 / math.Pow(500000, float64(2*i)/8)
		if math.Abs(f-want) > 1e-7*want {
			t.Errorf("default inv_freq[%d] = %g, want %g", i, f, want)
		}
	}
	lin := base(`,"rope_scaling":{"type":"linear","factor":4}`).InvFreq(8)
	for i := range lin {
		if math.Abs(lin[i]-plain[i]/4) > 1e-12 {
			t.Errorf("linear inv_freq[%d] = %g, want %g", i, lin[i], plain[i]/4)
		}
	}
	dyn := base(`,"rope_scaling":{"type":"dynamic","factor":2}`)
	if short := dyn.InvFreq(16); short[1] != plain[1] {
		t.Errorf("dynamic scaling changed frequencies within max_position_embeddings")
	}
	long := dyn.InvFreq(32)
	nb := 500000 * math.Pow(2*32.0/16-1, 8.0/6)
	if want := 1 / math.Pow(nb, 2.0/8); math.Abs(long[1]-want) > 1e-6*want {
		t.Errorf("dynamic inv_freq[1] = %g, want %g", long[1], want)
	}
	// llama3: wavelengths below original/high_freq_factor unchanged, above original/low_freq_factor divided by
	// factor, smooth in between.
	l3 := base(`,"rope_scaling":{"rope_type":"llama3","factor":8,"low_freq_factor":1,"high_freq_factor":4,"original_max_position_embeddings":64}`).InvFreq(8)
	for i, f := range plain {
		wl := 2 * math.Pi / f
		want := f
		switch {
		case wl < 64.0/4:
		case wl > 64.0:
			want = f / 8
		default:
			s := (64/wl - 1) / (4 - 1)
			want = (1-s)*f/8 + s*f
		}
		if math.Abs(l3[i]-want) > 1e-12 {
			t.Errorf("llama3 inv_freq[%d] = %g, want %g (wavelen %g)", i, l3[i], want, wl)
		}
	}
	if _, err := DecodeLlamaConfig(llamaTestConfig(t, `,"rope_scaling":{"type":"yarn","factor":2}`)); err == nil || !strings.Contains(err.Error(), "yarn") {
		t.Errorf("unsupported rope_scaling: err = %v", err)
	}
}

// TestNormsUseExplicitEpsilonAndNoRsqrt: RMSNorm and LayerNorm take epsilon from the config (GoMLX's
// LayerNormalization defaults to 1e-3) and differentiate without Rsqrt, which has no VJP in v0.26.0.
func TestNormsUseExplicitEpsilonAndNoRsqrt(t *testing.T) {
	m, err := NewModel(llamaTestConfig(t, `,"rms_norm_eps":0.5`))
	if err != nil {
		t.Fatal(err)
	}
	w := RandomWeights(m, 1)
	out, err := RunForward(testBackend(t), m, w, RandomBatch(1, 4, 64, 1), ForwardOptions{Grads: true, Hidden: true})
	if err != nil {
		t.Fatalf("gradient through RMSNorm: %v", err)
	}
	// hidden_states.2 = RMSNorm(x) with weight 1 and eps 0.5: its mean square is mean(x²)/(mean(x²)+0.5) < 1.
	h := flat(out["hidden_states.2"])
	ms := 0.0
	for _, v := range h[:32] {
		ms += float64(v * v)
	}
	ms /= 32
	if ms > 0.999 {
		t.Errorf("eps 0.5 had no effect: mean square of the normed output %g", ms)
	}
}
