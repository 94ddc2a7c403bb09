package graph

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/internal/fixture"
)

// llamaFixtureVariant builds a model from the llama_causal_lm fixture's config with model_type and class
// replaced and the keys of edit set (a nil value deletes the key); it returns the model with the fixture's
// weights (same names: the LLaMA layout) and batch, and the fixture.
func llamaFixtureVariant(t *testing.T, modelType, class string, edit map[string]any) (*Model, map[string]*tensors.Tensor, map[string]*tensors.Tensor, *fixture.Fixture) {
	t.Helper()
	fx, _, w, batch := loadFixtureModel(t, "llama_causal_lm")
	cfg, err := LoadConfig(fx.Dir)
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]any{}
	for k, v := range cfg.Raw {
		raw[k] = v
	}
	raw["model_type"], raw["architectures"] = modelType, []string{class}
	for k, v := range edit {
		if v == nil {
			delete(raw, k)
		} else {
			raw[k] = v
		}
	}
	data, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = ParseConfig(data, "llama_causal_lm-as-"+modelType+"/config.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, w, batch, fx
}

// runLlamaFixture runs the llama_causal_lm fixture as LLaMA (forward, backward, hidden states).
func runLlamaFixture(t *testing.T) map[string]*tensors.Tensor {
	t.Helper()
	_, m, w, batch := loadFixtureModel(t, "llama_causal_lm")
	out, err := RunForward(testBackend(t), m, w, batch, ForwardOptions{Grads: true, Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkBitIdentical checks that every output of want is in got with the same bits.
func checkBitIdentical(t *testing.T, what string, got, want map[string]*tensors.Tensor) {
	t.Helper()
	for _, name := range SortedKeys(want) {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: %s missing", what, name)
			continue
		}
		if !slices.Equal(tensors.MustCopyFlatData[float32](g), tensors.MustCopyFlatData[float32](want[name])) {
			t.Errorf("%s: %s differs from LLaMA's (max|diff| %g)", what, name, decMaxDiff(g, want[name]))
		}
	}
}

// TestMistralWideWindowIsLlama: on the LLaMA fixture's weights, Mistral with sliding_window >= T (here T = 12) is
// LLaMA bit for bit (logits, loss, hidden states, every gradient), hence within the fixture's HF tolerances.
func TestMistralWideWindowIsLlama(t *testing.T) {
	want := runLlamaFixture(t)
	for _, window := range []any{12, 4096, nil} { // nil: key absent, MistralConfig's default 4096
		m, w, batch, fx := llamaFixtureVariant(t, "mistral", "MistralForCausalLM", map[string]any{"sliding_window": window})
		out, err := RunForward(testBackend(t), m, w, batch, ForwardOptions{Grads: true, Hidden: true})
		if err != nil {
			t.Fatal(err)
		}
		checkBitIdentical(t, fmt.Sprintf("mistral sliding_window=%v", window), out, want)
		compareWithGolden(t, fx, out, batch)
	}
}

// TestMistralSlidingWindowMasks: in a one-layer model with sliding_window 3, a query sees only keys 0..2
// positions back, so changing token 0 changes logits at positions 0..2 and leaves positions >= 3 bit-identical;
// with the window at least T, every position changes.
func TestMistralSlidingWindowMasks(t *testing.T) {
	const T = 8
	run := func(window int, first int64) []float32 {
		m := decModel(t, fmt.Sprintf(`{"architectures":["MistralForCausalLM"],"model_type":"mistral","vocab_size":40,"hidden_size":16,"intermediate_size":24,"num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":2,"sliding_window":%d}`, window))
		batch := map[string]*tensors.Tensor{"input_ids": tensors.FromFlatDataAndDimensions([]int64{first, 7, 9, 11, 4, 6, 5, 8}, 1, T)}
		out, err := RunForward(testBackend(t), m, decWeights(m), batch, ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float32](out["logits"]) // [1, T, 40]
	}
	changed := func(a, b []float32, pos int) bool { return !slices.Equal(a[pos*40:(pos+1)*40], b[pos*40:(pos+1)*40]) }
	a, b := run(3, 3), run(3, 30)
	for q := 0; q < T; q++ {
		if want := q < 3; changed(a, b, q) != want {
			t.Errorf("window 3: logits at position %d changed = %v, want %v (query attends to k with q-k < 3)", q, !want, want)
		}
	}
	a, b = run(T, 3), run(T, 30)
	for q := 0; q < T; q++ {
		if !changed(a, b, q) {
			t.Errorf("window %d: logits at position %d did not change", T, q)
		}
	}
}

// TestAttentionMaskWindow checks AttentionMask's window directly: key k is allowed for query q iff 0 <= q−k < W.
func TestAttentionMaskWindow(t *testing.T) {
	const T, W = 6, 3
	got, err := ExecOnce(testBackend(t), func(g *Graph) *Node {
		return AttentionMask(g, nil, 1, T, true, W)
	})
	if err != nil {
		t.Fatal(err)
	}
	mask := tensors.MustCopyFlatData[bool](got)
	for q := 0; q < T; q++ {
		for k := 0; k < T; k++ {
			if want := q-k >= 0 && q-k < W; mask[q*T+k] != want {
				t.Errorf("mask[q=%d, k=%d] = %v, want %v", q, k, mask[q*T+k], want)
			}
		}
	}
}

// TestMistralConfig checks MistralConfig's defaults and errors, the parameter layout (LLaMA's, no biases even if
// config.json says attention_bias), units, IgnoreKeys and unit counts.
func TestMistralConfig(t *testing.T) {
	const base = `"model_type":"mistral","vocab_size":40,"hidden_size":16,"intermediate_size":24,"num_hidden_layers":2,"num_attention_heads":8`
	decode := func(extra string) (*LlamaConfig, error) {
		cfg, err := ParseConfig([]byte(`{"architectures":["MistralForCausalLM"],`+base+extra+`}`), "tiny/config.json")
		if err != nil {
			t.Fatal(err)
		}
		return DecodeMistralConfig(cfg)
	}
	for _, tc := range []struct {
		extra        string
		window, kvh  int
		maxPositions int
	}{
		{``, 4096, 8, 131072},
		{`,"sliding_window":null,"num_key_value_heads":null`, 0, 8, 131072},
		{`,"sliding_window":5,"num_key_value_heads":2,"max_position_embeddings":64,"attention_bias":true`, 5, 2, 64},
	} {
		c, err := decode(tc.extra)
		if err != nil {
			t.Fatalf("%s: %v", tc.extra, err)
		}
		if c.SlidingWindow != tc.window || c.NumKeyValueHeads != tc.kvh || c.MaxPositionEmbeddings != tc.maxPositions || c.AttentionBias || c.SlidingLayers != nil {
			t.Errorf("%s: window %d kv heads %d max positions %d bias %v layers %v", tc.extra, c.SlidingWindow, c.NumKeyValueHeads, c.MaxPositionEmbeddings, c.AttentionBias, c.SlidingLayers)
		}
	}
	if _, err := decode(`,"sliding_window":0`); err == nil || !strings.Contains(err.Error(), "sliding_window") {
		t.Errorf("sliding_window 0: err = %v", err)
	}
	m := decModel(t, `{"architectures":["MistralForSequenceClassification"],`+base+`,"num_key_value_heads":2,"attention_bias":true,"num_labels":3,"pad_token_id":0}`)
	for _, p := range m.Params {
		if strings.HasSuffix(p.Name, ".bias") {
			t.Errorf("Mistral has no biases, got %s", p.Name)
		}
	}
	decCheckUnits(t, m, nil, "model.embed_tokens", "model.layers.0", "model.layers.1", "model.norm", "score")
	if m.BasePrefix != "model." || !m.Ignored("model.layers.0.self_attn.rotary_emb.inv_freq") {
		t.Errorf("base prefix %q, inv_freq ignored %v", m.BasePrefix, m.Ignored("model.layers.0.self_attn.rotary_emb.inv_freq"))
	}
	decRun(t, m, decBatch(TaskSeqCls, 0, false, 3), []int{2, 3}, 2)
	mistral7b := `"model_type":"mistral","vocab_size":32000,"hidden_size":4096,"intermediate_size":14336,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"sliding_window":4096`
	decCheckUnitCount(t, "Mistral-7B", `{"architectures":["MistralForCausalLM"],`+mistral7b+`}`, 35)
	decCheckUnitCount(t, "Mistral-7B seq-cls", `{"architectures":["MistralForSequenceClassification"],`+mistral7b+`}`, 35)
}
