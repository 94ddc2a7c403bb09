package graph

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// iotaValues gives deterministic, hand-checkable, non-symmetric values.
func iotaValues(n int, seed float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(math.Sin(seed + 0.37*float64(i)))
	}
	return out
}

// withVJP runs fn with GoMLX's VJP for nodeType temporarily set to vjp.
func withVJP(nodeType NodeType, vjp VJP, fn func()) {
	saved := VJPRegistration[nodeType]
	VJPRegistration[nodeType] = vjp
	defer func() { VJPRegistration[nodeType] = saved }()
	fn()
}

// gradsOf computes the gradients of sum(op(x, y) · r) with respect to x and y.
func gradsOf(t *testing.T, op func(x, y *Node) *Node, xDims, yDims []int) [][]float32 {
	t.Helper()
	be := testBackend(t)
	x := tensors.FromFlatDataAndDimensions(iotaValues(prod(xDims), 0.1), xDims...)
	y := tensors.FromFlatDataAndDimensions(iotaValues(prod(yDims), 1.3), yDims...)
	exec, err := NewExec(be, func(x, y *Node) []*Node {
		out := op(x, y)
		r := Const(x.Graph(), iotaValues(out.Shape().Size(), 2.7))
		r = Reshape(r, out.Shape().Dimensions...)
		loss := ReduceAllSum(Mul(out, r))
		return Gradient(loss, x, y)
	})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exec.Exec(x, y)
	if err != nil {
		t.Fatal(err)
	}
	return [][]float32{tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1])}
}

func prod(d []int) int {
	n := 1
	for _, x := range d {
		n *= x
	}
	return n
}

func maxDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// TestGemmVJPMatchesGoMLX checks the gemm VJP of DotGeneral and Dot against GoMLX's original on many layouts.
func TestGemmVJPMatchesGoMLX(t *testing.T) {
	PatchGoMLX()
	cases := []struct {
		name       string
		xDims, yDD []int
		op         func(x, y *Node) *Node
		nodeType   NodeType
	}{
		{"linear [B,T,in]x[out,in]", []int{2, 3, 4}, []int{5, 4}, func(x, y *Node) *Node { return DotGeneral(x, []int{2}, nil, y, []int{1}, nil) }, NodeTypeDotGeneral},
		{"conv1d [B,T,in]x[in,out]", []int{2, 3, 4}, []int{4, 5}, func(x, y *Node) *Node { return DotGeneral(x, []int{2}, nil, y, []int{0}, nil) }, NodeTypeDotGeneral},
		{"attention scores bqhd,bkhd", []int{2, 3, 2, 4}, []int{2, 5, 2, 4}, func(x, y *Node) *Node { return DotGeneral(x, []int{3}, []int{0, 2}, y, []int{3}, []int{0, 2}) }, NodeTypeDotGeneral},
		{"attention values bhqk,bkhd", []int{2, 2, 3, 5}, []int{2, 5, 2, 4}, func(x, y *Node) *Node { return DotGeneral(x, []int{3}, []int{0, 1}, y, []int{1}, []int{0, 2}) }, NodeTypeDotGeneral},
		{"two contracting axes, swapped order", []int{3, 4, 5}, []int{5, 2, 4}, func(x, y *Node) *Node { return DotGeneral(x, []int{1, 2}, nil, y, []int{2, 0}, nil) }, NodeTypeDotGeneral},
		{"batch axis not first", []int{4, 3, 2}, []int{2, 5, 4}, func(x, y *Node) *Node { return DotGeneral(x, []int{0}, []int{2}, y, []int{2}, []int{0}) }, NodeTypeDotGeneral},
		{"outer product (no contraction)", []int{3}, []int{4}, func(x, y *Node) *Node { return DotGeneral(x, nil, nil, y, nil, nil) }, NodeTypeDotGeneral},
		{"Dot matrix·matrix", []int{3, 4}, []int{4, 5}, Dot, NodeTypeDot},
		{"Dot matrix·vector", []int{3, 4}, []int{4}, Dot, NodeTypeDot},
		{"Dot vector·vector", []int{4}, []int{4}, Dot, NodeTypeDot},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var orig, ours [][]float32
			origVJP := origDotGeneralVJP
			if c.nodeType == NodeTypeDot {
				origVJP = origDotVJP
			}
			withVJP(c.nodeType, origVJP, func() { orig = gradsOf(t, c.op, c.xDims, c.yDD) })
			ours = gradsOf(t, c.op, c.xDims, c.yDD)
			for i, which := range []string{"x", "y"} {
				d := maxDiff(orig[i], ours[i])
				t.Logf("d/d%s max|gemm − original| = %.3g", which, d)
				if d > 1e-5 {
					t.Errorf("d/d%s differs from GoMLX's VJP by %.3g", which, d)
				}
			}
		})
	}
}

