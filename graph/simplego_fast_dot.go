package graph

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"github.com/hift-go/hift/kernels/sgemm"
)

// run computes a float32 or bfloat16 DotGeneral with sgemm. It reports ok=false (nothing done) for other dtypes,
// for node data it cannot read, and for operands whose cross or contracting axes are not one strided run in
// memory. bfloat16 operands are widened to float32 (exactly) before the product, which accumulates in float32,
// and the result is narrowed like SimpleGo does (bfloat16.FromFloat32, truncating).
func (fd *fastDot) run(be *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer) (*simplego.Buffer, bool, error) {
	if len(inputs) != 2 {
		return nil, false, nil
	}
	ls, err1 := be.BufferShape(inputs[0])
	rs, err2 := be.BufferShape(inputs[1])
	dtype := ls.DType
	if err1 != nil || err2 != nil || rs.DType != dtype || (dtype != dtypes.Float32 && dtype != dtypes.BFloat16) {
		return nil, false, nil
	}
	p, ok := fd.params(node)
	if !ok {
		return nil, false, nil
	}
	// lhs viewed as [batch][M, K]; rhs as [batch][K, N] (its cross axes are the columns).
	lv, ok := viewOf(ls, p.lhsBatch, p.lhsContract)
	if !ok {
		return nil, false, nil
	}
	rv, ok := viewOf(rs, p.rhsBatch, p.rhsContract)
	if !ok || lv.batch != rv.batch || lv.contract != rv.contract {
		return nil, false, nil
	}
	lflat, _ := be.BufferData(inputs[0])
	rflat, _ := be.BufferData(inputs[1])
	out := be.NewBuffer(shapes.Make(dtype, lv.batch, lv.cross, rv.cross)) // [batch, M, N]
	if out == nil {
		return nil, false, nil
	}
	oflat, _ := be.BufferData(out)
	var ldata, rdata, c []float32
	if dtype == dtypes.Float32 {
		ldata, rdata, c = lflat.([]float32), rflat.([]float32), oflat.([]float32)
	} else {
		ldata, rdata = widenBF16(lflat.([]bfloat16.BFloat16)), widenBF16(rflat.([]bfloat16.BFloat16))
		c = make([]float32, lv.batch*lv.cross*rv.cross)
	}
	A := sgemm.Operand{Data: ldata, RowStride: lv.crossStride, ColStride: lv.contractStride}
	B := sgemm.Operand{Data: rdata, RowStride: rv.contractStride, ColStride: rv.crossStride}
	if lv.batch > 1 {
		A.Offsets, B.Offsets = lv.offsets, rv.offsets
	}
	if err := fd.gemm.Run(&sgemm.Problem{M: lv.cross, N: rv.cross, K: lv.contract, A: A, B: B, C: c}); err != nil {
		return nil, true, fmt.Errorf("DotGeneral lhs %s × rhs %s: %w", ls, rs, err)
	}
	if dtype == dtypes.BFloat16 {
		o := oflat.([]bfloat16.BFloat16)
		for i, v := range c {
			o[i] = bfloat16.FromFloat32(v)
		}
	}
	return out, true, nil
}

// widenBF16 returns x as float32 (exact).
func widenBF16(x []bfloat16.BFloat16) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = v.Float32()
	}
	return out
}

// dotView is a DotGeneral operand seen as a batch of strided [cross, contract] matrices.
type dotView struct {
	batch, cross, contract      int
	crossStride, contractStride int
	offsets                     []int // one per batch item, in output order
}

