package gguf

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refEncoders are the frozen encoders of quant_ref_bench_test.go, by type.
var refEncoders = map[uint32]func(x []float32, y []byte){
	TypeQ8_0: refQuantQ8_0,
	TypeQ4_0: refQuantQ4_0,
	TypeQ4_1: refQuantQ4_1,
	TypeQ5_0: refQuantQ5_0,
	TypeQ5_1: refQuantQ5_1,
	TypeQ4_K: refQuantQ4K,
	TypeQ5_K: refQuantQ5K,
	TypeQ6_K: refQuantQ6K,
}

// portableEncoders are the encoders that have an AVX2 path, run on their portable Go path.
var portableEncoders = map[uint32]func(x []float32, y []byte){
	TypeQ8_0: func(x []float32, y []byte) { quantQ8_0With(x, y, false) },
	TypeQ4_0: func(x []float32, y []byte) { quantQ4_0With(x, y, false) },
	TypeQ6_K: func(x []float32, y []byte) { quantQ6KWith(x, y, false) },
	TypeQ4_K: func(x []float32, y []byte) { quantQ4KWith(x, y, false) },
	TypeQ5_K: func(x []float32, y []byte) { quantQ5KWith(x, y, false) },
}

// hardRows builds rows of rowLen values meant to reach every branch of the encoders: Gaussian weights with
// outliers, uniform values, constant and all-zero blocks, blocks with one non-zero value, all-positive and
// all-negative blocks (the min > 0 clamp of the K-quant fit), tiny and subnormal values (the 1e-15 group
// threshold), large values, small integers and halves (exact rounding ties), and values that are already on
// a quantization grid (re-quantizing a dequantized tensor).
func hardRows(rowLen int) ([]float32, []string) {
	rng := rand.New(rand.NewPCG(7, 11))
	var out []float32
	var kinds []string
	add := func(kind string, f func(i int) float32) {
		for range 32 {
			for i := range rowLen {
				out = append(out, f(i))
			}
			kinds = append(kinds, kind)
		}
	}
	add("gaussian", func(int) float32 { return float32(rng.NormFloat64() * 0.02) })
	add("gaussian+outliers", func(int) float32 {
		if rng.IntN(97) == 0 {
			return float32(rng.NormFloat64() * 3)
		}
		return float32(rng.NormFloat64() * 0.02)
	})
	add("uniform", func(int) float32 { return rng.Float32()*2 - 1 })
	add("zero/constant blocks", func(i int) float32 {
		switch (i / 32) % 4 {
		case 0:
			if i%2 == 0 {
				return float32(math.Copysign(0, -1)) // -0 first: Q4_0's sign of zero
			}
			return 0
		case 1:
			return 0.75
		case 2:
			return -1.25
		}
		return float32(rng.NormFloat64())
	})
	add("one non-zero per block", func(i int) float32 {
		if i%32 == 5 {
			return float32(rng.NormFloat64())
		}
		return 0
	})
	add("one-signed blocks", func(i int) float32 {
		v := float32(math.Abs(rng.NormFloat64())) + 0.1
		if (i/16)%2 == 1 {
			return -v
		}
		return v
	})
	add("tiny", func(int) float32 { return float32(rng.NormFloat64() * 1e-16) })
	add("subnormal", func(int) float32 { return float32(rng.NormFloat64() * 1e-39) })
	add("large", func(int) float32 { return float32(rng.NormFloat64() * 3e4) })
	add("rounding edges", func(i int) float32 { // Q8_0 scale 1: the quants are these values rounded
		if i%32 == 0 {
			return 127
		}
		h := float32(rng.IntN(253)-126) + 0.5
		switch rng.IntN(3) {
		case 0:
			return math.Nextafter32(h, 0)
		case 1:
			return math.Nextafter32(h, 1000)
		}
		return h
	})
	add("huge", func(int) float32 { return float32(rng.NormFloat64() * 1e19) })
	add("small integers", func(int) float32 { return float32(rng.IntN(33) - 16) })
	add("halves", func(int) float32 { return float32(rng.IntN(65)-32) / 2 })
	add("sparse", func(int) float32 {
		if rng.IntN(5) == 0 {
			return float32(rng.NormFloat64())
		}
		return 0
	})
	for _, typ := range []uint32{TypeQ4_K, TypeQ6_K, TypeQ4_0} { // values on the grid of a previous quantization
		q, _ := Quantize(typ, out[:32*rowLen], rowLen)
		y, _ := Dequantize(typ, q, 32*rowLen)
		out = append(out, y...)
		for range 32 {
			kinds = append(kinds, "dequantized "+TypeName(typ))
		}
	}
	return out, kinds
}

