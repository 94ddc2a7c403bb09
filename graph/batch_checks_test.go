package graph

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/io/safetensors"
)

// TestLoadBatchShapeErrors: an empty batch and token labels shaped unlike input_ids are errors naming the file
// (they were "runtime panic: integer divide by zero" and a GoMLX broadcast error).
func TestLoadBatchShapeErrors(t *testing.T) {
	i64 := func(name string, shape []int, v ...int64) safetensors.Tensor {
		b, _ := safetensors.EncodeInt64(safetensors.I64, v)
		return safetensors.Tensor{Name: name, DType: safetensors.I64, Shape: shape, Data: b}
	}
	for _, tc := range []struct {
		name    string
		tensors []safetensors.Tensor
		want    string
	}{
		{"no rows", []safetensors.Tensor{i64("input_ids", []int{0, 4})}, "the batch is empty"},
		{"no tokens", []safetensors.Tensor{i64("input_ids", []int{1, 0})}, "the batch is empty"},
		{"short labels", []safetensors.Tensor{i64("input_ids", []int{1, 4}, 1, 2, 3, 4), i64("labels", []int{1, 3}, 1, 2, 3)}, "labels has shape [1 3], input_ids [1 4]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "b.safetensors")
			if err := safetensors.WriteFile(path, tc.tensors, nil); err != nil {
				t.Fatal(err)
			}
			_, err := LoadBatch(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want one naming %s and %q", err, path, tc.want)
			}
		})
	}
}
