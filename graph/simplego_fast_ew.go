package graph

import (
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"github.com/hift-go/hift/kernels/vecf32"
)

// Fast float32 elementwise ops and reductions under SimpleGo (installed with the DotGeneral hook; see
// simplego_fast.go for the mechanism and its guards).
//
// SimpleGo walks a broadcast through a per-element iterator (4.9 ns per element for a broadcast Mul) and
// computes Exp and Logistic through float64 math.Exp (7–11 ns). Here a broadcast is collapsed into as few
// contiguous runs as possible (adjacent axes that step alike are merged), each run is a plain Go loop from
// kernels/vecf32, and large ops are split over the cores. Add/Sub/Mul/Div, ReduceMax, BroadcastInDim and Transpose give
// bit-identical results; Exp, Logistic and Tanh are float64 polynomials rounded once, almost always equal to
// SimpleGo's; ReduceSum accumulates in float64 (more accurate than SimpleGo's sequential float32 sum).
// Everything else (other dtypes, reductions over non-adjacent axes, very short runs) goes to SimpleGo's own.

// FastEWSkipEnv lists op names (comma-separated, e.g. "Exp,ReduceSum") to leave to SimpleGo: to find which
// op's rounding a numerically sensitive result depends on.
const FastEWSkipEnv = "HIFT_FAST_EW_SKIP"

// ewGrain is the number of elements below which an op runs on one core.
const ewGrain = 1 << 14

// fastEW holds the original executors and the Node layout for the elementwise hooks.
type fastEW struct {
	orig     map[backends.OpType]simplegoExecutor
	shapeOff uintptr // offset of simplego.Node.shape
	dataOff  uintptr // offset of simplego.Node.data
	// Calls that ran here, and calls handed to the original executors.
	fast, fallback atomic.Int64
}

// ewBinaryOps are the hooked binary ops.
var ewBinaryOps = map[backends.OpType]vecf32.Op{
	backends.OpTypeAdd: vecf32.Add, backends.OpTypeSub: vecf32.Sub,
	backends.OpTypeMul: vecf32.Mul, backends.OpTypeDiv: vecf32.Div,
}

// ewUnaryOps are the hooked unary ops.
var ewUnaryOps = map[backends.OpType]func(dst, src []float32){
	backends.OpTypeExp: vecf32.Exp, backends.OpTypeLogistic: vecf32.Logistic, backends.OpTypeTanh: vecf32.Tanh,
}

// installFastEW checks the Node layout the hooks read and installs them; it returns nil (nothing installed)
// if the layout is not the expected one.
func installFastEW(dataOff uintptr) *fastEW {
	f, ok := reflect.TypeOf(simplego.Node{}).FieldByName("shape")
	if !ok || f.Type != reflect.TypeOf(shapes.Shape{}) {
		return nil
	}
	fe := &fastEW{orig: map[backends.OpType]simplegoExecutor{}, shapeOff: f.Offset, dataOff: dataOff}
	hook := func(op backends.OpType, fn func(be *simplego.Backend, node *simplego.Node, in []*simplego.Buffer, owned []bool) (*simplego.Buffer, bool)) {
		orig := simplegoNodeExecutors[op]
		if orig == nil || slices.Contains(strings.Split(os.Getenv(FastEWSkipEnv), ","), op.String()) {
			return
		}
		fe.orig[op] = orig
		simplegoNodeExecutors[op] = func(be *simplego.Backend, node *simplego.Node, in []*simplego.Buffer, owned []bool) (*simplego.Buffer, error) {
			if out, ok := fn(be, node, in, owned); ok {
				fe.fast.Add(1)
				return out, nil
			}
			fe.fallback.Add(1)
			return orig(be, node, in, owned)
		}
	}
	for op, bop := range ewBinaryOps {
		hook(op, func(be *simplego.Backend, node *simplego.Node, in []*simplego.Buffer, owned []bool) (*simplego.Buffer, bool) {
			return fe.binary(bop, be, node, in, owned)
		})
	}
	for op, fn := range ewUnaryOps {
		hook(op, func(be *simplego.Backend, node *simplego.Node, in []*simplego.Buffer, owned []bool) (*simplego.Buffer, bool) {
			return fe.unary(fn, be, in, owned)
		})
	}
	hook(backends.OpTypeReduceSum, func(be *simplego.Backend, node *simplego.Node, in []*simplego.Buffer, _ []bool) (*simplego.Buffer, bool) {
		return fe.reduce(false, be, node, in)
	})
	hook(backends.OpTypeReduceMax, func(be *simplego.Backend, node *simplego.Node, in []*simplego.Buffer, _ []bool) (*simplego.Buffer, bool) {
		return fe.reduce(true, be, node, in)
	})
	hook(backends.OpTypeTranspose, func(be *simplego.Backend, node *simplego.Node, in []*simplego.Buffer, _ []bool) (*simplego.Buffer, bool) {
		return fe.transpose(be, node, in)
	})
	hook(backends.OpTypeBroadcastInDim, func(be *simplego.Backend, node *simplego.Node, in []*simplego.Buffer, _ []bool) (*simplego.Buffer, bool) {
		return fe.broadcastInDim(be, node, in)
	})
	return fe
}