// viewOf lays out an operand of shape s (row-major) for DotGeneral with the given batch and contracting axes:
// cross axes are the remaining ones in order. Batch axes may have any strides; the cross axes, and the
// contracting axes in the order given, must each merge into one stride.
func viewOf(s shapes.Shape, batchAxes, contractAxes []int) (dotView, bool) {
	dims := s.Dimensions
	strides := make([]int, len(dims))
	kind := make([]byte, len(dims))
	acc := 1
	for i := len(dims) - 1; i >= 0; i-- {
		strides[i] = acc
		acc *= dims[i]
	}
	for _, a := range batchAxes {
		if a < 0 || a >= len(dims) || kind[a] != 0 {
			return dotView{}, false
		}
		kind[a] = 'b'
	}
	for _, a := range contractAxes {
		if a < 0 || a >= len(dims) || kind[a] != 0 {
			return dotView{}, false
		}
		kind[a] = 'c'
	}
	var crossAxes []int
	for a := range dims {
		if kind[a] == 0 {
			crossAxes = append(crossAxes, a)
		}
	}
	var v dotView
	var ok bool
	if v.cross, v.crossStride, ok = merge(dims, strides, crossAxes); !ok {
		return dotView{}, false
	}
	if v.contract, v.contractStride, ok = merge(dims, strides, contractAxes); !ok {
		return dotView{}, false
	}
	v.batch = 1
	for _, a := range batchAxes {
		v.batch *= dims[a]
	}
	if v.batch > 1 {
		v.offsets = make([]int, 0, v.batch)
		idx := make([]int, len(batchAxes))
		for range v.batch {
			off := 0
			for i, a := range batchAxes {
				off += idx[i] * strides[a]
			}
			v.offsets = append(v.offsets, off)
			for i := len(idx) - 1; i >= 0; i-- { // last batch axis fastest, as in the output
				if idx[i]++; idx[i] < dims[batchAxes[i]] {
					break
				}
				idx[i] = 0
			}
		}
	}
	return v, true
}

// merge returns the size and stride of axes taken as one flattened axis (in the order given), if they form one
// strided run in memory; axes of size 1 do not matter.
func merge(dims, strides, axes []int) (size, stride int, ok bool) {
	size, stride = 1, 1
	last := -1
	for _, a := range axes {
		size *= dims[a]
		if dims[a] == 1 {
			continue
		}
		if last >= 0 && strides[last] != strides[a]*dims[a] {
			return 0, 0, false
		}
		last = a
		stride = strides[a]
	}
	return size, stride, true
}

// compare runs SimpleGo's own executor on the same node and fails if it differs from out by more than 1e-4 of
// the output's largest magnitude (1e-2 for bfloat16) (float32 sums in different orders differ by far less; a wrong layout by far
// more).
func (fd *fastDot) compare(be *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, out *simplego.Buffer) error {
	ref, err := fd.orig(be, node, inputs, make([]bool, len(inputs)))
	if err != nil {
		return fmt.Errorf("%s: SimpleGo's DotGeneral: %w", CheckDotGeneralEnv, err)
	}
	rf, _ := be.BufferData(ref)
	of, _ := be.BufferData(out)
	want, got := asF32(rf), asF32(of)
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	worst, at := 0.0, 0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if g == w || (math.IsNaN(g) && math.IsNaN(w)) {
			continue
		}
		if d := math.Abs(g - w); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	ls, _ := be.BufferShape(inputs[0])
	rs, _ := be.BufferShape(inputs[1])
	_ = be.BufferFinalize(ref)
	tol := 1e-4 * scale
	if ls.DType == dtypes.BFloat16 {
		tol = 1e-2 * scale // a different float32 summation order may move a truncation to bfloat16 by one unit
	}
	if worst > tol || math.IsNaN(worst) {
		return fmt.Errorf("%s: DotGeneral lhs %s × rhs %s: fast result [%d] = %g, SimpleGo's %g (max |diff| %.3g > %.3g)",
			CheckDotGeneralEnv, ls, rs, at, got[at], want[at], worst, tol)
	}
	return nil
}

// asF32 returns a float32 or bfloat16 flat buffer as float32.
func asF32(flat any) []float32 {
	if b, ok := flat.([]bfloat16.BFloat16); ok {
		return widenBF16(b)
	}
	return flat.([]float32)
}
