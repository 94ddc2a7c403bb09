package graph

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Test helpers shared by the decoder-only architecture tests (gpt2, gpt_neo, gpt_neox, opt).

// decModel parses a hand-written config.json and builds its model; NewModel also checks unit coverage.
func decModel(t *testing.T, configJSON string) *Model {
	t.Helper()
	cfg, err := ParseConfig([]byte(configJSON), "tiny/config.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// decBuildError returns the error of building a model from configJSON (nil if it builds).
func decBuildError(t *testing.T, configJSON string) error {
	t.Helper()
	cfg, err := ParseConfig([]byte(configJSON), "tiny/config.json")
	if err != nil {
		return err
	}
	_, err = NewModel(cfg)
	return err
}

// decSpec is a compact expected parameter: name, NoDecay, shape.
func decSpec(name string, noDecay bool, shape ...int) ParamSpec {
	return ParamSpec{Name: name, Shape: shape, NoDecay: noDecay}
}

// decCheckParams compares m.Params with want: names in order, shapes and NoDecay.
func decCheckParams(t *testing.T, m *Model, want []ParamSpec) {
	t.Helper()
	n := max(len(m.Params), len(want))
	for i := 0; i < n; i++ {
		var got, exp ParamSpec
		if i < len(m.Params) {
			got = m.Params[i]
		}
		if i < len(want) {
			exp = want[i]
		}
		if got.Name != exp.Name || !slices.Equal(got.Shape, exp.Shape) || got.NoDecay != exp.NoDecay {
			t.Errorf("%s: param %d = %s %v nodecay=%v, want %s %v nodecay=%v", m.Class, i, got.Name, got.Shape, got.NoDecay, exp.Name, exp.Shape, exp.NoDecay)
		}
	}
}

// decCheckUnits compares the unit names and, for each unit, its parameter names.
func decCheckUnits(t *testing.T, m *Model, want map[string][]string, order ...string) {
	t.Helper()
	var names []string
	for _, u := range m.Units {
		names = append(names, u.Name)
		if w, ok := want[u.Name]; ok && !slices.Equal(u.Params, w) {
			t.Errorf("%s: unit %s has %v, want %v", m.Class, u.Name, u.Params, w)
		}
	}
	if !slices.Equal(names, order) {
		t.Errorf("%s: units\n got %v\nwant %v", m.Class, names, order)
	}
}

// decWeights gives every parameter and buffer deterministic, hand-checkable values (no RNG): matrices
// 0.5/√fan_in·sin(…), norm weights 1 + 0.1·sin(…), biases 0.05·cos(…).
func decWeights(m *Model) map[string]*tensors.Tensor {
	out := map[string]*tensors.Tensor{}
	for k, p := range append(append([]ParamSpec{}, m.Params...), m.Buffers...) {
		data := make([]float32, p.NumElements())
		for i := range data {
			a := 0.37*float64(i) + 0.91*float64(k)
			switch {
			case len(p.Shape) >= 2:
				data[i] = float32(0.5 / math.Sqrt(float64(p.Shape[len(p.Shape)-1])) * math.Sin(a))
			case strings.HasSuffix(p.Name, ".bias"):
				data[i] = float32(0.05 * math.Cos(a))
			default:
				data[i] = float32(1 + 0.1*math.Sin(a))
			}
		}
		out[p.Name] = tensors.FromFlatDataAndDimensions(data, p.Shape...)
	}
	return out
}

// decBatch builds a [2, 6] batch: row 0 all real, row 1 padded with pad (on the left when left). Causal-LM
// labels are the ids with -100 on pads; sequence-classification labels are [B] classes below numLabels;
// token-classification labels [B, T] classes below numLabels with -100 on pads; QA start and end positions [B].
func decBatch(task Task, pad int64, left bool, numLabels int) map[string]*tensors.Tensor {
	ids := []int64{3, 7, 9, 11, 4, 6, 5, 8, 12, 10, pad, pad}
	mask := []int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}
	if left {
		ids = []int64{3, 7, 9, 11, 4, 6, pad, pad, 5, 8, 12, 10}
		mask = []int64{1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1}
	}
	b := map[string]*tensors.Tensor{
		"input_ids":      tensors.FromFlatDataAndDimensions(ids, 2, 6),
		"attention_mask": tensors.FromFlatDataAndDimensions(mask, 2, 6),
	}
	switch task {
	case TaskCausalLM:
		labels := slices.Clone(ids)
		for i := range labels {
			if mask[i] == 0 {
				labels[i] = IgnoreIndex
			}
		}
		b["labels"] = tensors.FromFlatDataAndDimensions(labels, 2, 6)
	case TaskSeqCls:
		b["labels"] = tensors.FromFlatDataAndDimensions([]int64{1 % int64(numLabels), 0}, 2)
	case TaskTokenCls:
		labels := make([]int64, len(ids))
		for i := range labels {
			labels[i] = int64(i*7+3) % int64(numLabels)
			if mask[i] == 0 {
				labels[i] = IgnoreIndex
			}
		}
		b["labels"] = tensors.FromFlatDataAndDimensions(labels, 2, 6)
	case TaskQA:
		// Row 1's end position is past the sequence: clamped to T and ignored, as in HF.
		b["start_positions"] = tensors.FromFlatDataAndDimensions([]int64{1, 3}, 2)
		b["end_positions"] = tensors.FromFlatDataAndDimensions([]int64{4, 9}, 2)
	}
	return b
}

// decRun runs forward + backward with hidden states and checks: logits (QA: start and end logits) of shape
// logitsShape, a positive loss, one hidden state per block plus the embedding, a gradient of the parameter's
// shape for every parameter, every output finite and every gradient non-zero somewhere.
func decRun(t *testing.T, m *Model, batch map[string]*tensors.Tensor, logitsShape []int, numLayers int) map[string]*tensors.Tensor {
	t.Helper()
	out, err := RunForward(testBackend(t), m, decWeights(m), batch, ForwardOptions{Grads: true, Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	logitNames := []string{"logits"}
	if m.Task == TaskQA {
		logitNames = []string{"start_logits", "end_logits"}
	}
	for _, n := range logitNames {
		if got := out[n]; got == nil || !slices.Equal(got.Shape().Dimensions, logitsShape) {
			t.Errorf("%s: %s %v, want shape %v", m.Class, n, got, logitsShape)
		}
	}
	if l, ok := out["loss"]; !ok || !(tensors.ToScalar[float32](l) > 0) {
		t.Errorf("%s: loss %v, want > 0", m.Class, l)
	}
	for i := 0; i <= numLayers; i++ {
		if _, ok := out[fmt.Sprintf("hidden_states.%d", i)]; !ok {
			t.Errorf("%s: hidden_states.%d missing", m.Class, i)
		}
	}
	if _, ok := out[fmt.Sprintf("hidden_states.%d", numLayers+1)]; ok {
		t.Errorf("%s: more than %d hidden states", m.Class, numLayers+1)
	}
	for _, p := range m.Params {
		g, ok := out["grad."+p.Name]
		if !ok {
			t.Errorf("%s: grad.%s missing", m.Class, p.Name)
			continue
		}
		if !slices.Equal(g.Shape().Dimensions, p.Shape) {
			t.Errorf("%s: grad.%s has shape %v, want %v", m.Class, p.Name, g.Shape().Dimensions, p.Shape)
		}
		if !slices.ContainsFunc(tensors.MustCopyFlatData[float32](g), func(x float32) bool { return x != 0 }) {
			t.Errorf("%s: grad.%s is all zero", m.Class, p.Name)
		}
	}
	for _, name := range SortedKeys(out) {
		for _, x := range tensors.MustCopyFlatData[float32](out[name]) {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Errorf("%s: %s is not finite", m.Class, name)
				break
			}
		}
	}
	return out
}

// decMaxDiff is the largest |a−b| between two float32 tensors of the same size.
func decMaxDiff(a, b *tensors.Tensor) float64 {
	x, y := tensors.MustCopyFlatData[float32](a), tensors.MustCopyFlatData[float32](b)
	d := 0.0
	for i := range x {
		d = max(d, math.Abs(float64(x[i]-y[i])))
	}
	return d
}

// decCheckUnitCount builds a model from a config alone (no weights) and checks n, its number of HiFT units
// (m = 1; hift-algorithm.md §2.2 and §2.4).
func decCheckUnitCount(t *testing.T, name, configJSON string, n int) {
	t.Helper()
	m := decModel(t, configJSON)
	if len(m.Units) != n {
		var names []string
		for _, u := range m.Units {
			names = append(names, u.Name)
		}
		t.Errorf("%s: n = %d, want %d: %v", name, len(m.Units), n, names)
	}
}

// decCheckConfigError checks that a bad config fails with an error naming the config file and containing want.
func decCheckConfigError(t *testing.T, configJSON, want string) {
	t.Helper()
	err := decBuildError(t, configJSON)
	if err == nil || !strings.Contains(err.Error(), "tiny/config.json") || !strings.Contains(err.Error(), want) {
		t.Errorf("config %s: error %v, want one naming tiny/config.json and %s", configJSON, err, want)
	}
}