// uninstall puts SimpleGo's executors back.
func (fe *fastEW) uninstall() {
	for op, orig := range fe.orig {
		simplegoNodeExecutors[op] = orig
	}
}

func (fe *fastEW) nodeShape(node *simplego.Node) shapes.Shape {
	return *(*shapes.Shape)(unsafe.Add(unsafe.Pointer(node), fe.shapeOff))
}

func (fe *fastEW) nodeAxes(node *simplego.Node) ([]int, bool) {
	axes, ok := (*(*any)(unsafe.Add(unsafe.Pointer(node), fe.dataOff))).([]int)
	return axes, ok
}

// f32 returns the buffer's shape and data if it is float32.
func f32(be *simplego.Backend, b *simplego.Buffer) (shapes.Shape, []float32, bool) {
	if b == nil {
		return shapes.Shape{}, nil, false
	}
	s, err := be.BufferShape(b)
	if err != nil || s.DType != dtypes.Float32 {
		return s, nil, false
	}
	flat, _ := be.BufferData(b)
	d, ok := flat.([]float32)
	return s, d, ok && len(d) == s.Size()
}

// output returns the buffer for an op's result of shape s: an owned input of that shape (taken over, as SimpleGo
// does, by clearing its slot) or a new pooled buffer.
func output(be *simplego.Backend, s shapes.Shape, in []*simplego.Buffer, owned []bool, candidates ...int) (*simplego.Buffer, []float32) {
	for _, i := range candidates {
		if i < len(owned) && owned[i] && in[i] != nil {
			if is, d, ok := f32(be, in[i]); ok && is.Equal(s) {
				buf := in[i]
				in[i] = nil
				return buf, d
			}
		}
	}
	buf := be.NewBuffer(s)
	flat, _ := be.BufferData(buf)
	return buf, flat.([]float32)
}

func (fe *fastEW) unary(fn func(dst, src []float32), be *simplego.Backend, in []*simplego.Buffer, owned []bool) (*simplego.Buffer, bool) {
	s, src, ok := f32(be, in[0])
	if !ok {
		return nil, false
	}
	buf, dst := output(be, s, in, owned, 0)
	vecf32.Parallel(len(dst), ewGrain, func(lo, hi int) { fn(dst[lo:hi], src[lo:hi]) })
	return buf, true
}

func (fe *fastEW) binary(op vecf32.Op, be *simplego.Backend, node *simplego.Node, in []*simplego.Buffer, owned []bool) (*simplego.Buffer, bool) {
	if len(in) != 2 {
		return nil, false
	}
	ls, a, ok1 := f32(be, in[0])
	rs, b, ok2 := f32(be, in[1])
	os := fe.nodeShape(node)
	if !ok1 || !ok2 || os.DType != dtypes.Float32 || os.Size() == 0 {
		return nil, false
	}
	sa, ok1 := broadcastStrides(ls, os)
	sb, ok2 := broadcastStrides(rs, os)
	if !ok1 || !ok2 {
		return nil, false
	}
	l := collapse(os.Dimensions, sa, sb)
	if !l.ok() || l.n < 8 && l.rows() > 1 {
		return nil, false // short runs: the per-run overhead would dominate
	}
	buf, dst := output(be, os, in, owned, 1, 0)
	l.parallel(func(o, oa, ob, n int) {
		d := dst[o : o+n]
		switch {
		case l.ia == 1 && l.ib == 1:
			vecf32.VV(op, d, a[oa:oa+n], b[ob:ob+n])
		case l.ia == 1:
			vecf32.VS(op, d, a[oa:oa+n], b[ob])
		case l.ib == 1:
			vecf32.SV(op, d, a[oa], b[ob:ob+n])
		default:
			v := vecf32.Scalar(op, a[oa], b[ob])
			for i := range d {
				d[i] = v
			}
		}
	})
	return buf, true
}

