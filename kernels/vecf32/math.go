package vecf32

import "math"

// exp32 range: inside it the reduction 2ⁿ·e^r has a normal 2ⁿ; outside (and for NaN) math.Exp decides.
const (
	expLo = -87.0
	expHi = 88.0
)

// Exp32 returns e^x rounded to float32, almost always exactly as float32(math.Exp(x)) (which SimpleGo computes):
// x = n·ln2 + r with |r| ≤ ln2/2, e^r by its degree-9 Taylor polynomial in float64 (relative error < 1e-11),
// times 2ⁿ built in the exponent bits, then one rounding to float32. Out of range (over/underflow, subnormals,
// NaN, ±Inf) it returns float32(math.Exp(x)).
func Exp32(x float32) float32 {
	if !(x > expLo && x < expHi) {
		return float32(math.Exp(float64(x)))
	}
	return float32(expPoly(float64(x)))
}

// expPoly is e^x in float64 (relative error < 1e-11) for expLo < x < expHi; small enough to inline in loops.
func expPoly(x float64) float64 {
	const (
		log2e = 1.44269504088896341
		ln2   = 0.693147180559945309
		magic = 6755399441055744 // 1.5·2⁵²: adding it rounds to an integer
	)
	n := (x*log2e + magic) - magic
	r := x - n*ln2 // exact enough: |n| ≤ 127, so n·ln2's rounding error is < 2⁻⁴⁵
	p := (((((((((1.0/362880)*r+1.0/40320)*r+1.0/5040)*r+1.0/720)*r+1.0/120)*r+1.0/24)*r+1.0/6)*r+0.5)*r+1)*r + 1
	return p * math.Float64frombits(uint64(int64(n)+1023)<<52)
}

// Exp sets dst[i] = e^src[i] (Exp32), 8 at a time with AVX-512 where the CPU has it.
func Exp(dst, src []float32) { expSlice(dst, src, hasAVX512) }

func expSlice(dst, src []float32, vec bool) {
	src = src[:len(dst)]
	if n := len(dst) &^ 7; vec && n > 0 {
		expAVX512(&dst[0], &src[0], n)
		dst, src = dst[n:], src[n:]
	}
	for i, x := range src {
		if x > expLo && x < expHi {
			dst[i] = float32(expPoly(float64(x)))
		} else {
			dst[i] = float32(math.Exp(float64(x)))
		}
	}
}

// Logistic sets dst[i] = 1/(1+e^−src[i]), computed as e^x/(1+e^x) for negative x so small results keep their
// relative precision, in float64 and rounded once (as SimpleGo does); 8 at a time with AVX-512 where the CPU has
// it.
func Logistic(dst, src []float32) { logisticSlice(dst, src, hasAVX512) }

func logisticSlice(dst, src []float32, vec bool) {
	src = src[:len(dst)]
	if n := len(dst) &^ 7; vec && n > 0 {
		logisticAVX512(&dst[0], &src[0], n)
		dst, src = dst[n:], src[n:]
	}
	for i, x := range src {
		switch {
		case x >= 0 && x < -expLo:
			dst[i] = float32(1 / (1 + expPoly(-float64(x))))
		case x < 0 && x > expLo:
			e := expPoly(float64(x))
			dst[i] = float32(e / (1 + e))
		case x >= 0:
			dst[i] = 1 / (1 + Exp32(-x))
		default:
			e := Exp32(x)
			dst[i] = e / (1 + e)
		}
	}
}

// Tanh32 returns tanh(x) rounded to float32, almost always as float32(math.Tanh(x)) (which SimpleGo computes):
// in float64, x − x³/3 + 2x⁵/15 for |x| < 2⁻¹⁰ and 1 − 2/(e^{2|x|}+1) with x's sign up to |x| = 10, ±1 beyond.
func Tanh32(x32 float32) float32 {
	x := float64(x32)
	ax := math.Abs(x)
	switch {
	case ax < 1.0/1024:
		z := x * x
		return float32(x - x*z*(1.0/3) + x*z*z*(2.0/15))
	case ax < 10:
		y := 1 - 2/(expPoly(2*ax)+1)
		if x < 0 {
			y = -y
		}
		return float32(y)
	case x != x:
		return x32
	default:
		return float32(math.Copysign(1, x))
	}
}

// Tanh sets dst[i] = tanh(src[i]) (Tanh32).
func Tanh(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = Tanh32(x)
	}
}
