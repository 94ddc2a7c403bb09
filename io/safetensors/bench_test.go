package safetensors

import (
	"path/filepath"
	"testing"
)

// BenchmarkLoad measures opening a 64 MiB single-file checkpoint and converting every tensor to float32.
//
//	go test ./io/safetensors -run XXX -bench Load
func BenchmarkLoad(b *testing.B) {
	path := filepath.Join(b.TempDir(), "model.safetensors")
	var ts []Tensor
	for i := 0; i < 16; i++ {
		vals := make([]float32, 1<<20) // 4 MiB each
		for j := range vals {
			vals[j] = float32(j%977) * 1e-3
		}
		data, _ := EncodeFloat32(F32, vals)
		ts = append(ts, Tensor{Name: "layers." + string(rune('a'+i)) + ".weight", DType: F32, Shape: []int{1024, 1024}, Data: data})
	}
	if err := WriteFile(path, ts, nil); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ck, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range ck.Names() {
			if _, err := ck.Float32(n); err != nil {
				b.Fatal(err)
			}
		}
		ck.Close()
	}
}
