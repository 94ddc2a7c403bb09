package onnx

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

func testModel(vals []float32) *ModelProto {
	big := Float32Tensor("big.weight", []int{len(vals)}, vals)
	small := Int64Tensor("small", []int{2}, []int64{-3, 7})
	return &ModelProto{IrVersion: ptr(int64(8)), Graph: &GraphProto{Name: ptr("g"), Initializer: []*TensorProto{big, small}}}
}

// TestWriteReadExternal writes a model with and without external data and reads every value back bit for bit.
func TestWriteReadExternal(t *testing.T) {
	vals := make([]float32, 3000)
	for i := range vals {
		vals[i] = float32(math.Sin(float64(i))) * 1e3
	}
	vals[5] = float32(math.Copysign(0, -1))
	for _, external := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "model.onnx")
		if err := Write(path, testModel(vals), WriteOptions{External: external}); err != nil {
			t.Fatal(err)
		}
		_, statErr := os.Stat(path + "_data")
		if external != (statErr == nil) {
			t.Fatalf("external=%v: data file present=%v", external, statErr == nil)
		}
		m, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		inits := m.GetGraph().GetInitializer()
		if got := inits[0].GetDataLocation() == TensorProto_EXTERNAL; got != external {
			t.Fatalf("external=%v: big.weight stored externally=%v", external, got)
		}
		if inits[1].GetDataLocation() == TensorProto_EXTERNAL {
			t.Fatalf("a 16-byte tensor went to the data file (threshold %d)", ExternalThreshold)
		}
		got, err := TensorFloat32(inits[0], dir)
		if err != nil {
			t.Fatal(err)
		}
		for i := range vals {
			if math.Float32bits(got[i]) != math.Float32bits(vals[i]) {
				t.Fatalf("external=%v: value %d: %v, want %v", external, i, got[i], vals[i])
			}
		}
	}
}

// TestHalfTensors checks float16/bfloat16 initializers decode within half a unit in the last place.
func TestHalfTensors(t *testing.T) {
	vals := []float32{1, -2.5, 3.14159, 1e-3, 65504, -0.1}
	for _, dt := range []int32{Float16, BFloat16} {
		tp, err := HalfTensor("w", dt, []int{2, 3}, vals)
		if err != nil {
			t.Fatal(err)
		}
		got, err := TensorFloat32(tp, "")
		if err != nil {
			t.Fatal(err)
		}
		rel := 1.0 / 1024 // float16: 10 stored significand bits, so half an ulp is 2^-11 relative
		if dt == BFloat16 {
			rel = 1.0 / 128 // 7 stored bits
		}
		maxErr := 0.0
		for i, v := range vals {
			e := math.Abs(float64(got[i]-v)) / math.Abs(float64(v))
			maxErr = math.Max(maxErr, e)
			if e > rel/2*1.0001 {
				t.Errorf("%s: %v -> %v (relative error %.3g > %.3g)", DTypeName(dt), v, got[i], e, rel/2)
			}
		}
		t.Logf("%s: max relative error %.3g", DTypeName(dt), maxErr)
	}
	if _, err := HalfTensor("w", Int64, []int{1}, []float32{1}); err == nil {
		t.Fatal("HalfTensor accepted INT64")
	}
}

// TestReadBadInput: a garbage file and an external location escaping the folder are clear errors.
func TestReadBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.onnx")
	if err := os.WriteFile(bad, []byte("\xff\xff\xff\xff garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(bad); err == nil || !strings.Contains(err.Error(), "bad.onnx") {
		t.Fatalf("garbage file: err = %v, want an error naming the file", err)
	}
	tp := Float32Tensor("w", []int{1}, []float32{1})
	tp.RawData = nil
	tp.DataLocation = TensorProto_EXTERNAL.Enum()
	tp.ExternalData = []*StringStringEntryProto{{Key: ptr("location"), Value: ptr("../../etc/passwd")}}
	if _, err := TensorFloat32(tp, dir); err == nil || !strings.Contains(err.Error(), "relative") {
		t.Fatalf("escaping location: err = %v", err)
	}
}

// TestStreamedMarshal: the initializer-by-initializer file parses back to the same ModelProto (nodes, inputs,
// metadata, initializers in order).
func TestStreamedMarshal(t *testing.T) {
	m := testModel([]float32{1, 2, 3})
	m.Graph.Node = []*NodeProto{{OpType: ptr("Identity"), Input: []string{"x"}, Output: []string{"y"}}}
	m.MetadataProps = []*StringStringEntryProto{{Key: ptr("k"), Value: ptr("v")}}
	m.Graph.Initializer = append(m.Graph.Initializer, Float32Tensor("third", []int{1}, []float32{9}))
	want := proto.Clone(m)
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := Write(path, m, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("read back differs:\n got %v\nwant %v", got, want)
	}
}