// TestQuantizeMatchesFrozenReference: every tuned encoder writes exactly the bytes of the frozen reference
// copy on the hard rows (through Quantize, rows in parallel, and directly one row at a time).
func TestQuantizeMatchesFrozenReference(t *testing.T) {
	const rowLen = 512
	x, kinds := hardRows(rowLen)
	rows := len(x) / rowLen
	for _, typ := range []uint32{TypeQ8_0, TypeQ4_0, TypeQ4_1, TypeQ5_0, TypeQ5_1, TypeQ4_K, TypeQ5_K, TypeQ6_K} {
		ti := typeInfos[typ]
		rowBytes := rowLen / ti.block * ti.bytes
		got, err := Quantize(typ, x, rowLen)
		if err != nil {
			t.Fatalf("%s: %v", ti.name, err)
		}
		want := make([]byte, rows*rowBytes)
		for r := range rows {
			refEncoders[typ](x[r*rowLen:(r+1)*rowLen], want[r*rowBytes:(r+1)*rowBytes])
		}
		if enc, ok := portableEncoders[typ]; ok { // the portable path gives the same bytes too
			port := make([]byte, len(want))
			for r := range rows {
				enc(x[r*rowLen:(r+1)*rowLen], port[r*rowBytes:(r+1)*rowBytes])
			}
			if !bytes.Equal(port, want) {
				t.Errorf("%s: the portable encoder differs from the reference", ti.name)
			}
		}
		bad := 0
		for r := range rows {
			g, w := got[r*rowBytes:(r+1)*rowBytes], want[r*rowBytes:(r+1)*rowBytes]
			if !bytes.Equal(g, w) {
				if bad < 3 {
					i := 0
					for g[i] == w[i] {
						i++
					}
					t.Errorf("%s: row %d (%s) differs from the reference at byte %d (block %d, offset %d): %d, want %d", ti.name, r, kinds[r], i, i/ti.bytes, i%ti.bytes, g[i], w[i])
				}
				bad++
			}
		}
		t.Logf("%s: %d of %d rows (%d kinds) identical to the frozen reference", ti.name, rows-bad, rows, rows/32)
	}
}

// BenchmarkEncodeRow measures one block type's row encoder on one goroutine, the tuned one against the
// frozen reference, on 256 Gaussian rows of 4096 (4 MiB of float32). MB/s is of float32 input.
func BenchmarkEncodeRow(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, cols = 256, 4096
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 0.02)
	}
	for _, typ := range []uint32{TypeQ8_0, TypeQ4_0, TypeQ4_1, TypeQ5_0, TypeQ5_1, TypeQ4_K, TypeQ5_K, TypeQ6_K} {
		ti := typeInfos[typ]
		rowBytes := cols / ti.block * ti.bytes
		out := make([]byte, rows*rowBytes)
		for _, v := range []struct {
			name string
			enc  func(x []float32, y []byte)
		}{{"tuned", encoders[typ]}, {"ref", refEncoders[typ]}} {
			b.Run(fmt.Sprintf("%s/%s", ti.name, v.name), func(b *testing.B) {
				b.SetBytes(int64(4 * len(x)))
				for b.Loop() {
					for r := range rows {
						v.enc(x[r*cols:(r+1)*cols], out[r*rowBytes:(r+1)*rowBytes])
					}
				}
			})
		}
	}
}
