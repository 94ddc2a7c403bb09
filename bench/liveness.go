package bench

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX convention.
	"github.com/gomlx/gomlx/pkg/core/shapes"
	hgraph "github.com/hift-go/hift/graph"
)

// Liveness is the memory of one training step's program replayed as SimpleGo executes it: nodes in creation
// order, every result freed after its last use, elementwise results written over an input at its last use.
// It is computed from the real step graph (forward + gradients of the trained parameters; the optimizer
// update is left out), built on the backend but never compiled or run, so it works for any model size. It is
// what SimpleGo's activation memory is, give or take its buffer pools; XLA fuses elementwise chains and needs
// less.
type Liveness struct {
	// Peak is the largest sum of live intermediate results (weights, inputs and the gradient outputs excluded).
	Peak int64
	// PeakWithGrads also counts the gradient outputs produced so far.
	PeakWithGrads int64
	// Grads is the bytes of the gradient outputs.
	Grads int64
	// Nodes is the number of graph nodes the step executes.
	Nodes int
}

// SimulateStep builds the step graph of m at batch × seq that trains the given units (indices into m.Units)
// and replays its execution (see Liveness). Nothing is allocated on the device.
func SimulateStep(be backends.Backend, m *hgraph.Model, batch, seq int, units []int) (res Liveness, err error) {
	hgraph.PatchGoMLX()
	ds, err := RandomDataset(m, 1, 2, 0) // for the batch's column names and dtypes only
	if err != nil {
		return res, err
	}
	train := map[string]bool{}
	for _, u := range units {
		for _, p := range m.Units[u].Params {
			train[p] = true
		}
	}
	g := NewGraph(be, "liveness")
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("building the step graph of %s: %v", m.Class, r)
		}
		g.Finalize()
	}()
	var names []string
	var inputs, trained []*Node
	for _, p := range append(append([]hgraph.ParamSpec{}, m.Params...), m.Buffers...) {
		n := Parameter(g, p.Name, shapes.Make(dtypes.Float32, p.Shape...))
		names, inputs = append(names, p.Name), append(inputs, n)
		if train[p.Name] {
			trained = append(trained, n)
		}
	}
	for _, col := range hgraph.BatchInputNames {
		c, ok := ds.Columns[col]
		if !ok {
			continue
		}
		dims := []int{batch}
		if len(c.Shape) == 2 {
			dims = append(dims, seq)
		}
		names = append(names, "batch."+col)
		inputs = append(inputs, Parameter(g, "batch."+col, shapes.Make(dtypes.Int64, dims...)))
	}
	if len(trained) == 0 {
		return res, fmt.Errorf("no parameter to train in units %v", units)
	}
	w, b := hgraph.BindInputs(m, names, inputs)
	out := m.Forward(w, b)
	if out.Loss == nil {
		return res, fmt.Errorf("%s: the forward computes no loss", m.Class)
	}
	grads := Gradient(out.Loss, trained...)
	return replay(g, append([]*Node{out.Loss}, grads...)), nil
}

// replay walks g's nodes that the outputs depend on, in creation order, as SimpleGo's sequential executor does.
func replay(g *Graph, outputs []*Node) Liveness {
	nodes := g.Nodes()
	need := make([]bool, len(nodes))
	isOut := make([]bool, len(nodes))
	stack := append([]*Node(nil), outputs...)
	for _, o := range outputs {
		isOut[o.Id()] = true
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if need[n.Id()] {
			continue
		}
		need[n.Id()] = true
		stack = append(stack, n.Inputs()...)
	}
	uses := make([]int, len(nodes))
	for _, n := range nodes {
		if !need[n.Id()] {
			continue
		}
		for _, in := range n.Inputs() {
			uses[in.Id()]++
		}
	}
	owned := func(n *Node) bool {
		t := n.Type()
		return t != NodeTypeParameter && t != NodeTypeConstant && t != NodeTypeSplitNode
	}
	size := func(n *Node) int64 {
		if n.Type() == NodeTypeSplitNode || n.Shape().IsTuple() {
			return 0
		}
		return int64(n.Shape().Memory())
	}
	var res Liveness
	var live, liveOut int64
	used := make([]int, len(nodes))
	for _, n := range nodes {
		id := n.Id()
		if !need[id] {
			continue
		}
		res.Nodes++
		if !owned(n) {
			continue
		}
		// Elementwise ops (and reshapes) take over an input buffer at its last use.
		reused := -1
		if inPlace(n.Type()) {
			for i, in := range n.Inputs() {
				if owned(in) && !isOut[in.Id()] && uses[in.Id()]-used[in.Id()] == 1 && size(in) == size(n) && in.DType() == n.DType() {
					reused = i
					break
				}
			}
		}
		sz := size(n)
		if reused < 0 {
			if isOut[id] {
				liveOut += sz
			} else {
				live += sz
			}
		} else if isOut[id] {
			live -= sz // the buffer moves from the intermediates to the outputs
			liveOut += sz
		}
		res.Peak = max(res.Peak, live)
		res.PeakWithGrads = max(res.PeakWithGrads, live+liveOut)
		for i, in := range n.Inputs() {
			used[in.Id()]++
			if i == reused || !owned(in) || isOut[in.Id()] {
				continue
			}
			if used[in.Id()] == uses[in.Id()] {
				live -= size(in)
			}
		}
	}
	for _, o := range outputs[1:] {
		res.Grads += size(o)
	}
	return res
}

// inPlace lists the node types whose SimpleGo executors write the result over an owned input of the same shape.
func inPlace(t NodeType) bool {
	switch t {
	case NodeTypeAdd, NodeTypeSub, NodeTypeMul, NodeTypeDiv, NodeTypeMax, NodeTypeMin, NodeTypePow, NodeTypeRem,
		NodeTypeNeg, NodeTypeAbs, NodeTypeExp, NodeTypeExpm1, NodeTypeLog, NodeTypeLog1p, NodeTypeSqrt, NodeTypeRsqrt,
		NodeTypeTanh, NodeTypeLogistic, NodeTypeSin, NodeTypeCos, NodeTypeErf, NodeTypeSign, NodeTypeFloor,
		NodeTypeCeil, NodeTypeRound, NodeTypeWhere, NodeTypeReshape, NodeTypeIdentity:
		return true
	}
	return false
}
