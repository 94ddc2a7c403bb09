package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/io/safetensors"
)

// tinyWithValue copies examples/tiny-llama into dir/name with element 0 of model.norm.weight and
// model.layers.0.mlp.up_proj.weight set to v.
func tinyWithValue(t *testing.T, dir, name string, v float32) string {
	t.Helper()
	src := repoPath("examples", "tiny-llama")
	ts, err := readAllTensors(src)
	if err != nil {
		t.Fatal(err)
	}
	for i, tn := range ts {
		if tn.Name != "model.norm.weight" && tn.Name != "model.layers.0.mlp.up_proj.weight" {
			continue
		}
		vals, err := safetensors.DecodeFloat32(tn.DType, tn.Data)
		if err != nil {
			t.Fatal(err)
		}
		vals[0] = v
		if ts[i].Data, err = safetensors.EncodeFloat32(safetensors.F32, vals); err != nil {
			t.Fatal(err)
		}
		ts[i].DType = safetensors.F32
	}
	out := filepath.Join(dir, name)
	os.MkdirAll(out, 0o755)
	if err := safetensors.WriteFile(filepath.Join(out, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"config.json", "tokenizer.json", "tokenizer_config.json"} {
		copyFile(t, filepath.Join(src, n), filepath.Join(out, n))
	}
	return out
}

// TestNoNonFiniteWeightsWritten: a conversion to f16 of a weight past its range (1e6 > 65504) and an export of a
// checkpoint holding +Inf are errors naming the tensor, and nothing is written. Before, convert --dtype f16,
// export --dtype f16 (GGUF and ONNX) stored +Inf with exit 0, and ONNX export copied +Inf weights.
func TestNoNonFiniteWeightsWritten(t *testing.T) {
	dir := t.TempDir()
	big := tinyWithValue(t, dir, "big", 1e6)
	inf := tinyWithValue(t, dir, "inf", float32(math.Inf(1)))
	for _, tc := range []struct {
		name string
		args []string
		out  string
		want string
	}{
		{"convert to f16", []string{"convert", "--model", big, "--dtype", "f16"}, "conv", "out of F16's range"},
		{"gguf f16", []string{"export", "--model", big, "--dtype", "f16"}, "m.gguf", "out of F16's range"},
		{"onnx f16", []string{"export", "--format", "onnx", "--model", big, "--dtype", "f16"}, "onnx16", "out of float16's range"},
		{"onnx +Inf weight", []string{"export", "--format", "onnx", "--model", inf}, "onnxinf", "+Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.out)
			code, _, stderr := runCLI(t, append(tc.args, "--out", out)...)
			if code != 1 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "weight") {
				t.Errorf("exit %d, stderr %q; want exit 1 naming the weight and %q", code, stderr, tc.want)
			}
			if _, err := os.Stat(filepath.Join(out, "model.onnx")); err == nil {
				t.Errorf("%s/model.onnx was written", out)
			}
			if st, err := os.Stat(out); err == nil && !st.IsDir() {
				t.Errorf("%s was written", out)
			}
		})
	}
	// bf16 holds 1e6: the same checkpoint converts.
	if code, _, stderr := runCLI(t, "convert", "--model", big, "--dtype", "bf16", "--out", filepath.Join(dir, "bf16")); code != 0 {
		t.Errorf("convert --dtype bf16: exit %d: %s", code, stderr)
	}
}
