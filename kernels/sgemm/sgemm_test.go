package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// layout says how a test operand is laid out in memory.
type layout int

const (
	rowMajor   layout = iota // [rows, cols], ColStride 1
	transposed               // stored [cols, rows], RowStride 1
	strided                  // both strides > 1 (a slice of a larger tensor)
)

func (l layout) String() string { return [...]string{"N", "T", "S"}[l] }

// makeOperand returns a batch of nb random rows × cols matrices in layout l, and their values [b][r][c].
func makeOperand(rng *rand.Rand, nb, rows, cols int, l layout) (Operand, [][][]float32) {
	var rs, cs, size int
	switch l {
	case rowMajor:
		rs, cs, size = cols, 1, rows*cols
	case transposed:
		rs, cs, size = 1, rows, rows*cols
	case strided:
		rs, cs = 2*cols+1, 2
		size = (rows-1)*rs + (cols-1)*cs + 1
	}
	gap := 3 // batch items are separated by junk, in reverse order, to exercise the offsets
	data := make([]float32, nb*(size+gap))
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	op := Operand{Data: data, RowStride: rs, ColStride: cs}
	vals := make([][][]float32, nb)
	for b := range nb {
		off := (nb - 1 - b) * (size + gap)
		if nb > 1 {
			op.Offsets = append(op.Offsets, off)
		}
		vals[b] = make([][]float32, rows)
		for r := range rows {
			vals[b][r] = make([]float32, cols)
			for c := range cols {
				vals[b][r][c] = data[off+r*rs+c*cs]
			}
		}
	}
	return op, vals
}

// check runs one product with g and compares it against a float64 reference with the float32 summation bound
// |c − ref| ≤ K·2⁻²³·Σ|a·b| + 1e-30; it returns the largest error relative to that bound's scale.
func check(t testing.TB, g *Gemm, rng *rand.Rand, nb, M, N, K int, la, lb layout) {
	t.Helper()
	A, av := makeOperand(rng, nb, M, K, la)
	B, bv := makeOperand(rng, nb, K, N, lb)
	C := make([]float32, nb*M*N)
	for i := range C {
		C[i] = float32(math.NaN()) // C must be overwritten, not accumulated into
	}
	if err := g.Run(&Problem{M: M, N: N, K: K, A: A, B: B, C: C}); err != nil {
		t.Fatalf("%s %d×[%d×%d]·[%d×%d] %v%v: %v", g.kernel.Name, nb, M, K, K, N, la, lb, err)
	}
	maxErr, maxRel := 0.0, 0.0
	for b := range nb {
		for i := range M {
			for j := range N {
				ref, mag := 0.0, 0.0
				for p := range K {
					x := float64(av[b][i][p]) * float64(bv[b][p][j])
					ref += x
					mag += math.Abs(x)
				}
				got := float64(C[(b*M+i)*N+j])
				e := math.Abs(got - ref)
				bound := float64(K)*math.Exp2(-23)*mag + 1e-30
				if !(e <= bound) {
					t.Fatalf("%s threads=%d %d×[%d×%d]·[%d×%d] %v%v: C[%d,%d,%d] = %g, reference %g (|err| %.3g > bound %.3g)",
						g.kernel.Name, g.threads, nb, M, K, K, N, la, lb, b, i, j, got, ref, e, bound)
				}
				maxErr = max(maxErr, e)
				if mag > 0 {
					maxRel = max(maxRel, e/mag)
				}
			}
		}
	}
	if testing.Verbose() {
		t.Logf("%s threads=%d %d×[%d×%d]·[%d×%d] %v%v: max |err| %.3g, max |err|/Σ|ab| %.3g", g.kernel.Name, g.threads,
			nb, M, K, K, N, la, lb, maxErr, maxRel)
	}
}

