package gguf

import (
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
	g, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if len(g.Keys) != len(kvs)+1 || !slices.Contains(g.Keys, "general.alignment") || g.KV["llama.block_count"] != uint32(2) {
		t.Errorf("keys %v", g.Keys)
	}
	if len(g.Tensors) != 2 || !slices.Equal(g.Tensors[0].Shape, []int{3, 2}) || !slices.Equal(g.Tensors[1].Shape, []int{5}) {
		t.Errorf("tensors %+v", g.Tensors)
	}
	if d, err := g.Data(g.Tensors[0]); err != nil || len(d) != 24 {
		t.Errorf("data: %v, %d bytes", err, len(d))
	}
	if len(b)%Alignment != 0 {
		t.Errorf("file length %d not aligned", len(b))
	}
	if err := WriteFile(path, nil, []Tensor{{Name: "w", Type: TypeF32, Shape: []int{4}, Data: make([]byte, 8)}}); err == nil || !strings.Contains(err.Error(), "needs 16 bytes") {
		t.Errorf("short data: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	os.WriteFile(bad, []byte("GGML...."), 0o644)
	if _, err := Open(bad); err == nil || !strings.Contains(err.Error(), "not a GGUF file") {
		t.Errorf("bad magic: %v", err)
	}
}
