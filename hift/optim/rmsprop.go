package optim

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX convention.
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// rmsprop is torch.optim.RMSprop (PyTorch 1.13):
//
//	g ← g + λ·p                           // only when λ ≠ 0
//	A ← α·A + (1−α)·g²
//	centered: Ḡ ← α·Ḡ + (1−α)·g ; d = √(A − Ḡ²) + ε
//	else:     d = √A + ε
//	μ > 0:    B ← μ·B + g/d ; p ← p − η·B
//	else:     p ← p − η·g/d
//
// State: square_avg (A)[, momentum_buffer (B) when μ > 0][, grad_avg (Ḡ) when centered], zeros, in torch's
// state order.
type rmsprop struct{ base }

// State implements Rule.
func (r *rmsprop) State(param shapes.Shape) []StateSpec {
	specs := []StateSpec{f32Spec("square_avg", param.Dimensions, 0)}
	if r.cfg.Momentum > 0 {
		specs = append(specs, f32Spec("momentum_buffer", param.Dimensions, 0))
	}
	if r.cfg.Centered {
		specs = append(specs, f32Spec("grad_avg", param.Dimensions, 0))
	}
	return specs
}

// StateBytes implements Rule.
func (r *rmsprop) StateBytes(dims []int) int64 { return stateBytes(r.State(shapeOf(dims))) }

// Update implements Rule.
func (r *rmsprop) Update(p, g *Node, state []*Node, s, lr *Node, decay bool) (*Node, []*Node) {
	in := prepare(r, p, g, state, s, lr)
	gr := in.g
	grad := l2(in.grad, in.p, r.wd(decay))
	sq := emaSq(state[0], r.cfg.Alpha, grad)
	var avg, gAvg *Node
	if r.cfg.Centered {
		gAvg = ema(state[len(state)-1], r.cfg.Alpha, grad)
		// square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
		avg = Sqrt(Add(sq, Mul(Mul(c32(gr, -1), gAvg), gAvg)))
	} else {
		avg = Sqrt(sq)
	}
	avg = Add(avg, c32(gr, r.cfg.Eps))
	newState := []*Node{sq}
	var pNew *Node
	if r.cfg.Momentum > 0 {
		buf := Add(Mul(state[1], c32(gr, r.cfg.Momentum)), Div(grad, avg)) // buf.mul_(μ).addcdiv_(grad, avg)
		newState = append(newState, buf)
		pNew = Add(in.p, Mul(to32(Neg(in.lr)), buf)) // p.add_(buf, alpha=−η)
	} else {
		pNew = addcdiv(in.p, grad, avg, to32(Neg(in.lr)))
	}
	if r.cfg.Centered {
		newState = append(newState, gAvg)
	}
	return in.finish(pNew), newState
}
