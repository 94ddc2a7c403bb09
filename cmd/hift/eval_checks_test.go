package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/io/safetensors"
)

// TestEvalChecksData: eval refuses, naming the problem, what would crash it or print a meaningless score: a
// --seq-len past the model's positions (--seq-len 100000 was a Go "fatal error: out of memory"), pretokenized
// data without labels (printed "loss 0.0000"), float ids, and ids outside the vocabulary.
func TestEvalChecksData(t *testing.T) {
	dir := t.TempDir()
	tiny := repoPath("examples", "tiny-llama")
	write := func(name string, tensors ...safetensors.Tensor) string {
		p := filepath.Join(dir, name)
		if err := safetensors.WriteFile(p, tensors, nil); err != nil {
			t.Fatal(err)
		}
		return p
	}
	i64 := func(name string, shape []int, v ...int64) safetensors.Tensor {
		b, _ := safetensors.EncodeInt64(safetensors.I64, v)
		return safetensors.Tensor{Name: name, DType: safetensors.I64, Shape: shape, Data: b}
	}
	f32, _ := safetensors.EncodeFloat32(safetensors.F32, []float32{1, 2, 3, 4})
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"seq-len past the positions", []string{"--data", repoPath("examples", "data", "opticks-books.jsonl"), "--seq-len", "100000", "--max-rows", "2"}, 2, "position limit of 512"},
		{"unknown --data-format", []string{"--data", repoPath("examples", "data", "opticks-books.jsonl"), "--data-format", "jsnl"}, 2, `did you mean "jsonl"`},
		{"no labels", []string{"--data", write("nolabels.safetensors", i64("input_ids", []int{2, 2}, 1, 2, 3, 4))}, 1, "no labels"},
		{"float ids", []string{"--data", write("float.safetensors", safetensors.Tensor{Name: "input_ids", DType: safetensors.F32, Shape: []int{2, 2}, Data: f32})}, 1, "integer type"},
		{"labels outside the vocabulary", []string{"--data", write("labels.safetensors", i64("input_ids", []int{2, 2}, 1, 2, 3, 4), i64("labels", []int{2, 2}, 1, 2, 999, 4))}, 1, "labels[0] = 999"},
		{"ids outside the vocabulary", []string{"--data", write("vocab.safetensors", i64("input_ids", []int{2, 2}, 1, 99999, 3, 4), i64("labels", []int{2, 2}, 1, 2, 3, 4))}, 1, "outside the model's vocabulary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"eval", "--model", tiny}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "goroutine") {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}
