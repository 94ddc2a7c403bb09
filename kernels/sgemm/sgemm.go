// Package sgemm multiplies float32 matrices fast on the CPU, in pure Go (no cgo, no GoMLX): operands are packed
// into cache-sized blocks and multiplied by a register-tiled micro-kernel written in Go assembly (AVX-512 or
// AVX2+FMA, picked at run time from the CPU's features with golang.org/x/sys/cpu) or, on other CPUs, in plain
// Go. Products are split over the cores; operands may be transposed or strided and come in batches, which is
// what GoMLX's DotGeneral needs.
//
// The loop nest is the BLIS/GotoBLAS one: for each NC-wide block of B columns and KC-deep slice of K, B is
// packed once into NR-wide micro-panels; the rows of A are split into MC-high chunks over the workers, each of
// which packs its chunk into MR-high micro-panels and sweeps the micro-kernel over the tiles of C.
package sgemm

import (
	"fmt"
	"runtime"
	"sync"
)

// Cache blocking: a KC × MR micro-panel of A (12 KiB for AVX-512) stays in L1 while the KC × NC block of B
// (512 KiB) streams from L2. MC and NC are multiples of every kernel's MR and NR.
const (
	blockK = 256
	blockN = 512
	blockM = 192
)

// Operand is a strided view of a batch of matrices: element (r, c) of batch item b is
// Data[Offsets[b] + r·RowStride + c·ColStride]. A nil Offsets means one matrix at offset 0. A transposed
// matrix is a view with the strides swapped.
type Operand struct {
	Data                 []float32
	Offsets              []int
	RowStride, ColStride int
}

// Problem is C[b] = A[b] · B[b] for every batch item b, with A[b] of shape [M, K], B[b] of shape [K, N] and C a
// dense row-major [batch, M, N] array that is overwritten.
type Problem struct {
	M, N, K int
	A, B    Operand
	C       []float32
}

// Gemm runs products with one kernel on up to Threads cores.
type Gemm struct {
	kernel  *Kernel
	threads int
	// helpers holds one token per helper goroutine running, so concurrent calls share the cores instead of
	// oversubscribing them: a call that finds no token left does its work on its own goroutine.
	helpers chan struct{}
	bufs    sync.Pool // *[]float32 packing buffers
}

// New returns a Gemm using kernel k on up to threads cores (threads < 1 means GOMAXPROCS).
func New(k *Kernel, threads int) *Gemm {
	if threads < 1 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &Gemm{kernel: k, threads: threads, helpers: make(chan struct{}, threads-1)}
}

// Default returns the process-wide Gemm: the best kernel (see Best) on GOMAXPROCS cores.
var Default = sync.OnceValue(func() *Gemm { return New(Best(), 0) })

// Kernel returns the micro-kernel g uses.
func (g *Gemm) Kernel() *Kernel { return g.kernel }

// Threads returns the number of cores g uses at most.
func (g *Gemm) Threads() int { return g.threads }

// batch returns the number of batch items of p (validated: A and B agree).
func (p *Problem) batch() int {
	if p.A.Offsets == nil {
		return 1
	}
	return len(p.A.Offsets)
}

// validate checks that every element the product reads or writes lies inside its slice.
func (p *Problem) validate() error {
	if p.M < 0 || p.N < 0 || p.K < 0 {
		return fmt.Errorf("sgemm: negative dimensions M=%d N=%d K=%d", p.M, p.N, p.K)
	}
	if (p.A.Offsets == nil) != (p.B.Offsets == nil) || len(p.A.Offsets) != len(p.B.Offsets) {
		return fmt.Errorf("sgemm: A has %d batch offsets, B has %d", len(p.A.Offsets), len(p.B.Offsets))
	}
	nb := p.batch()
	if len(p.C) < nb*p.M*p.N {
		return fmt.Errorf("sgemm: C has %d elements, need %d (batch %d × %d × %d)", len(p.C), nb*p.M*p.N, nb, p.M, p.N)
	}
	if p.M == 0 || p.N == 0 || p.K == 0 {
		return nil
	}
	if err := p.A.check("A", p.M, p.K); err != nil {
		return err
	}
	return p.B.check("B", p.K, p.N)
}

func (o *Operand) check(name string, rows, cols int) error {
	if o.RowStride < 0 || o.ColStride < 0 {
		return fmt.Errorf("sgemm: %s has negative strides (%d, %d)", name, o.RowStride, o.ColStride)
	}
	span := (rows-1)*o.RowStride + (cols-1)*o.ColStride
	offs := o.Offsets
	if offs == nil {
		offs = []int{0}
	}
	for b, off := range offs {
		if off < 0 || off+span >= len(o.Data) {
			return fmt.Errorf("sgemm: %s batch item %d reads [%d, %d] of a slice of %d elements", name, b, off, off+span, len(o.Data))
		}
	}
	return nil
}

