package sgemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkShapes measures GFLOP/s per shape class of a HiFT step (LLaMA 4 × 256 at batch 4 × 128, GPT-2 124M)
// for every kernel this CPU can run, on all cores:
//
//	go test -run XXX -bench . ./kernels/sgemm
func BenchmarkShapes(b *testing.B) {
	type shape struct {
		name        string
		nb, M, N, K int
		la, lb      layout
	}
	shapes := []shape{
		{"square-512", 1, 512, 512, 512, rowMajor, rowMajor},
		{"square-1024", 1, 1024, 1024, 1024, rowMajor, rowMajor},
		{"llama-linear-x·Wt", 1, 512, 688, 256, rowMajor, transposed},  // forward: [B·T, D] · [I, D]ᵀ
		{"llama-dgrad-dY·W", 1, 512, 256, 688, rowMajor, rowMajor},     // input gradient
		{"llama-wgrad-dYt·X", 1, 688, 256, 512, transposed, rowMajor},  // weight gradient: [B·T, I]ᵀ · [B·T, D]
		{"attn-scores-16×QKt", 16, 128, 128, 64, rowMajor, transposed}, // per (batch, head)
		{"attn-values-16×PV", 16, 128, 64, 128, rowMajor, rowMajor},    // per (batch, head)
		{"gpt2-mlp-x·W", 1, 512, 3072, 768, rowMajor, rowMajor},        // Conv1D [in, out]
		{"gpt2-wgrad-Xt·dY", 1, 768, 3072, 512, transposed, rowMajor},  // Conv1D weight gradient
		{"gpt2-head-x·Et", 1, 512, 8192, 768, rowMajor, transposed},    // tied head, first 8192 tokens
	}
	for _, k := range Kernels() {
		g := New(k, 0)
		for _, s := range shapes {
			rng := rand.New(rand.NewPCG(1, 2))
			A, _ := makeOperandData(rng, s.nb, s.M, s.K, s.la)
			B, _ := makeOperandData(rng, s.nb, s.K, s.N, s.lb)
			C := make([]float32, s.nb*s.M*s.N)
			p := &Problem{M: s.M, N: s.N, K: s.K, A: A, B: B, C: C}
			b.Run(fmt.Sprintf("%s/%s", k.Name, s.name), func(b *testing.B) {
				for b.Loop() {
					if err := g.Run(p); err != nil {
						b.Fatal(err)
					}
				}
				flops := 2 * float64(s.nb*s.M*s.N*s.K) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// makeOperandData is makeOperand without the per-element copy (benchmarks need only the data).
func makeOperandData(rng *rand.Rand, nb, rows, cols int, l layout) (Operand, error) {
	rs, cs := cols, 1
	if l == transposed {
		rs, cs = 1, rows
	}
	size := rows * cols
	data := make([]float32, nb*size)
	for i := range data {
		data[i] = rng.Float32() - 0.5
	}
	op := Operand{Data: data, RowStride: rs, ColStride: cs}
	if nb > 1 {
		for b := range nb {
			op.Offsets = append(op.Offsets, b*size)
		}
	}
	return op, nil
}
