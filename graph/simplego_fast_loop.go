package graph

import (
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"github.com/hift-go/hift/kernels/vecf32"
)

// ewLoop is an elementwise loop over a row-major output, collapsed: rows over the outer axes (operand strides
// sa, sb; 0 where an operand is broadcast) of contiguous runs of n elements (innermost operand strides ia, ib:
// 1, or 0 for a broadcast value).
type ewLoop struct {
	outer, sa, sb []int
	n, ia, ib     int
}

// broadcastStrides returns the strides of an operand of shape s inside the output shape os (0 on broadcast
// axes), or false if s does not broadcast to os. A size-1 operand of any rank is a scalar, as in SimpleGo.
func broadcastStrides(s, os shapes.Shape) ([]int, bool) {
	st := make([]int, os.Rank())
	if s.Size() == 1 {
		return st, true
	}
	if s.Rank() != os.Rank() {
		return nil, false
	}
	stride := 1
	for i := s.Rank() - 1; i >= 0; i-- {
		switch d := s.Dimensions[i]; {
		case d == os.Dimensions[i]:
			st[i] = stride
		case d != 1:
			return nil, false
		}
		stride *= s.Dimensions[i]
	}
	return st, true
}

// collapse drops axes of size 1 and merges each axis into the next inner one when both operands step through
// them as one (contiguously, or both broadcast), so a [B, T, D] · [1, 1, D] product becomes B·T rows of D.
func collapse(dims, sa, sb []int) ewLoop {
	var d, a, b []int // innermost first
	for i := len(dims) - 1; i >= 0; i-- {
		if dims[i] == 1 {
			continue
		}
		if k := len(d) - 1; k >= 0 &&
			(sa[i] == a[k]*d[k] || sa[i] == 0 && a[k] == 0) &&
			(sb[i] == b[k]*d[k] || sb[i] == 0 && b[k] == 0) {
			d[k] *= dims[i]
			continue
		}
		d, a, b = append(d, dims[i]), append(a, sa[i]), append(b, sb[i])
	}
	if len(d) == 0 {
		return ewLoop{n: 1}
	}
	l := ewLoop{n: d[0], ia: a[0], ib: b[0]}
	for k := len(d) - 1; k >= 1; k-- {
		l.outer, l.sa, l.sb = append(l.outer, d[k]), append(l.sa, a[k]), append(l.sb, b[k])
	}
	return l
}

// rows returns the number of runs.
func (l *ewLoop) rows() int {
	r := 1
	for _, d := range l.outer {
		r *= d
	}
	return r
}

// ok reports whether the innermost strides are ones the run kernels handle (1 or 0).
func (l *ewLoop) ok() bool { return l.ia <= 1 && l.ib <= 1 }

// parallel calls fn(o, oa, ob, n) for runs of n output elements at offset o (operands at oa, ob), split over
// the cores when large: by rows, or within the run when there is one.
func (l *ewLoop) parallel(fn func(o, oa, ob, n int)) {
	rows := l.rows()
	if rows == 1 {
		vecf32.Parallel(l.n, ewGrain, func(lo, hi int) { fn(lo, lo*l.ia, lo*l.ib, hi-lo) })
		return
	}
	vecf32.Parallel(rows, max(1, ewGrain/l.n), func(lo, hi int) { l.runRows(lo, hi, fn) })
}

// runRows runs rows [r0, r1), stepping the operand offsets like an odometer over the outer axes.
func (l *ewLoop) runRows(r0, r1 int, fn func(o, oa, ob, n int)) {
	idx := make([]int, len(l.outer))
	oa, ob := 0, 0
	for d, r := len(l.outer)-1, r0; d >= 0; d-- {
		idx[d] = r % l.outer[d]
		r /= l.outer[d]
		oa += idx[d] * l.sa[d]
		ob += idx[d] * l.sb[d]
	}
	for r := r0; r < r1; r++ {
		fn(r*l.n, oa, ob, l.n)
		for d := len(l.outer) - 1; d >= 0; d-- {
			idx[d]++
			oa += l.sa[d]
			ob += l.sb[d]
			if idx[d] < l.outer[d] {
				break
			}
			oa -= l.sa[d] * l.outer[d]
			ob -= l.sb[d] * l.outer[d]
			idx[d] = 0
		}
	}
}
