package optim

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX convention.
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// adagrad is torch.optim.Adagrad (PyTorch 1.13, dense gradients):
//
//	g ← g + λ·p                           // only when λ ≠ 0
//	S ← S + g²                            // S starts at initial_accumulator_value
//	clr = η / (1 + (s−1)·lr_decay)        // float64
//	p ← p − clr · g / (√S + ε)
//
// State: sum (S).
type adagrad struct{ base }

// State implements Rule.
func (r *adagrad) State(param shapes.Shape) []StateSpec {
	return []StateSpec{f32Spec("sum", param.Dimensions, r.cfg.InitialAccumulatorValue)}
}

// StateBytes implements Rule.
func (r *adagrad) StateBytes(dims []int) int64 { return stateBytes(r.State(shapeOf(dims))) }

// Update implements Rule.
func (r *adagrad) Update(p, g *Node, state []*Node, s, lr *Node, decay bool) (*Node, []*Node) {
	in := prepare(r, p, g, state, s, lr)
	gr := in.g
	grad := l2(in.grad, in.p, r.wd(decay))
	sum := Add(state[0], Mul(grad, grad)) // state_sum.addcmul_(grad, grad, value=1)
	std := Add(Sqrt(sum), c32(gr, r.cfg.Eps))
	clr := Div(in.lr, Add(c64(gr, 1), Mul(Sub(in.s, c64(gr, 1)), c64(gr, r.cfg.LRDecay))))
	pNew := addcdiv(in.p, grad, std, to32(Neg(clr)))
	return in.finish(pNew), []*Node{sum}
}
