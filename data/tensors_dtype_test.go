package data

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/io/safetensors"
)

// TestLoadTensorDatasetIntegerColumns: ids, masks and positions stored as floats are an error naming the file and
// tensor (before, F32 input_ids loaded and eval printed "loss 0.0000"); float labels (regression) stay allowed.
func TestLoadTensorDatasetIntegerColumns(t *testing.T) {
	ints, _ := safetensors.EncodeInt64(safetensors.I64, []int64{1, 2, 3, 4})
	floats, _ := safetensors.EncodeFloat32(safetensors.F32, []float32{1, 2, 3, 4})
	for _, tc := range []struct {
		name    string
		tensors []safetensors.Tensor
		want    string // "" = loads
	}{
		{"float input_ids", []safetensors.Tensor{{Name: "input_ids", DType: safetensors.F32, Shape: []int{2, 2}, Data: floats}}, `"input_ids" is F32`},
		{"float attention_mask", []safetensors.Tensor{
			{Name: "input_ids", DType: safetensors.I64, Shape: []int{2, 2}, Data: ints},
			{Name: "attention_mask", DType: safetensors.F32, Shape: []int{2, 2}, Data: floats}}, `"attention_mask" is F32`},
		{"float start_positions", []safetensors.Tensor{
			{Name: "input_ids", DType: safetensors.I64, Shape: []int{4, 1}, Data: ints},
			{Name: "start_positions", DType: safetensors.F32, Shape: []int{4}, Data: floats}}, `"start_positions" is F32`},
		{"float labels (regression)", []safetensors.Tensor{
			{Name: "input_ids", DType: safetensors.I64, Shape: []int{4, 1}, Data: ints},
			{Name: "labels", DType: safetensors.F32, Shape: []int{4}, Data: floats}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "d.safetensors")
			if err := safetensors.WriteFile(path, tc.tensors, nil); err != nil {
				t.Fatal(err)
			}
			_, err := LoadTensorDataset(path)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path)):
				t.Errorf("error %v, want one naming %s and %s", err, path, tc.want)
			}
		})
	}
}
