// Package vecf32 holds float32 elementwise and reduction loops for the CPU in pure Go (no cgo, no GoMLX):
// binary arithmetic on vector/vector, vector/scalar and scalar/vector operands, polynomial exp, sigmoid and
// tanh, and row/column reductions. hift's SimpleGo hooks (graph/simplego_fast_ew.go) call them on contiguous
// runs, after collapsing a broadcast into as few runs as possible.
package vecf32

// Op is a binary arithmetic operation.
type Op int

// The binary operations.
const (
	Add Op = iota
	Sub
	Mul
	Div
)

// String names the operation.
func (op Op) String() string { return [...]string{"Add", "Sub", "Mul", "Div"}[op] }

// The AVX-512 loops, by Op (32 elements at a time).
var (
	vvAVX512 = [...]func(dst, a, b *float32, n int){vvAddAVX512, vvSubAVX512, vvMulAVX512, vvDivAVX512}
	vsAVX512 = [...]func(dst, a *float32, s float32, n int){vsAddAVX512, vsSubAVX512, vsMulAVX512, vsDivAVX512}
	svAVX512 = [...]func(dst *float32, s float32, b *float32, n int){svAddAVX512, svSubAVX512, svMulAVX512, svDivAVX512}
)

// VV sets dst[i] = a[i] op b[i]; the slices have the same length (dst may be a or b).
func VV(op Op, dst, a, b []float32) { vv(op, dst, a, b, hasAVX512) }

func vv(op Op, dst, a, b []float32, vec bool) {
	a, b = a[:len(dst)], b[:len(dst)]
	if n := len(dst) &^ 31; vec && n > 0 {
		vvAVX512[op](&dst[0], &a[0], &b[0], n)
		dst, a, b = dst[n:], a[n:], b[n:]
	}
	switch op {
	case Add:
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	case Sub:
		for i := range dst {
			dst[i] = a[i] - b[i]
		}
	case Mul:
		for i := range dst {
			dst[i] = a[i] * b[i]
		}
	case Div:
		for i := range dst {
			dst[i] = a[i] / b[i]
		}
	}
}

// VS sets dst[i] = a[i] op s.
func VS(op Op, dst, a []float32, s float32) { vs(op, dst, a, s, hasAVX512) }

func vs(op Op, dst, a []float32, s float32, vec bool) {
	a = a[:len(dst)]
	if n := len(dst) &^ 31; vec && n > 0 {
		vsAVX512[op](&dst[0], &a[0], s, n)
		dst, a = dst[n:], a[n:]
	}
	switch op {
	case Add:
		for i := range dst {
			dst[i] = a[i] + s
		}
	case Sub:
		for i := range dst {
			dst[i] = a[i] - s
		}
	case Mul:
		for i := range dst {
			dst[i] = a[i] * s
		}
	case Div:
		for i := range dst {
			dst[i] = a[i] / s
		}
	}
}

// SV sets dst[i] = s op b[i].
func SV(op Op, dst []float32, s float32, b []float32) { sv(op, dst, s, b, hasAVX512) }

func sv(op Op, dst []float32, s float32, b []float32, vec bool) {
	b = b[:len(dst)]
	if n := len(dst) &^ 31; vec && n > 0 {
		svAVX512[op](&dst[0], s, &b[0], n)
		dst, b = dst[n:], b[n:]
	}
	switch op {
	case Add:
		for i := range dst {
			dst[i] = s + b[i]
		}
	case Sub:
		for i := range dst {
			dst[i] = s - b[i]
		}
	case Mul:
		for i := range dst {
			dst[i] = s * b[i]
		}
	case Div:
		for i := range dst {
			dst[i] = s / b[i]
		}
	}
}

// Scalar returns a op b.
func Scalar(op Op, a, b float32) float32 {
	switch op {
	case Add:
		return a + b
	case Sub:
		return a - b
	case Mul:
		return a * b
	default:
		return a / b
	}
}
