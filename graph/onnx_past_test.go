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
	const B, V = 2, 40
	prompt := []int64{3, 7, 9, 5, 8, 12}
	type family struct {
		mt, path        string
		m               *Model
		w               map[string]*tensors.Tensor
		kvh, dh, layers int
		full            []int64
	}
	step := func(f *family, n, from int, ids ortValue, prev bool) ortRunReq {
		in := map[string]ortValue{"input_ids": ids, "attention_mask": ortInts([]int{B, from + n}, slices.Repeat([]int64{1}, B*(from+n)))}
		if f.mt != "opt" {
			in["position_ids"] = arangePositions(B, n, from)
		}
		for l := 0; l < f.layers; l++ {
			for _, kv := range []string{"key", "value"} {
				if prev {
					in[fmt.Sprintf("past_key_values.%d.%s", l, kv)] = ortValue{Prev: fmt.Sprintf("present.%d.%s", l, kv)}
				} else {
					in[fmt.Sprintf("past_key_values.%d.%s", l, kv)] = ortEmpty(B, f.kvh, 0, f.dh)
				}
			}
		}
		return ortRunReq{Inputs: in, Model: f.path}
	}
	var fams []*family
	var cachedRuns []ortRunReq
	for _, mt := range []string{"gpt2", "gpt_neo", "gpt_neox", "opt", "llama", "mistral", "qwen2"} {
		m := decModel(t, fmt.Sprintf(`{"architectures":[%q],%s}`, causalClass(t, mt), classesTiny[mt].config))
		w := decWeights(m)
		f := &family{mt: mt, m: m, w: w, path: exportTo(t, m, w, ONNXOptions{WithPast: true})}
		f.kvh, f.dh, f.layers = decoderCacheDims(m)
		fams = append(fams, f)
		// Prompt from an empty cache, then two greedy tokens one at a time through present.* → past_key_values.*.
		cachedRuns = append(cachedRuns, step(f, 3, 0, ortInts([]int{B, 3}, prompt), false),
			step(f, 1, 3, ortValue{Greedy: "logits"}, true), step(f, 1, 4, ortValue{Greedy: "logits"}, true))
	}
	cached := runORT(t, cachedRuns[0].Model, cachedRuns...)
	var recomputeRuns []ortRunReq
	for i, f := range fams {
		g1 := argmaxRows(cached.Runs[3*i]["logits"].Data, V)   // [B·3]
		g2 := argmaxRows(cached.Runs[3*i+1]["logits"].Data, V) // [B]
		for b := 0; b < B; b++ {
			f.full = append(f.full, prompt[3*b:3*b+3]...)
			f.full = append(f.full, g1[3*b+2], g2[b])
		}
		recomputeRuns = append(recomputeRuns, step(f, 5, 0, ortInts([]int{B, 5}, f.full), false))
	}
	recompute := runORT(t, recomputeRuns[0].Model, recomputeRuns...)
	for i, f := range fams {
		t.Run(f.mt, func(t *testing.T) {
			r := recompute.Runs[i]["logits"] // [B, 5, V]
			if !slices.Equal(r.Dims, []int{B, 5, V}) {
				t.Fatalf("recomputed logits dims %v", r.Dims)
			}
			worst := 0.0
			for b := 0; b < B; b++ {
				for pos := 0; pos < 5; pos++ {
					var got []float64
					if pos < 3 {
						got = cached.Runs[3*i]["logits"].Data[(b*3+pos)*V : (b*3+pos+1)*V]
					} else {
						got = cached.Runs[3*i+pos-2]["logits"].Data[b*V : (b+1)*V]
					}
					want := r.Data[(b*5+pos)*V : (b*5+pos+1)*V]
					for j := range want {
						worst = math.Max(worst, math.Abs(got[j]-want[j]))
					}
				}
				if g := argmaxRows(r.Data[(b*5+2)*V:(b*5+4)*V], V); g[0] != f.full[5*b+3] || g[1] != f.full[5*b+4] {
					t.Errorf("row %d: recomputing picks tokens %v, the cache picked %v", b, g, f.full[5*b+3:5*b+5])
				}
			}
			present := cached.Runs[3*i+2][fmt.Sprintf("present.%d.value", f.layers-1)]
			t.Logf("%s: tokens %v, max|cached − recomputed logit| %.3g, last present dims %v", f.m.Class, f.full, worst, present.Dims)
			if !(worst <= 1e-5) {
				t.Errorf("cached vs recomputed logits differ by %.3g > 1e-5", worst)
			}
			if !slices.Equal(present.Dims, []int{B, f.kvh, 5, f.dh}) {
				t.Errorf("present dims %v, want [%d %d 5 %d]", present.Dims, B, f.kvh, f.dh)
			}
			batch := map[string]*tensors.Tensor{"input_ids": tensors.FromFlatDataAndDimensions(f.full, B, 5),
				"attention_mask": tensors.FromFlatDataAndDimensions(slices.Repeat([]int64{1}, B*5), B, 5)}
			out, err := RunForward(be, f.m, f.w, batch, ForwardOptions{})
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

// TestONNXWithPastLeftPadded: batched generation as HF's generate runs it with left padding (row 1's prompt is
// one token shorter; attention_mask 0 on the pad; position_ids = cumsum(mask) − 1, the pad at 1): two greedy
// tokens through the cache give the same tokens and logits (real positions, within 1e-5) as recomputing.
func TestONNXWithPastLeftPadded(t *testing.T) {
	const B, V = 2, 40
	ids := []int64{3, 7, 9, 0, 5, 8} // row 1: pad, 5, 8
	mask := []int64{1, 1, 1, 0, 1, 1}
	pos := []int64{0, 1, 2, 1, 0, 1}
	type fam struct {
		mt, path        string
		kvh, dh, layers int
	}
	inputs := func(f fam, ids ortValue, mask []int64, pos []int64, n int, prev bool) ortRunReq {
		in := map[string]ortValue{"input_ids": ids, "attention_mask": ortInts([]int{B, len(mask) / B}, mask)}
		if f.mt != "opt" {
			in["position_ids"] = ortInts([]int{B, n}, pos)
		}
		for l := 0; l < f.layers; l++ {
			for _, kv := range []string{"key", "value"} {
				name := fmt.Sprintf("past_key_values.%d.%s", l, kv)
				if prev {
					in[name] = ortValue{Prev: fmt.Sprintf("present.%d.%s", l, kv)}
				} else {
					in[name] = ortEmpty(B, f.kvh, 0, f.dh)
				}
			}
		}
		return ortRunReq{Inputs: in, Model: f.path}
	}
	grow := func(m []int64, cols int) []int64 { // append one real column per row
		var out []int64
		for b := 0; b < B; b++ {
			out = append(out, m[b*cols:(b+1)*cols]...)
			out = append(out, 1)
		}
		return out
	}
	var fams []fam
	var runs []ortRunReq
	for _, mt := range []string{"llama", "gpt2", "opt"} {
		m := decModel(t, fmt.Sprintf(`{"architectures":[%q],%s}`, causalClass(t, mt), classesTiny[mt].config))
		f := fam{mt: mt, path: exportTo(t, m, decWeights(m), ONNXOptions{WithPast: true})}
		f.kvh, f.dh, f.layers = decoderCacheDims(m)
		fams = append(fams, f)
		m4, m5 := grow(mask, 3), grow(grow(mask, 3), 4)
		runs = append(runs, inputs(f, ortInts([]int{B, 3}, ids), mask, pos, 3, false),
			inputs(f, ortValue{Greedy: "logits"}, m4, []int64{3, 2}, 1, true),
			inputs(f, ortValue{Greedy: "logits"}, m5, []int64{4, 3}, 1, true))
	}
	cached := runORT(t, runs[0].Model, runs...)
	var recompute []ortRunReq
	fulls := make([][]int64, len(fams))
	for i, f := range fams {
		g1 := argmaxRows(cached.Runs[3*i]["logits"].Data, V)
		g2 := argmaxRows(cached.Runs[3*i+1]["logits"].Data, V)
		for b := 0; b < B; b++ {
			fulls[i] = append(fulls[i], ids[3*b:3*b+3]...)
			fulls[i] = append(fulls[i], g1[3*b+2], g2[b])
		}
		recompute = append(recompute, inputs(f, ortInts([]int{B, 5}, fulls[i]), grow(grow(mask, 3), 4), []int64{0, 1, 2, 3, 4, 1, 0, 1, 2, 3}, 5, false))
	}
	res := runORT(t, recompute[0].Model, recompute...)
	for i, f := range fams {
		r := res.Runs[i]["logits"].Data // [B, 5, V]
		worst := 0.0
		for b := 0; b < B; b++ {
			for p := 0; p < 5; p++ {
				if b == 1 && p == 0 {
					continue // the pad's own logits
				}
				var got []float64
				if p < 3 {
					got = cached.Runs[3*i]["logits"].Data[(b*3+p)*V : (b*3+p+1)*V]
				} else {
					got = cached.Runs[3*i+p-2]["logits"].Data[b*V : (b+1)*V]
				}
				for j := 0; j < V; j++ {
					worst = math.Max(worst, math.Abs(got[j]-r[(b*5+p)*V+j]))
				}
			}
			if g := argmaxRows(r[(b*5+2)*V:(b*5+4)*V], V); g[0] != fulls[i][5*b+3] || g[1] != fulls[i][5*b+4] {
				t.Errorf("%s row %d: recomputing picks %v, the cache picked %v", f.mt, b, g, fulls[i][5*b+3:5*b+5])
			}
		}
		t.Logf("%s: tokens %v, max|cached − recomputed logit| %.3g", f.mt, fulls[i], worst)
		if !(worst <= 1e-5) {
			t.Errorf("%s: cached vs recomputed logits differ by %.3g > 1e-5", f.mt, worst)
		}
	}
}
