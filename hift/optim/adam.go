package optim

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX convention.
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// adam is torch.optim.Adam (PyTorch 1.13, single-tensor path), with L2 weight decay:
//
//	g ← g + λ·p                           // only when λ ≠ 0
//	m ← β1·m + (1−β1)·g
//	v ← β2·v + (1−β2)·g²
//	[amsgrad: vmax ← max(vmax, v), used for v below]
//	bc1 = 1 − β1^s, bc2 = 1 − β2^s         // float64
//	p ← p − (η/bc1) · m / (√v/√bc2 + ε)
//
// State: exp_avg (m), exp_avg_sq (v)[, max_exp_avg_sq (vmax)], all zeros at the first turn.
type adam struct{ base }

// State implements Rule.
func (r *adam) State(param shapes.Shape) []StateSpec { return adamStateSpecs(param, r.cfg.AMSGrad) }

// StateBytes implements Rule.
func (r *adam) StateBytes(dims []int) int64 {
	return stateBytes(r.State(shapeOf(dims)))
}

// Update implements Rule.
func (r *adam) Update(p, g *Node, state []*Node, s, lr *Node, decay bool) (*Node, []*Node) {
	in := prepare(r, p, g, state, s, lr)
	grad := l2(in.grad, in.p, r.wd(decay))
	pNew, newState := torchAdam(r.cfg, in, in.p, grad, state)
	return in.finish(pNew), newState
}
