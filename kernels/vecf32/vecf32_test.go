package vecf32

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// ulps returns the distance in float32 units in the last place between got and the float64 reference.
func ulps(got float32, want float64) float64 {
	w := float32(want)
	if got == w {
		return 0
	}
	ulp := math.Abs(float64(math.Nextafter32(w, float32(math.Inf(1)))) - float64(w))
	return math.Abs(float64(got)-want) / ulp
}

// sweep returns a dense set of arguments over [lo, hi] plus random ones.
func sweep(lo, hi float64, n int) []float32 {
	rng := rand.New(rand.NewPCG(3, 4))
	xs := make([]float32, 0, 2*n)
	for i := 0; i < n; i++ {
		xs = append(xs, float32(lo+(hi-lo)*float64(i)/float64(n-1)))
		xs = append(xs, float32(lo+(hi-lo)*rng.Float64()))
	}
	return xs
}

// paths are the implementations of the slice functions this CPU can run: the portable one always.
func paths() map[string]bool {
	if hasAVX512 {
		return map[string]bool{"go": false, "avx512": true}
	}
	return map[string]bool{"go": false}
}

// TestExp32 compares Exp32 and every Exp path with float64 math.Exp over the whole float32 range and at the
// edges (NaN, ±Inf, overflow, subnormal results).
func TestExp32(t *testing.T) {
	xs := sweep(-110, 89, 200000)
	xs = append(xs, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 88.7, 89, -87.5, -104, 0, -1e30, 1e30)
	for name, vec := range paths() {
		got := make([]float32, len(xs))
		expSlice(got, xs, vec)
		worst, at := 0.0, float32(0)
		for i, x := range xs {
			want := math.Exp(float64(x))
			if math.IsNaN(want) {
				if got[i] == got[i] {
					t.Errorf("%s: exp(NaN) = %g", name, got[i])
				}
				continue
			}
			if u := ulps(got[i], want); u > worst || math.IsNaN(u) {
				worst, at = u, x
			}
		}
		t.Logf("Exp %s: max error %.3f ulp at x = %g", name, worst, at)
		if !(worst <= 0.501) {
			t.Errorf("Exp %s: error %.3f ulp at %g > 0.501 ulp", name, worst, at)
		}
	}
	worst, at := 0.0, float32(0)
	for _, x := range sweep(-104, 89, 200000) {
		if u := ulps(Exp32(x), math.Exp(float64(x))); u > worst {
			worst, at = u, x
		}
	}
	t.Logf("Exp32: max error %.2f ulp at x = %g", worst, at)
	if worst > 0.501 { // correctly rounded from float64, as SimpleGo's float32(math.Exp(x))
		t.Errorf("Exp32 error %.3f ulp at %g > 0.501 ulp", worst, at)
	}
	for _, x := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 88.7, 89, -87.5, -104, 0, -0} {
		want := float32(math.Exp(float64(x)))
		if got := Exp32(x); got != want && !(got != got && want != want) {
			t.Errorf("Exp32(%g) = %g, want %g", x, got, want)
		}
	}
}

// TestLogisticTanh compares Logistic and Tanh with float64 references (absolute error, since outputs are O(1)).
func TestLogisticTanh(t *testing.T) {
	xs := sweep(-100, 100, 100000)
	xs = append(xs, sweep(-1, 1, 100000)...)
	xs = append(xs, sweep(-0.002, 0.002, 10000)...)
	xs = append(xs, float32(math.Inf(1)), float32(math.Inf(-1)), 0)
	lg, th := make([]float32, len(xs)), make([]float32, len(xs))
	worstL := 0.0
	for name, vec := range paths() {
		logisticSlice(lg, xs, vec)
		w := 0.0
		for i, x := range xs {
			w = math.Max(w, ulps(lg[i], 1/(1+math.Exp(-float64(x)))))
		}
		t.Logf("Logistic %s: max error %.3f ulp", name, w)
		worstL = math.Max(worstL, w)
	}
	Tanh(th, xs)
	worstT := 0.0
	for i, x := range xs {
		worstT = math.Max(worstT, ulps(th[i], math.Tanh(float64(x))))
	}
	t.Logf("Tanh: max error %.2f ulp", worstT)
	if worstL > 0.501 || worstT > 0.501 { // correctly rounded from float64, as SimpleGo's
		t.Errorf("Logistic %.2f ulp, Tanh %.2f ulp: want ≤ 0.501", worstL, worstT)
	}
	nan := float32(math.NaN())
	for _, vec := range paths() {
		in := []float32{1, nan, -3, 0, 2, -1, 5, float32(math.Inf(-1)), 7}
		out := make([]float32, len(in))
		logisticSlice(out, in, vec)
		if out[1] == out[1] || out[7] != 0 || out[3] != 0.5 {
			t.Errorf("logistic(vec=%v) of %v = %v: want NaN at 1, 0 at 7, 0.5 at 3", vec, in, out)
		}
	}
	Logistic(lg[:1], []float32{nan})
	Tanh(th[:1], []float32{nan})
	if lg[0] == lg[0] || th[0] == th[0] {
		t.Errorf("NaN in: Logistic %g, Tanh %g", lg[0], th[0])
	}
}