func (o *Operand) offset(b int) int {
	if o.Offsets == nil {
		return 0
	}
	return o.Offsets[b]
}

// Run computes p (see Problem) and returns an error, before touching C, if p's views do not fit its slices.
func (g *Gemm) Run(p *Problem) error {
	if err := p.validate(); err != nil {
		return err
	}
	nb, M, N, K := p.batch(), p.M, p.N, p.K
	if M == 0 || N == 0 {
		return nil
	}
	if K == 0 {
		clear(p.C[:nb*M*N])
		return nil
	}
	work := M * N * K
	if nb > 1 && g.threads > 1 && (nb >= 2*g.threads || work < 1<<21) {
		// Many small products (attention heads): one whole product per worker, no synchronisation inside.
		g.parallelFor(nb, g.threads, func(b int) { g.one(p, b, 1) })
		return nil
	}
	for b := 0; b < nb; b++ {
		g.one(p, b, g.threads)
	}
	return nil
}

// one computes batch item b of p on up to nt cores.
func (g *Gemm) one(p *Problem, b, nt int) {
	k := g.kernel
	M, N, K := p.M, p.N, p.K
	if M*N*K < 1<<15 {
		nt = 1
	}
	aOff, bOff := p.A.offset(b), p.B.offset(b)
	c := p.C[b*M*N : (b+1)*M*N]
	ncMax := min(blockN, roundUp(N, k.NR))
	kcMax := min(blockK, K)
	bufB := g.getBuf(ncMax * kcMax)
	defer g.putBuf(bufB)

	// Rows of A: chunks of whole micro-panels, as many as needed to stay ≤ blockM and a multiple of nt.
	mPanels := ceilDiv(M, k.MR)
	chunks := ceilDiv(mPanels, blockM/k.MR)
	chunks = min(roundUp(chunks, nt), mPanels)
	perChunk := ceilDiv(mPanels, chunks)
	mc := perChunk * k.MR
	mChunks := ceilDiv(M, mc)

	for jc := 0; jc < N; jc += blockN {
		nc := min(blockN, N-jc)
		nPanels := ceilDiv(nc, k.NR)
		// Too few row chunks for the cores (a short A): split the columns of the block too.
		nChunks := 1
		if mChunks < nt {
			nChunks = min(nt, nPanels)
		}
		for pc := 0; pc < K; pc += blockK {
			kc := min(blockK, K-pc)
			packParts := min(nt, nPanels)
			g.parallelFor(packParts, nt, func(part int) {
				p0, p1 := part*nPanels/packParts, (part+1)*nPanels/packParts
				packB(*bufB, &p.B, bOff, pc, kc, jc, p0*k.NR, min(nc, p1*k.NR), k.NR)
			})
			acc := pc > 0
			g.parallelFor(mChunks*nChunks, nt, func(job int) {
				mi, ni := job/nChunks, job%nChunks
				i0 := mi * mc
				rows := min(mc, M-i0)
				p0, p1 := ni*nPanels/nChunks, (ni+1)*nPanels/nChunks
				bufA := g.getBuf(roundUp(rows, k.MR) * kc)
				packA(*bufA, &p.A, aOff, i0, rows, pc, kc, k.MR)
				macro(k, kc, *bufA, *bufB, rows, p0, p1, c[i0*N:], N, jc, acc)
				g.putBuf(bufA)
			})
		}
	}
}

// macro sweeps the micro-kernel over the tiles of C rows [0, rows) (relative to packed A) and B micro-panels
// [p0, p1) of the block starting at column jc. Edge tiles go through a scratch tile.
func macro(k *Kernel, kc int, pa, pb []float32, rows, p0, p1 int, c []float32, ldc, jc int, acc bool) {
	mr, nr := k.MR, k.NR
	var scratch [12 * 32]float32 // the largest MR × NR
	for ir := 0; ir < rows; ir += mr {
		a := &pa[ir*kc]
		h := min(mr, rows-ir)
		for jp := p0; jp < p1; jp++ {
			j := jc + jp*nr
			w := min(nr, ldc-j)
			bp := &pb[jp*nr*kc]
			if h == mr && w == nr {
				k.micro(kc, a, bp, &c[ir*ldc+j], ldc, acc)
				continue
			}
			k.micro(kc, a, bp, &scratch[0], nr, false)
			for i := 0; i < h; i++ {
				dst := c[(ir+i)*ldc+j : (ir+i)*ldc+j+w]
				src := scratch[i*nr : i*nr+w]
				if acc {
					for x, v := range src {
						dst[x] += v
					}
				} else {
					copy(dst, src)
				}
			}
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
func roundUp(a, b int) int { return ceilDiv(a, b) * b }
