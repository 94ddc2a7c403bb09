package optim

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX convention.
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// sgd is torch.optim.SGD (PyTorch 1.13):
//
//	d = g + λ·p                           // only when λ ≠ 0
//	if μ ≠ 0:
//	    b ← d                 on the first turn (s = 1: torch's buffer is None)
//	    b ← μ·b + (1−τ)·d     afterwards
//	    d = nesterov ? d + μ·b : b
//	p ← p − η·d
//
// State: momentum_buffer (b) only when μ ≠ 0 (its initial zeros are never read: s = 1 copies d).
type sgd struct{ base }

// State implements Rule.
func (r *sgd) State(param shapes.Shape) []StateSpec {
	if r.cfg.Momentum == 0 {
		return nil
	}
	return []StateSpec{f32Spec("momentum_buffer", param.Dimensions, 0)}
}

// StateBytes implements Rule.
func (r *sgd) StateBytes(dims []int) int64 { return stateBytes(r.State(shapeOf(dims))) }

// Update implements Rule.
func (r *sgd) Update(p, g *Node, state []*Node, s, lr *Node, decay bool) (*Node, []*Node) {
	in := prepare(r, p, g, state, s, lr)
	gr := in.g
	d := l2(in.grad, in.p, r.wd(decay))
	var newState []*Node
	if mu := r.cfg.Momentum; mu != 0 {
		later := Add(Mul(state[0], c32(gr, mu)), Mul(c32(gr, 1-r.cfg.Dampening), d))
		b := Where(Equal(in.s, c64(gr, 1)), d, later)
		newState = []*Node{b}
		if r.cfg.Nesterov {
			d = Add(d, Mul(c32(gr, mu), b))
		} else {
			d = b
		}
	}
	pNew := Add(in.p, Mul(to32(Neg(in.lr)), d))
	return in.finish(pNew), newState
}