// TestBinary checks every operation, operand form and path against the plain float32 expression (bit for bit),
// on lengths around the 32-element vector blocks.
func TestBinary(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 31, 32, 77, 160} {
		a, b, dst := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = rng.Float32()-0.5, rng.Float32()+0.1
		}
		for name, vec := range paths() {
			for _, op := range []Op{Add, Sub, Mul, Div} {
				vv(op, dst, a, b, vec)
				for i := range dst {
					if dst[i] != Scalar(op, a[i], b[i]) {
						t.Fatalf("%s VV %v n=%d [%d]: %g", name, op, n, i, dst[i])
					}
				}
				vs(op, dst, a, b[0], vec)
				for i := range dst {
					if dst[i] != Scalar(op, a[i], b[0]) {
						t.Fatalf("%s VS %v n=%d [%d]: %g", name, op, n, i, dst[i])
					}
				}
				sv(op, dst, a[n-1], b, vec)
				for i := range dst {
					if dst[i] != Scalar(op, a[n-1], b[i]) {
						t.Fatalf("%s SV %v n=%d [%d]: %g", name, op, n, i, dst[i])
					}
				}
			}
		}
	}
	if Scalar(Add, 2, 3) != 5 || Scalar(Sub, 2, 3) != -1 || Scalar(Mul, 2, 3) != 6 || Scalar(Div, 3, 2) != 1.5 {
		t.Fatal("Scalar")
	}
}

// TestReductions checks row and column sums against float64 and maxima exactly, NaN included.
func TestReductions(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const rows, n = 5, 131
	src := make([]float32, rows*n)
	for i := range src {
		src[i] = rng.Float32()*2 - 1
	}
	sr, mr := make([]float32, rows), make([]float32, rows)
	SumRows(sr, src, n)
	MaxRows(mr, src, n)
	for i := 0; i < rows; i++ {
		s, m := 0.0, math.Inf(-1)
		for j := 0; j < n; j++ {
			s += float64(src[i*n+j])
			m = math.Max(m, float64(src[i*n+j]))
		}
		if math.Abs(float64(sr[i])-s) > 1e-5 || float64(mr[i]) != m {
			t.Errorf("row %d: sum %g (want %g), max %g (want %g)", i, sr[i], s, mr[i], m)
		}
	}
	sc, mc := make([]float32, n), make([]float32, n)
	SumCols(sc, src, rows, n)
	MaxCols(mc, src, rows, n)
	for j := 0; j < n; j++ {
		s, m := 0.0, math.Inf(-1)
		for i := 0; i < rows; i++ {
			s += float64(src[i*n+j])
			m = math.Max(m, float64(src[i*n+j]))
		}
		if math.Abs(float64(sc[j])-s) > 1e-5 || float64(mc[j]) != m {
			t.Errorf("col %d: sum %g (want %g), max %g (want %g)", j, sc[j], s, mc[j], m)
		}
	}
	src[7] = float32(math.NaN())
	MaxRows(mr, src, n)
	MaxCols(mc, src, rows, n)
	if mr[0] == mr[0] || mc[7] == mc[7] {
		t.Errorf("NaN must win: MaxRows %g, MaxCols %g", mr[0], mc[7])
	}
}

// BenchmarkElementwise reports ns per element of each loop on 64 Ki elements:
//
//	go test -run XXX -bench . ./kernels/vecf32
func BenchmarkElementwise(b *testing.B) {
	const n = 1 << 16
	x, y, d := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(i%200)/20-5, 1+float32(i%7)
	}
	for _, c := range []struct {
		name string
		fn   func()
	}{
		{"Mul-VV", func() { VV(Mul, d, x, y) }},
		{"Mul-VS", func() { VS(Mul, d, x, 3) }},
		{"Exp", func() { Exp(d, x) }},
		{"Logistic", func() { Logistic(d, x) }},
		{"Tanh", func() { Tanh(d, x) }},
		{"SumRows-128", func() { SumRows(d[:n/128], x, 128) }},
		{"MaxRows-128", func() { MaxRows(d[:n/128], x, 128) }},
		{"SumCols-256", func() { SumCols(d[:256], x, n/256, 256) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.fn()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
		})
	}
}

// TestParallel checks that the parts cover [0, n) exactly once, for small and large n.
func TestParallel(t *testing.T) {
	for _, n := range []int{0, 1, 5, 1000, 100003} {
		seen := make([]int32, n)
		var mu sync.Mutex
		Parallel(n, 100, func(lo, hi int) {
			mu.Lock()
			defer mu.Unlock()
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: index %d covered %d times", n, i, c)
			}
		}
	}
}
