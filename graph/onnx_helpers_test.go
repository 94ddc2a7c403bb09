package graph

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/internal/validators"
	"github.com/hift-go/hift/io/onnx"
)

// ortValue is a tensor in ort_run.mjs's JSON.
type ortValue struct {
	Type   string    `json:"type,omitempty"`
	Dims   []int     `json:"dims,omitempty"`
	Data   []float64 `json:"data"`
	Prev   string    `json:"prev,omitempty"`
	Greedy string    `json:"greedy,omitempty"`
}

type ortRunReq struct {
	Inputs  map[string]ortValue `json:"inputs"`
	Outputs []string            `json:"outputs,omitempty"`
	Model   string              `json:"model,omitempty"` // another model than the request's, for this run
}

type ortResult struct {
	Inputs  []string              `json:"inputs"`
	Outputs []string              `json:"outputs"`
	Runs    []map[string]ortValue `json:"runs"`
}

// runORT runs model with onnxruntime-node (testdata/validators/ort_run.mjs) once per request.
func runORT(t *testing.T, model string, runs ...ortRunReq) ortResult {
	t.Helper()
	req, err := json.Marshal(map[string]any{"model": model, "runs": runs})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "request.json")
	if err := os.WriteFile(path, req, 0o644); err != nil {
		t.Fatal(err)
	}
	var res ortResult
	validators.Run(t, &res, []string{"onnxruntime-node"}, "ort_run.mjs", path)
	if len(res.Runs) != len(runs) {
		t.Fatalf("ort_run.mjs returned %d runs for %d requests", len(res.Runs), len(runs))
	}
	return res
}

// ortInt64 converts an int64 tensor to an ORT input.
func ortInt64(t *tensors.Tensor) ortValue {
	flat := tensors.MustCopyFlatData[int64](t)
	data := make([]float64, len(flat))
	for i, v := range flat {
		data[i] = float64(v)
	}
	return ortValue{Type: "int64", Dims: t.Shape().Dimensions, Data: data}
}

func ortInts(dims []int, vals []int64) ortValue {
	data := make([]float64, len(vals))
	for i, v := range vals {
		data[i] = float64(v)
	}
	return ortValue{Type: "int64", Dims: dims, Data: data}
}

// ortEmpty is a float32 tensor with a zero-length axis (an empty past).
func ortEmpty(dims ...int) ortValue { return ortValue{Type: "float32", Dims: dims, Data: []float64{}} }

// arangePositions returns position_ids [B, T] = from, from+1, … for every row.
func arangePositions(b, t, from int) ortValue {
	vals := make([]int64, b*t)
	for i := range vals {
		vals[i] = int64(from + i%t)
	}
	return ortInts([]int{b, t}, vals)
}

// ortInputs builds the ONNX inputs of model m from a hift batch: input_ids, attention_mask, token_type_ids when
// the export takes them, and position_ids 0…T−1 for the decoders that take them.
func ortInputs(m *Model, batch map[string]*tensors.Tensor) map[string]ortValue {
	in := map[string]ortValue{"input_ids": ortInt64(batch["input_ids"]), "attention_mask": ortInt64(batch["attention_mask"])}
	switch m.Config.ModelType {
	case "bert":
		if tt, ok := batch["token_type_ids"]; ok {
			in["token_type_ids"] = ortInt64(tt)
		} else {
			in["token_type_ids"] = ortInt64(tensors.FromFlatDataAndDimensions(make([]int64, batch["input_ids"].Shape().Size()), batch["input_ids"].Shape().Dimensions...))
		}
	case "roberta", "opt":
	default:
		d := batch["input_ids"].Shape().Dimensions
		in["position_ids"] = arangePositions(d[0], d[1], 0)
	}
	return in
}

// exportTo writes m's ONNX export into a temporary folder and returns the model path.
func exportTo(t *testing.T, m *Model, w map[string]*tensors.Tensor, opts ONNXOptions) string {
	t.Helper()
	mp, err := ExportONNX(m, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := onnx.Write(path, mp, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// ortMaxDiff compares ORT's output with want (same layout), skipping positions where skip(i) is true, and returns the
// largest absolute difference (+Inf on a size mismatch or a non-finite value).
func ortMaxDiff(got ortValue, want []float32, skip func(int) bool) float64 {
	if len(got.Data) != len(want) {
		return math.Inf(1)
	}
	worst := 0.0
	for i, v := range want {
		if skip != nil && skip(i) {
			continue
		}
		d := math.Abs(got.Data[i] - float64(v))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		worst = math.Max(worst, d)
	}
	return worst
}

// fixtureNames lists every model fixture (one with an architecture) of testdata/fixtures/index.json.
func fixtureNames(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixture.Root(), "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Fixtures []struct {
			Name         string `json:"name"`
			Architecture string `json:"architecture"`
		} `json:"fixtures"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatalf("fixtures index.json: %v", err)
	}
	var out []string
	for _, f := range idx.Fixtures {
		if f.Architecture != "" { // model fixtures only
			out = append(out, f.Name)
		}
	}
	if len(out) == 0 {
		t.Fatal("fixtures index.json lists no fixture")
	}
	return out
}
