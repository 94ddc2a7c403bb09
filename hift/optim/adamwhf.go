package optim

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX convention.
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// adamWHF is transformers.AdamW (4.34, the deprecated "adamw_hf"):
//
//	m ← β1·m + (1−β1)·g
//	v ← β2·v + (1−β2)·g²
//	step = η·√(1−β2^s)/(1−β1^s)           // float64; step = η without correct_bias
//	p ← p − step · m / (√v + ε)           // ε not bias-corrected
//	p ← p − η·λ·p                         // decay AFTER the update, on the updated p, only when λ > 0
//
// State: exp_avg (m), exp_avg_sq (v), zeros at the first turn.
type adamWHF struct{ base }

// State implements Rule.
func (r *adamWHF) State(param shapes.Shape) []StateSpec { return adamStateSpecs(param, false) }

// StateBytes implements Rule.
func (r *adamWHF) StateBytes(dims []int) int64 {
	return stateBytes(r.State(shapeOf(dims)))
}

// Update implements Rule.
func (r *adamWHF) Update(p, g *Node, state []*Node, s, lr *Node, decay bool) (*Node, []*Node) {
	in := prepare(r, p, g, state, s, lr)
	gr := in.g
	m := ema(state[0], r.cfg.Beta1, in.grad)
	v := emaSq(state[1], r.cfg.Beta2, in.grad)
	denom := Add(Sqrt(v), c32(gr, r.cfg.Eps))
	stepSize := in.lr
	if r.cfg.CorrectBias {
		bc1 := Sub(c64(gr, 1), Pow(c64(gr, r.cfg.Beta1), in.s))
		bc2 := Sub(c64(gr, 1), Pow(c64(gr, r.cfg.Beta2), in.s))
		stepSize = Div(Mul(stepSize, Sqrt(bc2)), bc1)
	}
	pNew := addcdiv(in.p, m, denom, to32(Neg(stepSize)))
	if wd := r.wd(decay); wd > 0 {
		// p.add_(p, alpha=−η·λ)
		pNew = Add(pNew, Mul(to32(Mul(in.lr, c64(gr, -wd))), pNew))
	}
	return in.finish(pNew), []*Node{m, v}
}
