package gguf

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWriteReadHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	kvs := []KV{{Key: "general.architecture", Value: "llama"}, {Key: "llama.block_count", Value: uint32(2)},
		{Key: "tokenizer.ggml.tokens", Value: []string{"a", "b"}}, {Key: "tokenizer.ggml.token_type", Value: []int32{1, 3}},
		{Key: "x.eps", Value: float32(1e-6)}, {Key: "x.flag", Value: true}}
	ts := []Tensor{{Name: "w", Type: TypeF32, Shape: []int{3, 2}, Data: make([]byte, 24)}, {Name: "h", Type: TypeF16, Shape: []int{5}, Data: make([]byte, 10)}}
	if err := WriteFile(path, kvs, ts); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	keys, shapes, err := ReadHeader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(kvs)+1 || !slices.Contains(keys, "general.alignment") {
		t.Errorf("keys %v", keys)
	}
	if !slices.Equal(shapes["w"], []int{3, 2}) || !slices.Equal(shapes["h"], []int{5}) {
		t.Errorf("shapes %v", shapes)
	}
	if len(b)%Alignment != 0 {
		t.Errorf("file length %d not aligned", len(b))
	}
	if err := WriteFile(path, nil, []Tensor{{Name: "w", Type: TypeF32, Shape: []int{4}, Data: make([]byte, 8)}}); err == nil || !strings.Contains(err.Error(), "needs 16 bytes") {
		t.Errorf("short data: %v", err)
	}
	if _, _, err := ReadHeader(bytes.NewReader([]byte("GGML...."))); err == nil {
		t.Error("bad magic: no error")
	}
}
