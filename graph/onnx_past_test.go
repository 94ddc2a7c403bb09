package graph

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// causalClass returns the causal LM class of a model_type.
func causalClass(t *testing.T, modelType string) string {
	for cls, task := range registry[modelType].Classes {
		if task == TaskCausalLM {
			return cls
		}
	}
	t.Fatalf("%s has no causal LM class", modelType)
	return ""
}

// argmaxRows returns the argmax of each row of width v.
func argmaxRows(data []float64, v int) []int64 {
	out := make([]int64, len(data)/v)
	for r := range out {
		row := data[r*v : (r+1)*v]
		for j := range row {
			if row[j] > row[out[r]] {
				out[r] = int64(j)
			}
		}
	}
	return out
}

// TestONNXWithPast: for every decoder family, an export with past key/values generates two greedy tokens after a
// 3-token prompt through present.* → past_key_values.*, one token per run; recomputing the 5 tokens from an
// empty cache gives the same tokens and the same logits at every position within 1e-5, the recomputed logits
// equal hift's own forward, and the cache has optimum's shape [batch, kv_heads, past + sequence, head_dim].
func TestONNXWithPast(t *testing.T) {
	be := testBackend(t)
	for _, mt := range []string{"gpt2", "gpt_neo", "gpt_neox", "opt", "llama", "mistral", "qwen2"} {
		t.Run(mt, func(t *testing.T) {
			m := decModel(t, fmt.Sprintf(`{"architectures":[%q],%s}`, causalClass(t, mt), classesTiny[mt].config))
			w := decWeights(m)
			path := exportTo(t, m, w, ONNXOptions{WithPast: true})
			kvh, dh, layers := decoderCacheDims(m)
			const B, V = 2, 40
			prompt := []int64{3, 7, 9, 5, 8, 12}
			pastInputs := func(in map[string]ortValue, prev bool) map[string]ortValue {
				for l := 0; l < layers; l++ {
					for _, kv := range []string{"key", "value"} {
						if prev {
							in[fmt.Sprintf("past_key_values.%d.%s", l, kv)] = ortValue{Prev: fmt.Sprintf("present.%d.%s", l, kv)}
						} else {
							in[fmt.Sprintf("past_key_values.%d.%s", l, kv)] = ortEmpty(B, kvh, 0, dh)
						}
					}
				}
				return in
			}
			step := func(n, from int, ids ortValue, prev bool) ortRunReq {
				in := map[string]ortValue{"input_ids": ids, "attention_mask": ortInts([]int{B, from + n}, slices.Repeat([]int64{1}, B*(from+n)))}
				if mt != "opt" {
					in["position_ids"] = arangePositions(B, n, from)
				}
				return ortRunReq{Inputs: pastInputs(in, prev)}
			}
			cached := runORT(t, path,
				step(3, 0, ortInts([]int{B, 3}, prompt), false),
				step(1, 3, ortValue{Greedy: "logits"}, true),
				step(1, 4, ortValue{Greedy: "logits"}, true))
			g1 := argmaxRows(cached.Runs[0]["logits"].Data, V) // [B·3]
			g2 := argmaxRows(cached.Runs[1]["logits"].Data, V) // [B]
			full := make([]int64, 0, 10)
			for b := 0; b < B; b++ {
				full = append(full, prompt[3*b:3*b+3]...)
				full = append(full, g1[3*b+2], g2[b])
			}
			recompute := runORT(t, path, step(5, 0, ortInts([]int{B, 5}, full), false))
			r := recompute.Runs[0]["logits"] // [B, 5, V]
			if !slices.Equal(r.Dims, []int{B, 5, V}) {
				t.Fatalf("recomputed logits dims %v", r.Dims)
			}
			worst := 0.0
			for b := 0; b < B; b++ {
				for pos := 0; pos < 5; pos++ {
					var got []float64
					if pos < 3 {
						got = cached.Runs[0]["logits"].Data[(b*3+pos)*V : (b*3+pos+1)*V]
					} else {
						got = cached.Runs[pos-2]["logits"].Data[b*V : (b+1)*V]
					}
					want := r.Data[(b*5+pos)*V : (b*5+pos+1)*V]
					for j := range want {
						worst = math.Max(worst, math.Abs(got[j]-want[j]))
					}
				}
				if g := argmaxRows(r.Data[(b*5+2)*V:(b*5+4)*V], V); g[0] != full[5*b+3] || g[1] != full[5*b+4] {
					t.Errorf("row %d: recomputing picks tokens %v, the cache picked %v", b, g, full[5*b+3:5*b+5])
				}
			}
			present := cached.Runs[2][fmt.Sprintf("present.%d.value", layers-1)]
			t.Logf("%s: tokens %v, max|cached − recomputed logit| %.3g, last present dims %v", m.Class, full, worst, present.Dims)
			if !(worst <= 1e-5) {
				t.Errorf("cached vs recomputed logits differ by %.3g > 1e-5", worst)
			}
			if !slices.Equal(present.Dims, []int{B, kvh, 5, dh}) {
				t.Errorf("present dims %v, want [%d %d 5 %d]", present.Dims, B, kvh, dh)
			}
			batch := map[string]*tensors.Tensor{"input_ids": tensors.FromFlatDataAndDimensions(full, B, 5),
				"attention_mask": tensors.FromFlatDataAndDimensions(slices.Repeat([]int64{1}, B*5), B, 5)}
			out, err := RunForward(be, m, w, batch, ForwardOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d := ortMaxDiff(r, tensors.MustCopyFlatData[float32](out["logits"]), nil); !(d <= 2e-5) {
				t.Errorf("with-past export vs hift forward: max|diff| %.3g", d)
			}
		})
	}
}

// TestONNXDynamicAxes: one export of each fixture runs at batch 2 × sequence 12 and at batch 3 × sequence 40
// (the last row padded), matching hift's forward at both shapes.
func TestONNXDynamicAxes(t *testing.T) {
	be := testBackend(t)
	type job struct {
		name, out string
		task      Task
		batch     map[string]*tensors.Tensor
		want      *tensors.Tensor
	}
	var jobs []job
	var runs []ortRunReq
	for _, name := range fixtureNames(t) {
		_, m, w, _ := loadFixtureModel(t, name)
		path := exportTo(t, m, w, ONNXOptions{}) // exported once, run at both shapes
		var vocab int
		if err := json.Unmarshal(m.Config.Raw["vocab_size"], &vocab); err != nil {
			t.Fatal(err)
		}
		var pad *int
		if raw, ok := m.Config.Raw["pad_token_id"]; ok {
			_ = json.Unmarshal(raw, &pad)
		}
		padID := int64(0)
		if pad != nil {
			padID = int64(*pad)
		}
		o := "logits"
		if m.Task == TaskQA {
			o = "start_logits"
		}
		for i, shape := range [][2]int{{2, 12}, {3, 40}} {
			B, T := shape[0], shape[1]
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			ids, mask := make([]int64, B*T), make([]int64, B*T)
			for j := range ids {
				ids[j], mask[j] = int64(2+rng.IntN(vocab-2)), 1
				if j/T == B-1 && j%T >= T-5 { // last row: 5 pads at the end
					ids[j], mask[j] = padID, 0
				}
			}
			batch := map[string]*tensors.Tensor{"input_ids": tensors.FromFlatDataAndDimensions(ids, B, T),
				"attention_mask": tensors.FromFlatDataAndDimensions(mask, B, T)}
			out, err := RunForward(be, m, w, batch, ForwardOptions{})
			if err != nil {
				t.Fatal(err)
			}
			runs = append(runs, ortRunReq{Inputs: ortInputs(m, batch), Outputs: []string{o}, Model: path})
			jobs = append(jobs, job{name, o, m.Task, batch, out[o]})
		}
	}
	res := runORT(t, runs[0].Model, runs...) // one onnxruntime process for all
	for i, j := range jobs {
		got := res.Runs[i][j.out]
		var skip func(int) bool
		if j.task != TaskSeqCls {
			d := slices.Clone(j.want.Shape().Dimensions)
			if len(d) == 2 {
				d = append(d, 1)
			}
			skip = realPositionSkip(j.batch, d)
		}
		diff := ortMaxDiff(got, tensors.MustCopyFlatData[float32](j.want), skip)
		shape := j.batch["input_ids"].Shape().Dimensions
		t.Logf("%s at %v: %s dims %v, onnxruntime vs hift max|diff| %.3g", j.name, shape, j.out, got.Dims, diff)
		if !slices.Equal(got.Dims, j.want.Shape().Dimensions) || !(diff <= 2e-5) {
			t.Errorf("%s at %v: dims %v (want %v), max|diff| %.3g", j.name, shape, got.Dims, j.want.Shape().Dimensions, diff)
		}
	}
}
