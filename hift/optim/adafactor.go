package optim

import (
	"math"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX convention.
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// adafactor is transformers.optimization.Adafactor (4.34), computed in float32:
//
//	ρ = 1 − s^decay_rate                                   // float64; 0 on the first turn
//	α = η, or min(warmup_init ? 1e-6·s : 1e-2, 1/√s) with relative_step (the lr node is then ignored)
//	α ← α · max(ε2, RMS(p))                                // scale_parameter; RMS(p) of p before this turn
//	G = g² + ε1
//	≥ 2 dims (factored):
//	    R ← ρ·R + (1−ρ)·mean(G, last axis)                 // shape dims[:-1]
//	    C ← ρ·C + (1−ρ)·mean(G, second-to-last axis)       // shape dims[:-2] + dims[-1:]
//	    u = (R/mean(R, -1))^-½ [..., :, None] · C^-½ [..., None, :] · g
//	< 2 dims:
//	    V ← ρ·V + (1−ρ)·G ; u = V^-½ · g
//	u ← u / max(1, RMS(u)/clip_threshold)
//	u ← α·u
//	β1 set: M ← β1·M + (1−β1)·u ; u = M
//	p ← p − λ·α·p                                          // only when λ ≠ 0, before subtracting u
//	p ← p − u
//
// RMS(x) = ‖x‖₂/√numel over the whole tensor. x^-½ is computed as 1/√x (Rsqrt has no gradient in GoMLX
// and torch's rsqrt is 1/sqrt on CPU).
//
// State, in transformers' order: [exp_avg (M) when β1 is set,] exp_avg_sq_row (R) and exp_avg_sq_col (C) for
// ≥ 2-d parameters, or exp_avg_sq (V) otherwise; zeros.
type adafactor struct{ base }

// State implements Rule.
func (r *adafactor) State(param shapes.Shape) []StateSpec {
	dims := param.Dimensions
	var specs []StateSpec
	if r.cfg.Beta1Set {
		specs = append(specs, f32Spec("exp_avg", dims, 0))
	}
	if n := len(dims); n >= 2 {
		specs = append(specs,
			f32Spec("exp_avg_sq_row", dims[:n-1], 0),
			f32Spec("exp_avg_sq_col", append(slices.Clone(dims[:n-2]), dims[n-1]), 0))
	} else {
		specs = append(specs, f32Spec("exp_avg_sq", dims, 0))
	}
	return specs
}

// StateBytes implements Rule.
func (r *adafactor) StateBytes(dims []int) int64 { return stateBytes(r.State(shapeOf(dims))) }

// rms returns ‖x‖₂/√numel (transformers' _rms: tensor.norm(2) / numel**0.5) as a float32 scalar. The sum of
// squares accumulates in float64: SimpleGo's float32 ReduceSum adds sequentially, which for a 4096×4096
// weight loses ~1e-4 relative, far more than PyTorch's vectorised/cascaded float32 reduction.
func rms(x *Node) *Node {
	x64 := ConvertDType(x, dtypes.Float64)
	ss := ReduceAllSum(Mul(x64, x64))
	return ConvertDType(Div(Sqrt(ss), c64(x.Graph(), math.Sqrt(float64(x.Shape().Size())))), dtypes.Float32)
}

// meanAxis is torch's x.mean(dim=axis) for a float32 x: the sum over axis divided by its dimension,
// accumulated in float64 (see rms) and rounded to float32 once.
func meanAxis(x *Node, axis int) *Node {
	if axis < 0 {
		axis += x.Rank()
	}
	sum := ReduceSum(ConvertDType(x, dtypes.Float64), axis)
	return ConvertDType(Div(sum, c64(x.Graph(), float64(x.Shape().Dimensions[axis]))), dtypes.Float32)
}

// rsqrt is 1/√x (not GoMLX's Rsqrt, which has no VJP; same value as torch's CPU rsqrt).
func rsqrt(x *Node) *Node { return Div(ScalarOne(x.Graph(), x.DType()), Sqrt(x)) }

// Update implements Rule.
func (r *adafactor) Update(p, g *Node, state []*Node, s, lr *Node, decay bool) (*Node, []*Node) {
	in := prepare(r, p, g, state, s, lr)
	cfg := r.cfg
	gr := in.g
	dims := in.p.Shape().Dimensions

	// _get_lr, in float64 (Python floats), converted once.
	alpha := in.lr
	if cfg.RelativeStep {
		minStep := c64(gr, 1e-2)
		if cfg.WarmupInit {
			minStep = Mul(c64(gr, 1e-6), in.s)
		}
		alpha = Min(minStep, Div(c64(gr, 1), Sqrt(in.s)))
	}
	if cfg.ScaleParameter {
		paramScale := Max(c64(gr, cfg.Eps2), ConvertDType(rms(in.p), dtypes.Float64))
		alpha = Mul(paramScale, alpha)
	}
	alpha32 := to32(alpha)

	rho := Sub(c64(gr, 1), Pow(in.s, c64(gr, cfg.DecayRate)))
	rho32, oneMinusRho32 := to32(rho), to32(Sub(c64(gr, 1), rho))
	emaRho := func(x, y *Node) *Node { return Add(Mul(x, rho32), Mul(oneMinusRho32, y)) }

	var newState []*Node
	sq := state
	if cfg.Beta1Set {
		sq = state[1:]
	}
	upd := Add(Mul(in.grad, in.grad), c32(gr, cfg.Eps))
	var u *Node
	if len(dims) >= 2 {
		row := emaRho(sq[0], meanAxis(upd, -1))
		col := emaRho(sq[1], meanAxis(upd, -2))
		newState = append(newState, row, col)
		rMean := ExpandAxes(meanAxis(row, -1), -1)                                  // keepdim
		rFactor := BroadcastToDims(ExpandAxes(rsqrt(Div(row, rMean)), -1), dims...) // [..., rows, 1]
		cFactor := BroadcastToDims(ExpandAxes(rsqrt(col), -2), dims...)             // [..., 1, cols]
		u = Mul(Mul(rFactor, cFactor), in.grad)
	} else {
		v := emaRho(sq[0], upd)
		newState = append(newState, v)
		u = Mul(rsqrt(v), in.grad)
	}
	u = Div(u, Max(Div(rms(u), c32(gr, cfg.ClipThreshold)), c32(gr, 1)))
	u = Mul(u, alpha32)
	if cfg.Beta1Set {
		m := ema(state[0], cfg.Beta1, u)
		newState = append([]*Node{m}, newState...)
		u = m
	}
	pNew := in.p
	if wd := r.wd(decay); wd != 0 {
		// p.add_(p, alpha=−λ·α)
		pNew = Add(pNew, Mul(to32(Mul(c64(gr, -wd), alpha)), pNew))
	}
	pNew = Sub(pNew, u)
	return in.finish(pNew), newState
}
