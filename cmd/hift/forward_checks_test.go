package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/io/safetensors"
)

// TestForwardChecksIDs: forward refuses input_ids and causal-LM labels outside the vocabulary (they printed
// logits and a loss with exit 0) and an empty batch (was "runtime panic: integer divide by zero").
func TestForwardChecksIDs(t *testing.T) {
	dir := t.TempDir()
	model := repoPath("testdata", "fixtures", "llama_causal_lm")
	i64 := func(name string, shape []int, v ...int64) safetensors.Tensor {
		b, _ := safetensors.EncodeInt64(safetensors.I64, v)
		return safetensors.Tensor{Name: name, DType: safetensors.I64, Shape: shape, Data: b}
	}
	for i, tc := range []struct {
		name    string
		tensors []safetensors.Tensor
		want    string
	}{
		{"id past the vocabulary", []safetensors.Tensor{i64("input_ids", []int{1, 4}, 1, 2, 3, 9999)}, "input_ids element 3 = 9999"},
		{"negative id", []safetensors.Tensor{i64("input_ids", []int{1, 4}, 1, -2, 3, 4)}, "input_ids element 1 = -2"},
		{"label past the vocabulary", []safetensors.Tensor{i64("input_ids", []int{1, 4}, 1, 2, 3, 4), i64("labels", []int{1, 4}, 1, 2, 3, 999)}, "labels element 3 = 999"},
		{"empty batch", []safetensors.Tensor{i64("input_ids", []int{0, 4})}, "the batch is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(dir, tc.name+".safetensors")
			if err := safetensors.WriteFile(in, tc.tensors, nil); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out", string(rune('a'+i))+".safetensors")
			code, _, stderr := runCLI(t, "forward", "--model", model, "--inputs", in, "--out", out)
			if code != 1 || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "panic") {
				t.Errorf("exit %d, stderr %q; want exit 1 mentioning %q", code, stderr, tc.want)
			}
		})
	}
}
