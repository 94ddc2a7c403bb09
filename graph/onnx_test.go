package graph

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/onnx"
	"github.com/hift-go/hift/io/safetensors"
)

// onnxFixtureTol is the bound on |onnxruntime − HF golden| for the fixtures (the 1e-4; optimum validates
// at 1e-5, which every fixture meets too, see the log).
const onnxFixtureTol = 1e-4

// TestONNXFixtures exports every fixture in testdata/fixtures (every architecture and head there), runs the
// export in onnxruntime on the fixture's inputs and compares the logits (QA: start/end logits) with the Hugging
// Face golden outputs at the real (unpadded) positions.
func TestONNXFixtures(t *testing.T) {
	type job struct {
		name  string
		m     *Model
		batch map[string]*tensors.Tensor
		fx    *fixture.Fixture
	}
	var jobs []job
	var runs []ortRunReq
	for _, name := range fixtureNames(t) {
		fx, m, w, batch := loadFixtureModel(t, name)
		jobs = append(jobs, job{name, m, batch, fx})
		runs = append(runs, ortRunReq{Inputs: ortInputs(m, batch), Model: exportTo(t, m, w, ONNXOptions{})})
	}
	res := runORT(t, runs[0].Model, runs...) // one onnxruntime process for every fixture
	for i, j := range jobs {
		t.Run(j.name, func(t *testing.T) {
			golden, err := safetensors.Open(j.fx.Path("golden.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer golden.Close()
			outs := []string{"logits"}
			if j.m.Task == TaskQA {
				outs = []string{"start_logits", "end_logits"}
			}
			worst := 0.0
			for _, o := range outs {
				want, err := golden.Float32(o)
				if err != nil {
					t.Fatal(err)
				}
				info, _ := golden.Info(o)
				got, ok := res.Runs[i][o]
				if !ok {
					t.Fatalf("onnxruntime returned no %q", o)
				}
				if !slices.Equal(got.Dims, info.Shape) {
					t.Fatalf("%s: onnxruntime dims %v, golden %v", o, got.Dims, info.Shape)
				}
				var skip func(int) bool
				if j.m.Task != TaskSeqCls { // [B, T(, C)]: compare real tokens only
					d := slices.Clone(info.Shape)
					if len(d) == 2 {
						d = append(d, 1)
					}
					skip = realPositionSkip(j.batch, d)
				}
				worst = math.Max(worst, ortMaxDiff(got, want, skip))
			}
			t.Logf("%s (%s): onnxruntime vs HF golden max|diff| %.3g (bound %.0e)", j.name, j.m.Class, worst, onnxFixtureTol)
			if !(worst <= onnxFixtureTol) {
				t.Errorf("%s: max|diff| %.3g > %.0e", j.name, worst, onnxFixtureTol)
			}
		})
	}
}

// TestONNXEveryClass exports a tiny model of every registered class (all nine architectures with all their
// heads, multiple choice included) and compares onnxruntime's outputs with hift's own forward on a padded batch
// (within 2e-5 × max(1, max|output|) at real positions; every class but GPT-2's is below 1e-6, GPT-2's tiny
// model, with its Conv1D weights, differs by up to 1.6e-5 on outputs of 1.5 — both are float32 computations
// in a different order, and on the HF fixture onnxruntime's GPT-2 is within 3.4e-6 of the golden logits).
func TestONNXEveryClass(t *testing.T) {
	be := testBackend(t)
	type job struct {
		class string
		task  Task
		batch map[string]*tensors.Tensor
		want  map[string]*tensors.Tensor
	}
	var jobs []job
	var runs []ortRunReq
	for _, class := range SupportedClasses() {
		modelType, task := classModelType(class)
		tiny := classesTiny[modelType]
		numLabels := 3
		if task == TaskQA {
			numLabels = 2
		}
		m := decModel(t, fmt.Sprintf(`{"architectures":[%q],%s,"num_labels":%d}`, class, tiny.config, numLabels))
		w := decWeights(m)
		batch, _ := classBatch(task, tiny.pad, modelType == "bert")
		delete(batch, "labels")
		delete(batch, "start_positions")
		delete(batch, "end_positions")
		if modelType != "bert" { // optimum's layout: only BERT takes token_type_ids
			delete(batch, "token_type_ids")
		}
		want, err := RunForward(be, m, w, batch, ForwardOptions{})
		if err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		jobs = append(jobs, job{class, task, batch, want})
		runs = append(runs, ortRunReq{Inputs: ortInputs(m, batch), Model: exportTo(t, m, w, ONNXOptions{})})
	}
	res := runORT(t, runs[0].Model, runs...) // one onnxruntime process for every class
	for i, j := range jobs {
		worst, scale := 0.0, 1.0
		for o, got := range res.Runs[i] {
			wt, ok := j.want[o]
			if !ok {
				t.Fatalf("%s: onnx output %q is not an output of the forward (%v)", j.class, o, SortedKeys(j.want))
			}
			if !slices.Equal(got.Dims, wt.Shape().Dimensions) {
				t.Fatalf("%s: %s: onnxruntime dims %v, hift %v", j.class, o, got.Dims, wt.Shape().Dimensions)
			}
			var skip func(int) bool
			if d := wt.Shape().Dimensions; j.task != TaskMultipleChoice && j.task != TaskSeqCls {
				if len(d) == 2 {
					d = append(slices.Clone(d), 1)
				}
				skip = realPositionSkip(j.batch, d)
			}
			ref := tensors.MustCopyFlatData[float32](wt)
			for _, v := range ref {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			worst = math.Max(worst, ortMaxDiff(got, ref, skip))
		}
		if len(res.Runs[i]) == 0 {
			t.Errorf("%s: no outputs", j.class)
		}
		// float32 rounding grows with the outputs' size: the bound is relative to max(1, max|output|).
		t.Logf("%s: onnxruntime vs hift forward max|diff| %.3g (max|output| %.3g)", j.class, worst, scale)
		if !(worst <= 2e-5*scale) {
			t.Errorf("%s: max|diff| %.3g > 2e-5 × %.3g", j.class, worst, scale)
		}
	}
}

// TestONNXImportRoundTrip: every initializer of a fixture's export is read by the graph (nothing for onnxruntime
// to drop), export → import returns every weight bit for bit, and an initializer that is not a tensor of the
// model is listed in the error.
func TestONNXImportRoundTrip(t *testing.T) {
	for _, name := range fixtureNames(t) {
		fx, m, w, _ := loadFixtureModel(t, name)
		mp, err := ExportONNX(m, w, ONNXOptions{})
		if err != nil {
			t.Fatal(err)
		}
		used := map[string]bool{} // onnxruntime warns about (and drops) initializers no node reads
		for _, n := range mp.GetGraph().GetNode() {
			for _, in := range n.GetInput() {
				used[in] = true
			}
		}
		for _, init := range mp.GetGraph().GetInitializer() {
			if !used[init.GetName()] {
				t.Errorf("%s: initializer %s is read by no node", name, init.GetName())
			}
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "model.onnx")
		if err := onnx.Write(path, mp, onnx.WriteOptions{External: name == "gpt2_causal_lm"}); err != nil {
			t.Fatal(err)
		}
		back, err := onnx.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		m2, w2, err := ImportONNX(back, path, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m2.Class != m.Class {
			t.Errorf("%s: imported as %s", name, m2.Class)
		}
		ck, err := safetensors.Open(fx.Path("model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		differ := 0
		for _, p := range m.Params {
			b1, err := ck.Bytes(p.Name)
			if err != nil {
				b1, err = ck.Bytes(strings.TrimPrefix(p.Name, m.BasePrefix))
			}
			if err != nil {
				t.Fatalf("%s: %s: %v", name, p.Name, err)
			}
			var b2 []byte
			if err := w2[p.Name].ConstBytes(func(b []byte) { b2 = slices.Clone(b) }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(b1, b2) {
				differ++
				t.Errorf("%s: %s differs after export → import", name, p.Name)
			}
		}
		ck.Close()
		t.Logf("%s: %d parameters, %d differ", name, len(m.Params), differ)
	}
	// An unmappable initializer is listed, never dropped.
	_, m, w, _ := loadFixtureModel(t, "gpt2_causal_lm")
	mp, err := ExportONNX(m, w, ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mp.Graph.Initializer = append(mp.Graph.Initializer, onnx.Float32Tensor("onnx::MatMul_1234", []int{2}, []float32{1, 2}))
	_, _, err = ImportONNX(mp, "x.onnx", "", nil)
	if err == nil || !strings.Contains(err.Error(), "onnx::MatMul_1234") {
		t.Fatalf("extra initializer: err = %v, want it listed", err)
	}
}

// TestONNXHalf: --dtype f16 and bf16 store weights in 16 bits (the file shrinks) and onnxruntime's logits stay
// near the golden ones (the error is the weights' rounding, stated in the log).
func TestONNXHalf(t *testing.T) {
	fx, m, w, batch := loadFixtureModel(t, "llama_causal_lm")
	want, err := fixtureGolden(fx, "logits")
	if err != nil {
		t.Fatal(err)
	}
	f32 := exportTo(t, m, w, ONNXOptions{})
	st32, _ := os.Stat(f32)
	for _, dt := range []string{"f16", "bf16"} {
		path := exportTo(t, m, w, ONNXOptions{DType: dt})
		st, _ := os.Stat(path)
		res := runORT(t, path, ortRunReq{Inputs: ortInputs(m, batch)})
		got := res.Runs[0]["logits"]
		d := ortMaxDiff(got, want, realPositionSkip(batch, got.Dims))
		t.Logf("%s: %d bytes (f32 %d), max|logit − golden| %.3g", dt, st.Size(), st32.Size(), d)
		bound := map[string]float64{"f16": 5e-3, "bf16": 5e-2}[dt]
		if !(d <= bound) || d == 0 {
			t.Errorf("%s: max|diff| %.3g, want in (0, %g]", dt, d, bound)
		}
		if st.Size() > st32.Size()*6/10 {
			t.Errorf("%s: file %d bytes is not about half of f32's %d", dt, st.Size(), st32.Size())
		}
	}
}

func fixtureGolden(fx *fixture.Fixture, name string) ([]float32, error) {
	g, err := safetensors.Open(fx.Path("golden.safetensors"))
	if err != nil {
		return nil, err
	}
	defer g.Close()
	return g.Float32(name)
}

// TestONNXOpsets: --opset 19, 20 and 21 (IR 9, 9, 10) load in onnxruntime and give the golden logits too.
func TestONNXOpsets(t *testing.T) {
	fx, m, w, batch := loadFixtureModel(t, "llama_causal_lm")
	want, err := fixtureGolden(fx, "logits")
	if err != nil {
		t.Fatal(err)
	}
	for _, opset := range []int{19, 20, 21} {
		res := runORT(t, exportTo(t, m, w, ONNXOptions{Opset: opset}), ortRunReq{Inputs: ortInputs(m, batch)})
		got := res.Runs[0]["logits"]
		d := ortMaxDiff(got, want, realPositionSkip(batch, got.Dims))
		t.Logf("opset %d: max|logit − golden| %.3g", opset, d)
		if !(d <= onnxFixtureTol) {
			t.Errorf("opset %d: max|diff| %.3g > %.0e", opset, d, onnxFixtureTol)
		}
	}
	if _, err := ExportONNX(m, w, ONNXOptions{Opset: 17}); err == nil {
		t.Error("opset 17 accepted (ReduceMean's axes input needs 18)")
	}
}

// TestONNXExternalData: the external-data layout (what exports above 2 GB use; the 2.3 GB run is
// cmd/hift's TestExportONNXOver2GB behind HIFT_LONG_ONNX=1) loads in onnxruntime with the golden logits.
func TestONNXExternalData(t *testing.T) {
	fx, m, w, batch := loadFixtureModel(t, "gpt_neox_causal_lm")
	want, err := fixtureGolden(fx, "logits")
	if err != nil {
		t.Fatal(err)
	}
	mp, err := ExportONNX(m, w, ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := onnx.Write(path, mp, onnx.WriteOptions{External: true}); err != nil {
		t.Fatal(err)
	}
	data, err := os.Stat(path + "_data")
	if err != nil {
		t.Fatal(err)
	}
	model, _ := os.Stat(path)
	res := runORT(t, path, ortRunReq{Inputs: ortInputs(m, batch)})
	got := res.Runs[0]["logits"]
	d := ortMaxDiff(got, want, realPositionSkip(batch, got.Dims))
	t.Logf("model.onnx %d bytes + model.onnx_data %d bytes: max|logit − golden| %.3g", model.Size(), data.Size(), d)
	if !(d <= onnxFixtureTol) || model.Size() > data.Size()/4 {
		t.Errorf("max|diff| %.3g, model.onnx %d bytes, data %d bytes", d, model.Size(), data.Size())
	}
}
