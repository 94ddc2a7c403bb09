package gguf

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to the GGUF reader: it must return an error or a header, and reading any
// tensor (dequantizing block types) must return an error or values, never panic.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good.gguf")
	if err := WriteFile(good, []KV{{Key: "general.architecture", Value: "llama"}, {Key: "t", Value: []string{"a"}}},
		[]Tensor{{Name: "w", Type: TypeF32, Shape: []int{2, 2}, Data: make([]byte, 16)}}); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	f.Add(b)
	quant := filepath.Join(dir, "quant.gguf")
	if err := WriteFile(quant, []KV{{Key: "general.architecture", Value: "llama"}},
		[]Tensor{{Name: "k", Type: TypeQ4_K, Shape: []int{1, 256}, Data: make([]byte, 144)}, {Name: "q", Type: TypeQ8_0, Shape: []int{2, 32}, Data: make([]byte, 68)}}); err != nil {
		f.Fatal(err)
	}
	qb, _ := os.ReadFile(quant)
	f.Add(qb)
	f.Add(b[:40])
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "x.gguf")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		g, err := Open(p)
		if err != nil {
			return
		}
		for _, ti := range g.Tensors {
			if len(ti.Shape) <= 2 {
				n := 1
				for _, d := range ti.Shape {
					n *= d
				}
				if n >= 0 && n < 1<<20 {
					g.Float32(ti) // dequantizes block types: must error, never panic
				}
			}
		}
		g.Close()
	})
}
