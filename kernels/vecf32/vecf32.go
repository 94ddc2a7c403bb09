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

// VV sets dst[i] = a[i] op b[i]; the slices have the same length.
func VV(op Op, dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
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
func VS(op Op, dst, a []float32, s float32) {
	a = a[:len(dst)]
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
func SV(op Op, dst []float32, s float32, b []float32) {
	b = b[:len(dst)]
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
