package graph

import (
	"fmt"
	"reflect"
	"slices"
	"sync"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// GoMLX v0.26.0 gradient fixes (gomlx-notes.md P1, P3). They replace entries of GoMLX's process-wide
// graph.VJPRegistration once, before any hift graph is built (NewBackend calls PatchGoMLX).
//
//   - DotGeneral / Dot: v0.26.0 differentiates a matmul as broadcast Mul + ReduceSum, which materialises a
//     [batch, cross, cross, contracting] intermediate (537 MB for one fc1 gradient of a 10M model at
//     B·T = 512) and runs ~9x slower on CPU. Ours is two DotGenerals plus a transpose, as gomlx PR #428.
//   - Slice: v0.26.0's VJP is a Pad, which SimpleGo lacks. Ours builds the same zero padding with
//     Concatenate (unit strides), so RoPE's rotate-half and fused-QKV splits differentiate on SimpleGo.
//
// The fields describing the op are unexported in GoMLX, so they are read with reflect; the package is pinned to
// v0.26.0 and the gradient-equality tests in vjp_test.go guard the layout.

var (
	patchOnce sync.Once
	// Original GoMLX VJPs, kept for the equality tests.
	origDotGeneralVJP VJP
	origDotVJP        VJP
	origSliceVJP      VJP
)

// PatchGoMLX installs hift's gradient fixes into GoMLX (idempotent, safe for concurrent use).
func PatchGoMLX() {
	patchOnce.Do(func() {
		origDotGeneralVJP = VJPRegistration[NodeTypeDotGeneral]
		origDotVJP = VJPRegistration[NodeTypeDot]
		origSliceVJP = VJPRegistration[NodeTypeSlice]
		VJPRegistration[NodeTypeDotGeneral] = single(gemmDotGeneralVJP)
		VJPRegistration[NodeTypeDot] = single(gemmDotVJP)
		VJPRegistration[NodeTypeSlice] = single(concatSliceVJP)
	})
}

func single(fn func(node, v *Node, outShape shapes.Shape) []*Node) VJP {
	return func(node *Node, vjpOutputs []*Node, outShape shapes.Shape) []*Node {
		return fn(node, vjpOutputs[0], outShape)
	}
}

// nodeInputField reads the unexported `inputs` struct of a node and returns the named field.
func nodeInputField(node *Node, field string) reflect.Value {
	in := reflect.ValueOf(node).Elem().FieldByName("inputs")
	if !in.IsValid() {
		panic(fmt.Sprintf("hift: GoMLX node layout changed (no inputs field) for %s", node.Type()))
	}
	for in.Kind() == reflect.Interface || in.Kind() == reflect.Pointer {
		in = in.Elem()
	}
	f := in.FieldByName(field)
	if !f.IsValid() {
		panic(fmt.Sprintf("hift: GoMLX node layout changed: %s has no field %q", node.Type(), field))
	}
	return f
}

func intsField(node *Node, field string) []int {
	f := nodeInputField(node, field)
	out := make([]int, f.Len())
	for i := range out {
		out[i] = int(f.Index(i).Int())
	}
	return out
}

// freeAxes lists, in ascending order, the axes of a rank-r operand that are neither contracted nor batch.
func freeAxes(rank int, contracting, batch []int) []int {
	var out []int
	for a := 0; a < rank; a++ {
		if !slices.Contains(contracting, a) && !slices.Contains(batch, a) {
			out = append(out, a)
		}
	}
	return out
}

// gemmDotGeneralVJP differentiates out = DotGeneral(lhs, rhs) with two DotGenerals.
// out's axes are [batch..., lhsFree..., rhsFree...].
func gemmDotGeneralVJP(node, v *Node, _ shapes.Shape) []*Node {
	inputs := node.Inputs()
	lhs, rhs := inputs[0], inputs[1]
	lc, lb := intsField(node, "lhsContractingAxes"), intsField(node, "lhsBatchAxes")
	rc, rb := intsField(node, "rhsContractingAxes"), intsField(node, "rhsBatchAxes")
	lf, rf := freeAxes(lhs.Rank(), lc, lb), freeAxes(rhs.Rank(), rc, rb)
	nb := len(lb)
	vBatch := iotaFrom(0, nb)
	vLhsFree := iotaFrom(nb, len(lf))
	vRhsFree := iotaFrom(nb+len(lf), len(rf))

	// dL/dlhs: contract v's rhs-free axes with rhs's free axes, batch over batch axes.
	// Result axes: [batch..., lhsFree..., rhs's remaining axes = rhs contracting axes in ascending order].
	gl := DotGeneral(v, vRhsFree, vBatch, rhs, rf, rb)
	// Map each result axis to the lhs axis it stands for.
	lhsAxisOf := append(append([]int{}, lb...), lf...)
	for _, ra := range sortedCopy(rc) {
		lhsAxisOf = append(lhsAxisOf, lc[slices.Index(rc, ra)])
	}
	gl = transposeTo(gl, lhsAxisOf)

	// dL/drhs: contract v's lhs-free axes with lhs's free axes.
	// Result axes: [batch..., rhsFree..., lhs's remaining axes = lhs contracting axes ascending].
	gr := DotGeneral(v, vLhsFree, vBatch, lhs, lf, lb)
	rhsAxisOf := append(append([]int{}, rb...), rf...)
	for _, la := range sortedCopy(lc) {
		rhsAxisOf = append(rhsAxisOf, rc[slices.Index(lc, la)])
	}
	gr = transposeTo(gr, rhsAxisOf)
	return []*Node{gl, gr}
}

// gemmDotVJP differentiates Dot (vector·vector, matrix·vector, matrix·matrix) with DotGenerals.
func gemmDotVJP(node, v *Node, _ shapes.Shape) []*Node {
	inputs := node.Inputs()
	a, b := inputs[0], inputs[1]
	switch {
	case a.Rank() == 1 && b.Rank() == 1: // scalar output
		return []*Node{Mul(v, b), Mul(v, a)}
	case a.Rank() == 2 && b.Rank() == 1: // [m,k]·[k] -> [m]
		return []*Node{
			DotGeneral(v, nil, nil, b, nil, nil),           // outer product [m,k]
			DotGeneral(v, []int{0}, nil, a, []int{0}, nil), // [k]
		}
	case a.Rank() == 2 && b.Rank() == 2: // [m,k]·[k,n] -> [m,n]
		return []*Node{
			DotGeneral(v, []int{1}, nil, b, []int{1}, nil), // [m,k]
			DotGeneral(a, []int{0}, nil, v, []int{0}, nil), // [k,n]
		}
	}
	return origDotVJP(node, []*Node{v}, node.Shape())
}

// concatSliceVJP pads the incoming gradient with zeros back to the input's shape using Concatenate
// (SimpleGo has no Pad). Strided slices fall back to GoMLX's Pad-based VJP.
func concatSliceVJP(node, v *Node, outShape shapes.Shape) []*Node {
	x := node.Inputs()[0]
	starts, limits, strides := intsField(node, "starts"), intsField(node, "limits"), intsField(node, "strides")
	for _, s := range strides {
		if s > 1 {
			return origSliceVJP(node, []*Node{v}, outShape)
		}
	}
	grad := v
	for axis := 0; axis < x.Rank(); axis++ {
		before, after := starts[axis], x.Shape().Dimensions[axis]-limits[axis]
		if before == 0 && after == 0 {
			continue
		}
		parts := make([]*Node, 0, 3)
		if before > 0 {
			parts = append(parts, zerosLike(grad, axis, before))
		}
		parts = append(parts, grad)
		if after > 0 {
			parts = append(parts, zerosLike(grad, axis, after))
		}
		grad = Concatenate(parts, axis)
	}
	return []*Node{grad}
}

// zerosLike returns zeros shaped like x except for dimension n at axis.
func zerosLike(x *Node, axis, n int) *Node {
	dims := slices.Clone(x.Shape().Dimensions)
	dims[axis] = n
	return Zeros(x.Graph(), shapes.Make(x.DType(), dims...))
}

func iotaFrom(start, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = start + i
	}
	return out
}

func sortedCopy(a []int) []int {
	out := slices.Clone(a)
	slices.Sort(out)
	return out
}

// transposeTo permutes x so that its axis i (standing for target axis axisOf[i]) lands at position axisOf[i].
func transposeTo(x *Node, axisOf []int) *Node {
	perm := make([]int, len(axisOf))
	identity := true
	for i, a := range axisOf {
		perm[a] = i
		if a != i {
			identity = false
		}
	}
	if identity {
		return x
	}
	return TransposeAllAxes(x, perm...)
}
