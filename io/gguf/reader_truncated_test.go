package gguf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenTruncatedSaysTruncated: a GGUF cut anywhere in its header, keys or tensor infos is refused by Open
// with an error saying the file is truncated and its size (it said only "unexpected EOF" inside the keys).
func TestOpenTruncatedSaysTruncated(t *testing.T) {
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.gguf")
	kvs := []KV{{"general.architecture", "llama"}, {"tokenizer.ggml.tokens", []string{"a", "b", "c"}}, {"x.scores", []float32{1, 2, 3}}}
	ts := []Tensor{{Name: "w", Type: TypeF32, Shape: []int{2, 4}, Data: make([]byte, 32)}}
	if err := WriteFile(whole, kvs, ts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Open(whole)
	if err != nil {
		t.Fatal(err)
	}
	headerEnd := int(g.dataStart)
	g.Close()
	n := 0
	for cut := 5; cut < headerEnd; cut += 3 {
		f := filepath.Join(dir, "cut.gguf")
		if err := os.WriteFile(f, b[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		g, err := Open(f)
		if err == nil {
			g.Close()
			if cut < headerEnd-Alignment { // only the padding before the data may be missing
				t.Errorf("cut at %d of %d header bytes: opened", cut, headerEnd)
			}
			continue
		}
		n++
		if !strings.Contains(err.Error(), "truncated") {
			t.Errorf("cut at %d: %v; want it called truncated", cut, err)
		}
	}
	t.Logf("%d cuts inside the %d-byte header refused as truncated", n, headerEnd)
}
