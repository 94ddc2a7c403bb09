package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// hostFloat16 rounds v to the nearest float16 value (ties to even), |v| < 65504, in float64 on the host.
func hostFloat16(v float32) float32 {
	x := float64(v)
	q := math.Ldexp(1, -24) // subnormal spacing
	if math.Abs(x) >= math.Ldexp(1, -14) {
		_, e := math.Frexp(x) // |x| = m·2^e, m ∈ [0.5, 1)
		q = math.Ldexp(1, e-11)
	}
	return float32(math.RoundToEven(x/q) * q)
}

// hostGGMLGELU is ggml's ggml_vec_gelu_f32 with GGML_GELU_FP16 (ggml-cpu/vec.h), evaluated on the host.
func hostGGMLGELU(x float32) float32 {
	switch {
	case x <= -10:
		return 0
	case x >= 10:
		return x
	}
	// In float32, each operation rounded (the conversions keep Go from fusing them), tanh as float32(tanh).
	h := hostFloat16(x)
	inner := float32(float32(float32(math.Sqrt(2/math.Pi))*h) * float32(1+float32(float32(0.044715)*h)*h))
	th := float32(math.Tanh(float64(inner)))
	return hostFloat16(float32(float32(0.5)*h) * float32(1+th))
}

// geluTestValues: every float16 value in (−11, 11), the midpoints between neighbours (exact ties), values
// just beside ±10, and random float32 values of all magnitudes up to 20.
func geluTestValues() []float32 {
	var vals []float32
	prev := float32(math.NaN())
	for bits := 0; bits < 1<<16; bits++ {
		if bits&0x7C00 == 0x7C00 { // Inf and NaN
			continue
		}
		sign := 1.0
		if bits&0x8000 != 0 {
			sign = -1
		}
		exp, man := (bits>>10)&0x1F, float64(bits&0x3FF)
		v := sign * math.Ldexp(man, -24)
		if exp > 0 {
			v = sign * math.Ldexp(1024+man, exp-25)
		}
		if math.Abs(v) >= 11 {
			continue
		}
		vals = append(vals, float32(v))
		if bits&0x8000 == 0 && bits&0x3FF != 0 && !math.IsNaN(float64(prev)) {
			vals = append(vals, float32((float64(prev)+v)/2)) // tie between prev and v
		}
		prev = float32(v)
	}
	vals = append(vals, 10, -10, math.Nextafter32(10, 0), math.Nextafter32(-10, 0), math.Nextafter32(10, 20))
	r := rand.New(rand.NewPCG(5, 6))
	for range 1 << 15 {
		vals = append(vals, float32(r.NormFloat64()*math.Pow(10, float64(r.IntN(7)-5))))
		vals = append(vals, float32(r.Float64()*40-20))
	}
	return vals
}

// TestGGMLGELUEmulation: roundFloat16 equals round-to-nearest-even float16 exactly, and ggmlGELU equals
// ggml's table GELU computed on the host (tanh in float64 there; the float32 Tanh of the graph may land on the
// other side of a float16 rounding boundary, so up to one value in 10⁴ may differ by one float16 step).
func TestGGMLGELUEmulation(t *testing.T) {
	vals := geluTestValues()
	exec, err := NewExec(testBackend(t), func(x *Node) (*Node, *Node) { return roundFloat16(x), Activation(actGGMLGELU, x) })
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(vals, len(vals)))
	if err != nil {
		t.Fatal(err)
	}
	rounded, gelu := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
	badRound, badGELU, maxStep := 0, 0, 0.0
	for i, v := range vals {
		if want := hostFloat16(v); rounded[i] != want {
			if badRound < 5 {
				t.Errorf("roundFloat16(%g) = %g, want %g", v, rounded[i], want)
			}
			badRound++
		}
		if want := hostGGMLGELU(v); gelu[i] != want {
			_, e := math.Frexp(float64(want))
			maxStep = math.Max(maxStep, math.Abs(float64(gelu[i]-want))/math.Ldexp(1, max(e-11, -24))) // float16 steps
			badGELU++
		}
	}
	t.Logf("%d values: %d roundings differ from RNE float16, %d GELU values differ from the host's (at most %.3g float16 steps)",
		len(vals), badRound, badGELU, maxStep)
	if badRound > 0 {
		t.Errorf("%d of %d roundings differ from round-to-nearest-even float16", badRound, len(vals))
	}
	if badGELU > len(vals)/10000 || maxStep > 1 {
		t.Errorf("%d of %d GELU values differ from ggml's table (max %g float16 steps)", badGELU, len(vals), maxStep)
	}
}