// TestSliceVJP checks the Concatenate-based Slice gradient against the same gradient computed through a
// one-hot selection matrix (a DotGeneral), since GoMLX's own Slice VJP needs Pad, which SimpleGo lacks.
func TestSliceVJP(t *testing.T) {
	PatchGoMLX()
	be := testBackend(t)
	dims := []int{3, 5, 6}
	x := tensors.FromFlatDataAndDimensions(iotaValues(prod(dims), 0.5), dims...)
	for _, c := range []struct{ axis, from, to int }{{2, 0, 3}, {2, 3, 6}, {1, 1, 4}, {0, 1, 2}} {
		t.Run(fmt.Sprintf("axis%d[%d:%d]", c.axis, c.from, c.to), func(t *testing.T) {
			exec, err := NewExec(be, func(x *Node) []*Node {
				n := c.to - c.from
				viaSlice := SliceAxis(x, c.axis, AxisRange(c.from, c.to))
				// Selection matrix S [n, dim]: S[i, from+i] = 1; x moved so the axis is last, contracted with S.
				sel := make([]float32, n*dims[c.axis])
				for i := 0; i < n; i++ {
					sel[i*dims[c.axis]+c.from+i] = 1
				}
				s := Reshape(Const(x.Graph(), sel), n, dims[c.axis])
				viaDot := DotGeneral(x, []int{c.axis}, nil, s, []int{1}, nil) // axis moved to the end
				r := Reshape(Const(x.Graph(), iotaValues(viaSlice.Shape().Size(), 1.9)), viaSlice.Shape().Dimensions...)
				perm := make([]int, 0, 3)
				for a := 0; a < 3; a++ {
					if a != c.axis {
						perm = append(perm, a)
					}
				}
				perm = append(perm, c.axis)
				rT := TransposeAllAxes(r, perm...)
				g1 := Gradient(ReduceAllSum(Mul(viaSlice, r)), x)[0]
				g2 := Gradient(ReduceAllSum(Mul(viaDot, rT)), x)[0]
				return []*Node{g1, g2, ReduceAllMax(Abs(Sub(viaDot, TransposeAllAxes(viaSlice, perm...))))}
			})
			if err != nil {
				t.Fatal(err)
			}
			outs, err := exec.Exec(x)
			if err != nil {
				t.Fatal(err)
			}
			if fwd := tensors.ToScalar[float32](outs[2]); fwd != 0 {
				t.Fatalf("forward mismatch %g", fwd)
			}
			d := maxDiff(tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1]))
			t.Logf("max|slice grad − reference| = %.3g", d)
			if d > 1e-6 {
				t.Errorf("slice gradient differs by %.3g", d)
			}
		})
	}
}

// TestGemmVJPIsInstalled checks the structure of a Linear's gradient graph: with the fix it has three
// DotGenerals (forward, dx, dW) and no ReduceSum of a rank-4 broadcast product; GoMLX's original has one.
func TestGemmVJPIsInstalled(t *testing.T) {
	PatchGoMLX()
	count := func() (dots, bigReduce int) {
		g := NewGraph(testBackend(t), "count")
		x := Parameter(g, "x", shapes.Make(dtypes.Float32, 2, 3, 4))
		w := Parameter(g, "w", shapes.Make(dtypes.Float32, 5, 4))
		Gradient(ReduceAllSum(Linear(x, w, nil)), x, w)
		for _, n := range g.Nodes() {
			switch n.Type() {
			case NodeTypeDotGeneral:
				dots++
			case NodeTypeReduceSum:
				if n.Inputs()[0].Rank() >= 4 {
					bigReduce++
				}
			}
		}
		return
	}
	dots, big := count()
	if dots != 3 || big != 0 {
		t.Errorf("patched gradient graph: %d DotGenerals and %d rank>=4 ReduceSums; want 3 and 0", dots, big)
	}
	withVJP(NodeTypeDotGeneral, origDotGeneralVJP, func() { dots, big = count() })
	if dots != 1 || big == 0 {
		t.Errorf("original gradient graph: %d DotGenerals and %d rank>=4 ReduceSums; want 1 and >0", dots, big)
	}
	t.Logf("patched: 3 DotGenerals; original: %d DotGeneral, %d broadcast reductions", dots, big)
}