func (fe *fastEW) broadcastInDim(be *simplego.Backend, node *simplego.Node, in []*simplego.Buffer) (*simplego.Buffer, bool) {
	s, src, ok := f32(be, in[0])
	axes, ok2 := fe.nodeAxes(node)
	os := fe.nodeShape(node)
	if !ok || !ok2 || len(axes) != s.Rank() || os.DType != dtypes.Float32 || os.Size() == 0 {
		return nil, false
	}
	sa := make([]int, os.Rank())
	stride := 1
	for i := s.Rank() - 1; i >= 0; i-- {
		a := axes[i]
		if a < 0 || a >= os.Rank() {
			return nil, false
		}
		if s.Dimensions[i] == os.Dimensions[a] {
			sa[a] = stride
		} else if s.Dimensions[i] != 1 {
			return nil, false
		}
		stride *= s.Dimensions[i]
	}
	l := collapse(os.Dimensions, sa, make([]int, os.Rank()))
	if !l.ok() || l.n < 8 && l.rows() > 1 && l.ia == 1 {
		return nil, false
	}
	buf := be.NewBuffer(os)
	flat, _ := be.BufferData(buf)
	dst := flat.([]float32)
	l.parallel(func(o, oa, _, n int) {
		d := dst[o : o+n]
		if l.ia == 1 {
			copy(d, src[oa:oa+n])
			return
		}
		v := src[oa]
		for i := range d {
			d[i] = v
		}
	})
	return buf, true
}

// reduce computes ReduceSum or ReduceMax when the reduced axes are adjacent: the input is then [K1, R, K2] with
// R reduced.
func (fe *fastEW) reduce(isMax bool, be *simplego.Backend, node *simplego.Node, in []*simplego.Buffer) (*simplego.Buffer, bool) {
	s, src, ok := f32(be, in[0])
	axes, ok2 := fe.nodeAxes(node)
	os := fe.nodeShape(node)
	if !ok || !ok2 || len(axes) == 0 || os.DType != dtypes.Float32 || s.Size() == 0 {
		return nil, false
	}
	reduced := make([]bool, s.Rank())
	for _, a := range axes {
		if a < 0 || a >= s.Rank() {
			return nil, false
		}
		reduced[a] = true
	}
	// Sizes before, of and after the reduced run; any kept axis of size > 1 between reduced ones: fall back.
	k1, r, k2, phase := 1, 1, 1, 0
	for i, d := range s.Dimensions {
		if d == 1 {
			continue
		}
		switch {
		case !reduced[i] && phase == 0:
			k1 *= d
		case reduced[i] && phase <= 1:
			phase, r = 1, r*d
		case !reduced[i]:
			phase, k2 = 2, k2*d
		default:
			return nil, false
		}
	}
	if os.Size() != k1*k2 {
		return nil, false
	}
	buf := be.NewBuffer(os)
	flat, _ := be.BufferData(buf)
	dst := flat.([]float32)
	switch {
	case k2 == 1:
		vecf32.Parallel(k1, max(1, ewGrain/r), func(lo, hi int) {
			if isMax {
				vecf32.MaxRows(dst[lo:hi], src[lo*r:hi*r], r)
			} else {
				vecf32.SumRows(dst[lo:hi], src[lo*r:hi*r], r)
			}
		})
	default:
		// Column reductions per k1 block, split over the columns (k1 is usually 1 here: bias gradients).
		vecf32.Parallel(k1*k2, max(64, ewGrain/r), func(lo, hi int) {
			for lo < hi {
				b, j := lo/k2, lo%k2
				end := min(hi, (b+1)*k2)
				d := dst[lo:end]
				block := src[b*r*k2+j:]
				if isMax {
					vecf32.MaxCols(d, block, r, k2)
				} else {
					vecf32.SumCols(d, block, r, k2)
				}
				lo = end
			}
		})
	}
	return buf, true
}