// TestKernelsMatchReference forces every kernel this CPU can run (the portable Go one included) through shapes
// of 1, odd sizes, non-multiples of every tile and sizes past every cache block, in every layout, batched or
// not, on one and on three threads.
func TestKernelsMatchReference(t *testing.T) {
	shapes := [][3]int{ // M, N, K
		{1, 1, 1}, {1, 37, 5}, {13, 1, 7}, {12, 32, 1}, {6, 16, 3}, {25, 33, 17},
		{7, 19, 300}, {200, 530, 40}, {61, 45, 513}, {3, 700, 9},
	}
	for _, k := range Kernels() {
		for _, threads := range []int{1, 3} {
			g := New(k, threads)
			t.Run(fmt.Sprintf("%s/threads=%d", k.Name, threads), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, uint64(threads)))
				for _, s := range shapes {
					for _, la := range []layout{rowMajor, transposed, strided} {
						for _, lb := range []layout{rowMajor, transposed, strided} {
							check(t, g, rng, 1, s[0], s[1], s[2], la, lb)
						}
					}
					check(t, g, rng, 3, s[0], s[1], s[2], rowMajor, transposed)
				}
				// Many small batched products take the one-product-per-worker path.
				check(t, g, rng, 9, 17, 23, 11, transposed, rowMajor)
			})
		}
	}
}

// TestRunRejectsBadViews checks that views reaching outside their slices are errors and C is left alone.
func TestRunRejectsBadViews(t *testing.T) {
	g := New(Best(), 2)
	a := make([]float32, 6)
	C := []float32{7, 7, 7, 7}
	cases := map[string]*Problem{
		"A too short":     {M: 2, N: 2, K: 4, A: Operand{Data: a, RowStride: 4, ColStride: 1}, B: Operand{Data: make([]float32, 8), RowStride: 2, ColStride: 1}, C: C},
		"C too short":     {M: 2, N: 3, K: 3, A: Operand{Data: a, RowStride: 3, ColStride: 1}, B: Operand{Data: make([]float32, 9), RowStride: 3, ColStride: 1}, C: C},
		"offsets differ":  {M: 1, N: 1, K: 1, A: Operand{Data: a, Offsets: []int{0, 1}, ColStride: 1}, B: Operand{Data: a, ColStride: 1}, C: C},
		"negative offset": {M: 1, N: 1, K: 1, A: Operand{Data: a, Offsets: []int{-1}}, B: Operand{Data: a, Offsets: []int{0}}, C: C},
		"negative stride": {M: 2, N: 1, K: 1, A: Operand{Data: a, RowStride: -1}, B: Operand{Data: a}, C: C},
	}
	for name, p := range cases {
		if err := g.Run(p); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
		for i, v := range C {
			if v != 7 {
				t.Fatalf("%s: C[%d] changed to %g", name, i, v)
			}
		}
	}
}

// FuzzRun checks random small shapes, layouts and thread counts against the float64 reference, for the best
// kernel and the portable one.
func FuzzRun(f *testing.F) {
	f.Add(uint8(13), uint8(33), uint8(7), uint8(0), uint8(1), uint64(1))
	f.Add(uint8(1), uint8(1), uint8(0), uint8(5), uint8(3), uint64(2))
	f.Add(uint8(25), uint8(64), uint8(255), uint8(7), uint8(2), uint64(3))
	f.Fuzz(func(t *testing.T, m, n, k, lay, nb uint8, seed uint64) {
		M, N, K := int(m%64)+1, int(n%80)+1, int(k)
		batch := int(nb%4) + 1
		la, lb := layout(lay%3), layout(lay/3%3)
		rng := rand.New(rand.NewPCG(seed, 7))
		for _, kern := range []*Kernel{Best(), generic} {
			check(t, New(kern, int(lay>>6)+1), rng, batch, M, N, max(K, 1), la, lb)
		}
		// K = 0 is a product of empty sums: zeros.
		if K == 0 {
			C := []float32{1, 2}
			if err := New(Best(), 2).Run(&Problem{M: 1, N: 2, K: 0, C: C}); err != nil || C[0] != 0 || C[1] != 0 {
				t.Fatalf("K=0: C=%v err=%v", C, err)
			}
		}
	})
}
