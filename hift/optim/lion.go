package optim

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX convention.
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// lion is the Lion rule (Chen et al. 2023; lucidrains' lion-pytorch and bitsandbytes' 32-bit Lion):
//
//	c = β1·m + (1−β1)·g
//	p ← p·(1 − η·λ) − η·sign(c)           // sign(0) = 0
//	m ← β2·m + (1−β2)·g
//
// State: exp_avg (m), zeros.
type lion struct{ base }

// State implements Rule.
func (r *lion) State(param shapes.Shape) []StateSpec {
	return []StateSpec{f32Spec("exp_avg", param.Dimensions, 0)}
}

// StateBytes implements Rule.
func (r *lion) StateBytes(dims []int) int64 { return stateBytes(r.State(shapeOf(dims))) }

// Update implements Rule.
func (r *lion) Update(p, g *Node, state []*Node, s, lr *Node, decay bool) (*Node, []*Node) {
	in := prepare(r, p, g, state, s, lr)
	pp := decoupledDecay(in.p, in.lr, r.wd(decay))
	c := ema(state[0], r.cfg.Beta1, in.grad)
	pNew := Add(pp, Mul(to32(Neg(in.lr)), Sign(c)))
	m := ema(state[0], r.cfg.Beta2, in.grad)
	return in.finish(pNew), []*Node{m}
}
