package optim

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX convention.
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// adamW is torch.optim.AdamW (PyTorch 1.13, single-tensor path):
//
//	p ← p·(1 − η·λ)                       // decoupled weight decay, FIRST, factor in float64
//	m ← β1·m + (1−β1)·g
//	v ← β2·v + (1−β2)·g²
//	[amsgrad: vmax ← max(vmax, v), used for v below]
//	bc1 = 1 − β1^s, bc2 = 1 − β2^s         // float64
//	p ← p − (η/bc1) · m / (√v/√bc2 + ε)
//
// State: exp_avg (m), exp_avg_sq (v)[, max_exp_avg_sq (vmax)], all zeros at the first turn.
type adamW struct{ base }

// State implements Rule.
func (r *adamW) State(param shapes.Shape) []StateSpec { return adamStateSpecs(param, r.cfg.AMSGrad) }

// StateBytes implements Rule.
func (r *adamW) StateBytes(dims []int) int64 {
	return stateBytes(r.State(shapeOf(dims)))
}

// Update implements Rule.
func (r *adamW) Update(p, g *Node, state []*Node, s, lr *Node, decay bool) (*Node, []*Node) {
	in := prepare(r, p, g, state, s, lr)
	pp := decoupledDecay(in.p, in.lr, r.wd(decay))
	pNew, newState := torchAdam(r.cfg, in, pp, in.grad, state)
	return in.finish(pNew), newState
}

// adamStateSpecs are the states of torch's Adam and AdamW.
func adamStateSpecs(param shapes.Shape, amsgrad bool) []StateSpec {
	specs := []StateSpec{f32Spec("exp_avg", param.Dimensions, 0), f32Spec("exp_avg_sq", param.Dimensions, 0)}
	if amsgrad {
		specs = append(specs, f32Spec("max_exp_avg_sq", param.Dimensions, 0))
	}
	return specs
}

// torchAdam is the part torch.optim.Adam and AdamW share (after Adam's L2 term or AdamW's decay):
// m, v[, vmax] and p ← p − (η/bc1)·m/(√v/√bc2 + ε), with torch's operation order
// (denom = sqrt(v)/sqrt(bc2) + ε; p.addcdiv_(m, denom, value=−η/bc1)).
func torchAdam(cfg Config, in inputs, p, grad *Node, state []*Node) (*Node, []*Node) {
	g := in.g
	m := ema(state[0], cfg.Beta1, grad)
	v := emaSq(state[1], cfg.Beta2, grad)
	bc1 := Sub(c64(g, 1), Pow(c64(g, cfg.Beta1), in.s))
	bc2 := Sub(c64(g, 1), Pow(c64(g, cfg.Beta2), in.s))
	stepSize := Div(in.lr, bc1)
	bc2Sqrt := Sqrt(bc2)
	vDen := v
	newState := []*Node{m, v}
	if cfg.AMSGrad {
		vmax := Max(state[2], v)
		newState = append(newState, vmax)
		vDen = vmax
	}
	denom := Add(Div(Sqrt(vDen), to32(bc2Sqrt)), c32(g, cfg.Eps))
	return addcdiv(p, m, denom, to32(Neg(stepSize))), newState
}