// probe runs ReduceSum(Exp(x · y), axis 1) with y broadcast along the rows through the hooks and checks the
// result and that the hooks ran.
func (fe *fastEW) probe(be *simplego.Backend) error {
	xs, ys := shapes.Make(dtypes.Float32, 3, 17), shapes.Make(dtypes.Float32, 1, 17)
	b := be.Builder("hift-fast-ew-probe")
	x, err := b.Parameter("x", xs, nil)
	if err != nil {
		return err
	}
	y, err := b.Parameter("y", ys, nil)
	if err != nil {
		return err
	}
	m, err := b.Mul(x, y)
	if err != nil {
		return err
	}
	e, err := b.Exp(m)
	if err != nil {
		return err
	}
	r, err := b.ReduceSum(e, 1)
	if err != nil {
		return err
	}
	exe, err := b.Compile([]backends.Op{r}, nil)
	if err != nil {
		return err
	}
	defer exe.Finalize()
	xv, yv := make([]float32, xs.Size()), make([]float32, ys.Size())
	for i := range xv {
		xv[i] = float32(i%5) * 0.25
	}
	for i := range yv {
		yv[i] = float32(i%3) - 1
	}
	xb, err := be.BufferFromFlatData(0, xv, xs)
	if err != nil {
		return err
	}
	yb, err := be.BufferFromFlatData(0, yv, ys)
	if err != nil {
		return err
	}
	before := fe.fast.Load()
	res, err := exe.Execute([]backends.Buffer{xb, yb}, nil, 0)
	if err != nil {
		return fmt.Errorf("fast CPU kernels: elementwise probe: %w", err)
	}
	got := make([]float32, 3)
	if err := be.BufferToFlatData(res[0], got); err != nil {
		return err
	}
	if fe.fast.Load()-before != 3 {
		return fmt.Errorf("fast CPU kernels: %d of the 3 elementwise probe ops reached the hooks (GoMLX layout changed)", fe.fast.Load()-before)
	}
	for i := range got {
		want := 0.0
		for j := range 17 {
			want += math.Exp(float64(xv[i*17+j]) * float64(yv[j]))
		}
		if math.Abs(float64(got[i])-want) > 1e-5*want {
			return fmt.Errorf("fast CPU kernels: elementwise probe row %d = %g, want %g", i, got[i], want)
		}
	}
	return nil
}

// transpose permutes the axes of a float32 operand: runs that stay contiguous are copied, others gathered.
func (fe *fastEW) transpose(be *simplego.Backend, node *simplego.Node, in []*simplego.Buffer) (*simplego.Buffer, bool) {
	s, src, ok := f32(be, in[0])
	perm, ok2 := fe.nodeAxes(node)
	os := fe.nodeShape(node)
	if !ok || !ok2 || len(perm) != s.Rank() || os.DType != dtypes.Float32 || os.Size() == 0 || os.Size() != s.Size() {
		return nil, false
	}
	strides := make([]int, s.Rank())
	for i, acc := s.Rank()-1, 1; i >= 0; i-- {
		strides[i] = acc
		acc *= s.Dimensions[i]
	}
	sa := make([]int, len(perm)) // output axis i reads input axis perm[i]
	for i, p := range perm {
		if p < 0 || p >= s.Rank() || os.Dimensions[i] != s.Dimensions[p] {
			return nil, false
		}
		sa[i] = strides[p]
	}
	l := collapse(os.Dimensions, sa, make([]int, len(sa)))
	if l.ia == 1 && l.n < 8 && l.rows() > 1 {
		return nil, false
	}
	buf := be.NewBuffer(os)
	flat, _ := be.BufferData(buf)
	dst := flat.([]float32)
	l.parallel(func(o, oa, _, n int) {
		d := dst[o : o+n]
		if l.ia == 1 {
			copy(d, src[oa:oa+n])
			return
		}
		for i, j := 0, oa; i < n; i, j = i+1, j+l.ia {
			d[i] = src[j]
		}
	})
	return buf, true
}
