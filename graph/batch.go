package graph

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/safetensors"
)

// LoadBatch reads a batch file as written by the fixtures: int64 input_ids, attention_mask, token_type_ids,
// start_positions, end_positions, and labels (integer, or float for regression / multi-label). Any other tensor
// name, a non-integer id tensor, or shapes that disagree with input_ids are errors naming the file.
func LoadBatch(path string) (map[string]*tensors.Tensor, error) {
	ck, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	return BatchFromCheckpoint(ck, path)
}

// BatchFromCheckpoint is LoadBatch over an open checkpoint.
func BatchFromCheckpoint(ck *safetensors.Checkpoint, path string) (map[string]*tensors.Tensor, error) {
	out := map[string]*tensors.Tensor{}
	var unknown []string
	for _, name := range ck.Names() {
		if !slices.Contains(BatchInputNames, name) {
			unknown = append(unknown, name)
			continue
		}
		info, _ := ck.Info(name)
		if name == "labels" && info.DType.IsFloat() {
			v, err := ck.Float32(name)
			if err != nil {
				return nil, err
			}
			out[name] = tensors.FromFlatDataAndDimensions(v, info.Shape...)
			continue
		}
		if !info.DType.IsInteger() {
			return nil, fmt.Errorf("batch %s: tensor %q has dtype %s, want an integer type", path, name, info.DType)
		}
		v, err := ck.Int64(name)
		if err != nil {
			return nil, err
		}
		out[name] = tensors.FromFlatDataAndDimensions(v, info.Shape...)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("batch %s: unexpected tensor(s) %s (accepted: %s)", path, strings.Join(unknown, ", "), strings.Join(BatchInputNames, ", "))
	}
	ids, ok := out["input_ids"]
	if !ok {
		return nil, fmt.Errorf("batch %s: no input_ids tensor", path)
	}
	idDims := ids.Shape().Dimensions
	if len(idDims) < 2 || len(idDims) > 3 {
		return nil, fmt.Errorf("batch %s: input_ids has shape %v, want [B, T] (or [B, C, T] for multiple choice)", path, idDims)
	}
	if slices.Contains(idDims, 0) { // the graph would fail with "integer divide by zero"
		return nil, fmt.Errorf("batch %s: input_ids has shape %v: the batch is empty", path, idDims)
	}
	for _, n := range []string{"attention_mask", "token_type_ids"} {
		if t, ok := out[n]; ok && !slices.Equal(t.Shape().Dimensions, idDims) {
			return nil, fmt.Errorf("batch %s: %s has shape %v, input_ids %v", path, n, t.Shape().Dimensions, idDims)
		}
	}
	for _, n := range []string{"start_positions", "end_positions"} {
		if t, ok := out[n]; ok && !slices.Equal(t.Shape().Dimensions, idDims[:1]) {
			return nil, fmt.Errorf("batch %s: %s has shape %v, want [%d]", path, n, t.Shape().Dimensions, idDims[0])
		}
	}
	if t, ok := out["labels"]; ok && (t.Rank() == 0 || t.Shape().Dimensions[0] != idDims[0]) {
		return nil, fmt.Errorf("batch %s: labels has shape %v, batch size is %d", path, t.Shape().Dimensions, idDims[0])
	}
	if t, ok := out["labels"]; ok && t.DType() != dtypes.Float32 && t.Rank() == len(idDims) && !slices.Equal(t.Shape().Dimensions, idDims) {
		// Token-level labels (causal LM, token classification) go with every id.
		return nil, fmt.Errorf("batch %s: labels has shape %v, input_ids %v", path, t.Shape().Dimensions, idDims)
	}
	return out, nil
}
