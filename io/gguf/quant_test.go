package gguf

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// TestQuantizeMatchesGGML: every block type encodes the fixture rows to exactly the bytes of ggml's own
// quantize_row_*_ref (scripts/ggml_quant_ref.py ran it through ctypes), and decodes those bytes to exactly
// ggml's dequantize_row_* values.
func TestQuantizeMatchesGGML(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "fixtures", "ggml_quant")
	in := readF32(t, filepath.Join(dir, "input.f32"))
	for _, name := range []string{"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"} {
		typ, ok := ParseType(name)
		if !ok {
			t.Fatalf("ParseType(%q) failed", name)
		}
		want, err := os.ReadFile(filepath.Join(dir, name+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Quantize(typ, in, 512)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		diff, first := 0, -1
		for i := range want {
			if i < len(got) && got[i] != want[i] {
				if first < 0 {
					first = i
				}
				diff++
			}
		}
		bs := typeInfos[typ].bytes
		if len(got) != len(want) || diff != 0 {
			t.Errorf("%s: %d of %d bytes differ from ggml (len %d vs %d), first at byte %d (block %d, offset %d)", name, diff, len(want), len(got), len(want), first, first/bs, first%bs)
		}
		deq, err := Dequantize(typ, want, len(in))
		if err != nil {
			t.Fatal(err)
		}
		ref := readF32(t, filepath.Join(dir, name+".deq.f32"))
		worst := 0.0
		for i := range ref {
			worst = math.Max(worst, math.Abs(float64(deq[i]-ref[i])))
		}
		t.Logf("%s: %d bytes equal to ggml's; dequantized max |Δ| vs ggml %g", name, len(want)-diff, worst)
		if worst != 0 {
			t.Errorf("%s: dequantization differs from ggml by %g", name, worst)
		}
	}
}

// TestQuantRoundTripBounds: on Gaussian rows the round-trip RMS error relative to the row RMS stays under
// each type's bound (the uniform-quantiser error step/sqrt(12) of a block's range, with margin) and the
// types order by accuracy: f16 < q8_0 < q6_k < q5_k < q5_0 and q4_k < q4_0.
func TestQuantRoundTripBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, cols = 64, 1024
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 0.02)
	}
	bounds := []struct {
		name  string
		bound float64
	}{{"f16", 1e-3}, {"q8_0", 0.007}, {"q6_k", 0.022}, {"q5_k", 0.045}, {"q5_1", 0.05}, {"q5_0", 0.055}, {"q4_k", 0.09}, {"q4_1", 0.1}, {"q4_0", 0.11}}
	var rms float64
	for _, v := range x {
		rms += float64(v) * float64(v)
	}
	rms = math.Sqrt(rms / float64(len(x)))
	errs := map[string]float64{}
	for _, b := range bounds {
		typ, _ := ParseType(b.name)
		q, err := Quantize(typ, x, cols)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := TensorBytes(typ, []int{rows, cols}); int(n) != len(q) {
			t.Errorf("%s: TensorBytes %d, Quantize wrote %d", b.name, n, len(q))
		}
		y, err := Dequantize(typ, q, len(x))
		if err != nil {
			t.Fatal(err)
		}
		var se float64
		for i := range x {
			d := float64(x[i] - y[i])
			se += d * d
		}
		rel := math.Sqrt(se/float64(len(x))) / rms
		t.Logf("%-5s %.2f bits/weight: relative RMS error %.4g (bound %g)", b.name, float64(len(q))*8/float64(len(x)), rel, b.bound)
		if rel > b.bound {
			t.Errorf("%s: relative RMS error %g > %g", b.name, rel, b.bound)
		}
		errs[b.name] = rel
	}
	for _, chain := range [][]string{{"f16", "q8_0", "q6_k", "q5_k", "q5_0"}, {"q4_k", "q4_0"}, {"q5_1", "q4_1"}} {
		for i := 1; i < len(chain); i++ {
			if errs[chain[i-1]] >= errs[chain[i]] {
				t.Errorf("%s (%g) should be more accurate than %s (%g)", chain[i-1], errs[chain[i-1]], chain[i], errs[chain[i]])
			}
		}
	}
	if _, err := Quantize(TypeQ4_K, x[:100], 100); err == nil {
		t.Error("Q4_K on rows of 100 elements should be refused")
	}
	x[5] = float32(math.NaN())
	if _, err := Quantize(TypeQ8_0, x, cols); err == nil {
		t.Error("a NaN weight should be refused")
	}
}

// BenchmarkQuantize measures each block type's encoder on a 4096×1024 float32 matrix (16 MiB), rows in
// parallel on GOMAXPROCS goroutines; MB/s is of float32 input.
func BenchmarkQuantize(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, cols = 4096, 1024
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 0.02)
	}
	for _, name := range []string{"f16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"} {
		typ, _ := ParseType(name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				if _, err := Quantize(typ, x, cols); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
