// Package optim implements the optimizer update rules HiFT trains with, as GoMLX graph functions that
// reproduce PyTorch 1.13 / transformers 4.34 exactly (hift-algorithm.md §9).
//
// The HiFT trainer keeps, for every parameter, its own state tensors (always float32) and its own step count
// s, advanced only on that parameter's turns. For each active group it builds one graph that computes the
// gradients and then calls [Rule.Update] once per active parameter, feeding the parameter, its (unscaled,
// clipped) gradient, its state tensors in [Rule.State] order, s (this turn included) and the learning rate.
//
// Numerics follow the reference implementations: scalar factors (bias corrections 1−β1^s, √(1−β2^s), step
// sizes, ρ = 1 − s^decay_rate, …) are computed in float64 on scalar nodes, the way PyTorch computes them as
// Python floats, and converted to float32 once before they multiply a tensor; all tensor math is float32.
// The element-wise operation order mirrors the PyTorch kernels (e.g. addcdiv computes (value·t1)/t2).
// Adafactor's reductions (RMS, row and column means) accumulate in float64 and round to float32 once, to match
// PyTorch's accurate float32 reductions on large tensors (a naive float32 sum drifts by ~1e-4 relative).
//
// Supported rules (Config.Name): "adamw" (torch.optim.AdamW), "adamw_hf" (transformers.AdamW), "adam"
// (torch.optim.Adam), "sgd" (torch.optim.SGD), "adagrad" (torch.optim.Adagrad), "adafactor"
// (transformers.Adafactor), "rmsprop" (torch.optim.RMSprop) and "lion" (lion-pytorch / bitsandbytes Lion).
package optim

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX convention.
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Config holds every hyper-parameter of every rule; each rule reads only its own fields.
//
// Zero values are NOT the defaults: start from [Defaults] and override what the user set.
type Config struct {
	// Name selects the rule: one of [Names] ("adamw_torch" is accepted as an alias of "adamw").
	Name string
	// LR is the base learning rate η (the trainer's scheduler multiplies it and passes the result to
	// [Rule.Update] as the lr node). Adafactor with RelativeStep ignores it.
	LR float64
	// WeightDecay is λ: decoupled for adamw, adamw_hf, lion and adafactor; L2 (added to the gradient) for adam,
	// sgd, adagrad and rmsprop. It applies only to parameters updated with decay = true.
	WeightDecay float64

	// Beta1 and Beta2 are the moment decay rates β1, β2 (adam family, lion; adafactor's β1 when Beta1Set).
	Beta1, Beta2 float64
	// Eps is ε added to the denominator (adam family, adagrad, rmsprop); for adafactor it is ε1 (1e-30), the
	// constant added to g².
	Eps float64
	// AMSGrad keeps vmax = max(vmax, v) and uses it in the denominator (adamw, adam).
	AMSGrad bool
	// CorrectBias applies Adam's bias correction in adamw_hf (transformers.AdamW correct_bias, default true).
	CorrectBias bool

	// Momentum is μ (sgd, rmsprop); 0 keeps no momentum buffer.
	Momentum float64
	// Dampening is τ (sgd).
	Dampening float64
	// Nesterov selects Nesterov momentum (sgd; needs Momentum > 0 and Dampening == 0).
	Nesterov bool

	// LRDecay is adagrad's lr_decay: clr = η / (1 + (s−1)·lr_decay).
	LRDecay float64
	// InitialAccumulatorValue is adagrad's initial value of the sum of squares S.
	InitialAccumulatorValue float64

	// Alpha is rmsprop's smoothing constant α.
	Alpha float64
	// Centered selects centered rmsprop (normalises by an estimate of the gradient's variance).
	Centered bool

	// Eps2 is adafactor's ε2 (1e-3), the lower bound of the parameter scale RMS(p).
	Eps2 float64
	// ClipThreshold is adafactor's d: the update is divided by max(1, RMS(u)/d).
	ClipThreshold float64
	// DecayRate is adafactor's decay_rate c (−0.8): ρ = 1 − s^c.
	DecayRate float64
	// Beta1Set enables adafactor's first moment with Beta1 (transformers' beta1 is not None).
	Beta1Set bool
	// ScaleParameter multiplies adafactor's step size by max(ε2, RMS(p)).
	ScaleParameter bool
	// RelativeStep makes adafactor compute its own step size min(WarmupInit ? 1e-6·s : 1e-2, 1/√s) and
	// ignore the lr node.
	RelativeStep bool
	// WarmupInit selects adafactor's 1e-6·s warm-up in the relative step (needs RelativeStep).
	WarmupInit bool
	// LRSet records that the user gave an explicit learning rate (transformers' lr is not None). Adafactor
	// refuses LRSet together with RelativeStep, as transformers does.
	LRSet bool
}

// Rule names, as accepted in Config.Name.
const (
	NameAdamW     = "adamw"
	NameAdamWHF   = "adamw_hf"
	NameAdam      = "adam"
	NameSGD       = "sgd"
	NameAdagrad   = "adagrad"
	NameAdafactor = "adafactor"
	NameRMSprop   = "rmsprop"
	NameLion      = "lion"
)

// Names lists the supported rule names, in a fixed order.
func Names() []string {
	return []string{NameAdamW, NameAdamWHF, NameAdam, NameSGD, NameAdagrad, NameAdafactor, NameRMSprop, NameLion}
}

// canonicalName maps aliases (HF Trainer's "adamw_torch") and case to a name of Names(), or "" if unknown.
func canonicalName(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "adamw_torch" {
		n = NameAdamW
	}
	if slices.Contains(Names(), n) {
		return n
	}
	return ""
}

// Defaults returns the reference class defaults of the named rule (hift-algorithm.md §9 table, "Class
// defaults" column):
//
//   - adamw (torch.optim.AdamW): η 1e-3, β (0.9, 0.999), ε 1e-8, λ 1e-2, amsgrad off.
//   - adamw_hf (transformers.AdamW): η 1e-3, β (0.9, 0.999), ε 1e-6, λ 0, correct_bias on.
//   - adam (torch.optim.Adam): η 1e-3, β (0.9, 0.999), ε 1e-8, λ 0 (L2), amsgrad off.
//   - sgd (torch.optim.SGD): μ 0, τ 0, λ 0, nesterov off. torch has no lr default (lr is required): LR is set
//     to a placeholder 1e-3 that callers must override.
//   - adagrad (torch.optim.Adagrad): η 1e-2, lr_decay 0, λ 0, initial_accumulator_value 0, ε 1e-10.
//   - adafactor (transformers.Adafactor): ε (1e-30, 1e-3), clip_threshold 1, decay_rate −0.8, β1 unset, λ 0,
//     scale_parameter on, relative_step on, warmup_init off. transformers' lr default is None, which only
//     works with relative_step: LR is set to 1e-3 (used only once RelativeStep is turned off) and LRSet is
//     false. HF Trainer's settings are RelativeStep = ScaleParameter = false with LR = learning_rate.
//   - rmsprop (torch.optim.RMSprop): η 1e-2, α 0.99, ε 1e-8, λ 0, μ 0, centered off.
//   - lion (bitsandbytes Lion / lion-pytorch): η 1e-4, β (0.9, 0.99), λ 0.
func Defaults(name string) (Config, error) {
	n := canonicalName(name)
	c := Config{Name: n}
	switch n {
	case NameAdamW:
		c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay = 1e-3, 0.9, 0.999, 1e-8, 1e-2
	case NameAdamWHF:
		c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay, c.CorrectBias = 1e-3, 0.9, 0.999, 1e-6, 0, true
	case NameAdam:
		c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay = 1e-3, 0.9, 0.999, 1e-8, 0
	case NameSGD:
		c.LR = 1e-3
	case NameAdagrad:
		c.LR, c.Eps = 1e-2, 1e-10
	case NameAdafactor:
		c.LR, c.Eps, c.Eps2, c.ClipThreshold, c.DecayRate = 1e-3, 1e-30, 1e-3, 1.0, -0.8
		c.ScaleParameter, c.RelativeStep, c.WarmupInit = true, true, false
	case NameRMSprop:
		c.LR, c.Alpha, c.Eps = 1e-2, 0.99, 1e-8
	case NameLion:
		c.LR, c.Beta1, c.Beta2 = 1e-4, 0.9, 0.99
	default:
		return Config{}, fmt.Errorf("optim: unknown optimizer %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return c, nil
}

// Validate checks the hyper-parameters the configured rule uses, with the reference implementations' checks
// (torch's "Invalid ... value" ranges, transformers' Adafactor option conflicts) plus ε > 0: torch accepts
// ε = 0, but then a zero-gradient entry (e.g. an embedding padding row) divides 0 by 0.
func (c Config) Validate() error {
	n := canonicalName(c.Name)
	if n == "" {
		return fmt.Errorf("optim: unknown optimizer %q (known: %s)", c.Name, strings.Join(Names(), ", "))
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("optim %s: "+format, append([]any{n}, args...)...)
	}
	finite := func(name string, v float64) error {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return bad("%s must be finite, got %v", name, v)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"lr", c.LR}, {"weight_decay", c.WeightDecay}, {"beta1", c.Beta1}, {"beta2", c.Beta2}, {"eps", c.Eps},
		{"momentum", c.Momentum}, {"dampening", c.Dampening}, {"lr_decay", c.LRDecay},
		{"initial_accumulator_value", c.InitialAccumulatorValue}, {"alpha", c.Alpha}, {"eps2", c.Eps2},
		{"clip_threshold", c.ClipThreshold}, {"decay_rate", c.DecayRate}} {
		if err := finite(f.name, f.v); err != nil {
			return err
		}
	}
	if c.LR < 0 {
		return bad("invalid learning rate %v: must be >= 0", c.LR)
	}
	if c.WeightDecay < 0 {
		return bad("invalid weight_decay %v: must be >= 0", c.WeightDecay)
	}
	// betas checks β1, β2 ∈ [0, 1), or [0, 1] when closed (Lion).
	betas := func(closed bool) error {
		for _, b := range []struct {
			name string
			v    float64
		}{{"beta1", c.Beta1}, {"beta2", c.Beta2}} {
			if closed && (b.v < 0 || b.v > 1) {
				return bad("invalid %s %v: must be in [0, 1]", b.name, b.v)
			}
			if !closed && (b.v < 0 || b.v >= 1) {
				return bad("invalid %s %v: must be in [0, 1)", b.name, b.v)
			}
		}
		return nil
	}
	eps := func() error {
		if c.Eps <= 0 {
			return bad("invalid eps %v: must be > 0", c.Eps)
		}
		return nil
	}
	switch n {
	case NameAdamW, NameAdamWHF, NameAdam:
		if err := betas(false); err != nil {
			return err
		}
		return eps()
	case NameLion:
		return betas(true)
	case NameSGD:
		if c.Momentum < 0 {
			return bad("invalid momentum %v: must be >= 0", c.Momentum)
		}
		if c.Nesterov && (c.Momentum <= 0 || c.Dampening != 0) {
			return bad("Nesterov momentum requires a momentum > 0 and zero dampening (momentum %v, dampening %v)",
				c.Momentum, c.Dampening)
		}
		return nil
	case NameAdagrad:
		if c.LRDecay < 0 {
			return bad("invalid lr_decay %v: must be >= 0", c.LRDecay)
		}
		if c.InitialAccumulatorValue < 0 {
			return bad("invalid initial_accumulator_value %v: must be >= 0", c.InitialAccumulatorValue)
		}
		return eps()
	case NameRMSprop:
		if c.Alpha < 0 || c.Alpha > 1 {
			return bad("invalid alpha %v: must be in [0, 1]", c.Alpha)
		}
		if c.Momentum < 0 {
			return bad("invalid momentum %v: must be >= 0", c.Momentum)
		}
		return eps()
	case NameAdafactor:
		if c.LRSet && c.RelativeStep {
			return bad("cannot combine manual lr and relative_step=true options (as in transformers): " +
				"turn RelativeStep off or leave the lr unset")
		}
		if c.WarmupInit && !c.RelativeStep {
			return bad("warmup_init=true requires relative_step=true")
		}
		if c.Eps <= 0 {
			return bad("invalid eps1 %v: must be > 0", c.Eps)
		}
		if c.Eps2 < 0 {
			return bad("invalid eps2 %v: must be >= 0", c.Eps2)
		}
		if c.ClipThreshold <= 0 {
			return bad("invalid clip_threshold %v: must be > 0", c.ClipThreshold)
		}
		if c.DecayRate > 0 {
			return bad("invalid decay_rate %v: must be <= 0 (ρ = 1 − s^decay_rate)", c.DecayRate)
		}
		if c.Beta1Set && (c.Beta1 < 0 || c.Beta1 > 1) {
			return bad("invalid beta1 %v: must be in [0, 1]", c.Beta1)
		}
		return nil
	}
	return nil
}

// StateSpec describes one per-parameter state tensor. State tensors are always float32.
type StateSpec struct {
	// Name is the PyTorch state key (exp_avg, exp_avg_sq, momentum_buffer, sum, exp_avg_sq_row, ...).
	Name string
	// Shape is the tensor's shape (dtype float32).
	Shape shapes.Shape
	// Init is the value every element starts with when the state is created, at the parameter's first turn.
	Init float64
}

// Rule is one optimizer's update rule.
type Rule interface {
	// Config returns the (validated, canonically named) configuration of the rule.
	Config() Config

	// State lists the state tensors kept for a parameter of this shape, in the order Update takes and
	// returns them. adamw/adam: exp_avg, exp_avg_sq[, max_exp_avg_sq]; adamw_hf: exp_avg, exp_avg_sq; sgd:
	// momentum_buffer (only with momentum); adagrad: sum; adafactor: [exp_avg,] exp_avg_sq_row and
	// exp_avg_sq_col for ≥ 2-d parameters or exp_avg_sq otherwise; rmsprop: square_avg[, momentum_buffer]
	// [, grad_avg]; lion: exp_avg. The parameter's dtype is ignored.
	State(param shapes.Shape) []StateSpec

	// Update builds the update of one parameter.
	//
	// p is the parameter (any float dtype: the math runs in float32 and the result is converted back to p's
	// dtype); g its gradient (float32, already unscaled and clipped; other float dtypes are converted); state
	// the current state nodes in State() order; s a float64 scalar node with this parameter's step count
	// including this turn (>= 1); lr a float64 scalar node with this turn's learning rate; decay whether weight
	// decay applies to this parameter. It returns the new parameter value and the new state (same order).
	//
	// Update panics (the GoMLX graph-building convention) on mismatched shapes or state counts.
	Update(p, g *Node, state []*Node, s, lr *Node, decay bool) (*Node, []*Node)

	// StateBytes is the number of bytes of state kept for a parameter with these dimensions (for the memory
	// planner).
	StateBytes(dims []int) int64
}

// New validates cfg and returns its rule.
func New(cfg Config) (Rule, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Name = canonicalName(cfg.Name)
	return newRule(cfg), nil
}

// newRule builds the rule for an already canonically named cfg, without validating it; nil if unknown.
func newRule(cfg Config) Rule {
	b := base{cfg: cfg}
	var r Rule
	switch cfg.Name {
	case NameAdamW:
		r = &adamW{base: b}
	case NameAdamWHF:
		r = &adamWHF{base: b}
	case NameAdam:
		r = &adam{base: b}
	case NameSGD:
		r = &sgd{base: b}
	case NameAdagrad:
		r = &adagrad{base: b}
	case NameAdafactor:
		r = &adafactor{base: b}
	case NameRMSprop:
		r = &rmsprop{base: b}
	case NameLion:
		r = &lion{base: b}
	default:
		return nil
	}
	return r
}

// StateBytes returns the bytes of optimizer state (float32) kept for a parameter with the given dimensions
// under cfg: e.g. adamw 8 per element, sgd 0 (4 with momentum), adagrad 4, adafactor 4·(rows+cols) for a
// matrix and 4 per element for a vector. Only the fields that decide which state exists are read (Name,
// AMSGrad, Momentum, Centered, Beta1Set); it returns 0 for an unknown name.
func StateBytes(cfg Config, shape []int) int64 {
	cfg.Name = canonicalName(cfg.Name)
	r := newRule(cfg)
	if r == nil {
		return 0
	}
	return r.StateBytes(shape)
}

// base holds what every rule shares.
type base struct {
	cfg Config
}

// Config implements Rule.
func (b *base) Config() Config { return b.cfg }

// stateBytes sums the sizes of specs, at 4 bytes per float32.
func stateBytes(specs []StateSpec) int64 {
	var n int64
	for _, s := range specs {
		n += 4 * int64(s.Shape.Size())
	}
	return n
}

// wd returns the weight decay that applies to a parameter.
func (b *base) wd(decay bool) float64 {
	if !decay {
		return 0
	}
	return b.cfg.WeightDecay
}

// shapeOf is the float32 shape with these dimensions.
func shapeOf(dims []int) shapes.Shape { return shapes.Make(dtypes.Float32, slices.Clone(dims)...) }

// f32Spec is a float32 StateSpec.
func f32Spec(name string, dims []int, init float64) StateSpec {
	return StateSpec{Name: name, Shape: shapes.Make(dtypes.Float32, slices.Clone(dims)...), Init: init}
}

// inputs are Update's arguments after checking and conversion.
type inputs struct {
	g      *Graph
	pDType dtypes.DType
	p      *Node // float32
	grad   *Node // float32
	s, lr  *Node // float64 scalars
}

// prepare checks Update's arguments against the rule's State and converts them: p and grad to float32, s and
// lr to float64 scalars.
func prepare(r Rule, p, grad *Node, state []*Node, s, lr *Node) inputs {
	name := r.Config().Name
	if p == nil || grad == nil || s == nil || lr == nil {
		panic(fmt.Errorf("optim %s: Update needs non-nil p, g, s and lr", name))
	}
	if !p.DType().IsFloat() || !grad.DType().IsFloat() {
		panic(fmt.Errorf("optim %s: parameter (%s) and gradient (%s) must be float", name, p.Shape(), grad.Shape()))
	}
	if !slices.Equal(p.Shape().Dimensions, grad.Shape().Dimensions) {
		panic(fmt.Errorf("optim %s: gradient shape %s does not match parameter shape %s", name, grad.Shape(), p.Shape()))
	}
	if !s.IsScalar() || !lr.IsScalar() {
		panic(fmt.Errorf("optim %s: s (%s) and lr (%s) must be scalars", name, s.Shape(), lr.Shape()))
	}
	specs := r.State(p.Shape())
	if len(state) != len(specs) {
		panic(fmt.Errorf("optim %s: parameter %s needs %d state tensors, got %d", name, p.Shape(), len(specs), len(state)))
	}
	for i, spec := range specs {
		if state[i] == nil || state[i].DType() != dtypes.Float32 ||
			!slices.Equal(state[i].Shape().Dimensions, spec.Shape.Dimensions) {
			got := "nil"
			if state[i] != nil {
				got = state[i].Shape().String()
			}
			panic(fmt.Errorf("optim %s: state %q must be %s, got %s", name, spec.Name, spec.Shape, got))
		}
	}
	return inputs{
		g:      p.Graph(),
		pDType: p.DType(),
		p:      ConvertDType(p, dtypes.Float32),
		grad:   ConvertDType(grad, dtypes.Float32),
		s:      ConvertDType(s, dtypes.Float64),
		lr:     ConvertDType(lr, dtypes.Float64),
	}
}

// c32 is a float32 scalar constant, rounded from a float64 as PyTorch casts a Python float.
func c32(g *Graph, v float64) *Node { return Scalar(g, dtypes.Float32, v) }

// c64 is a float64 scalar constant.
func c64(g *Graph, v float64) *Node { return Scalar(g, dtypes.Float64, v) }

// to32 converts a float64 scalar factor to float32, once, before it multiplies a tensor.
func to32(x *Node) *Node { return ConvertDType(x, dtypes.Float32) }

// ema returns x·β + (1−β)·y, as torch's x.mul_(β).add_(y, alpha=1−β), with 1−β computed in float64.
func ema(x *Node, beta float64, y *Node) *Node {
	g := x.Graph()
	return Add(Mul(x, c32(g, beta)), Mul(c32(g, 1-beta), y))
}

// emaSq returns x·β + ((1−β)·y)·y, as torch's x.mul_(β).addcmul_(y, y, value=1−β).
func emaSq(x *Node, beta float64, y *Node) *Node {
	g := x.Graph()
	return Add(Mul(x, c32(g, beta)), Mul(Mul(c32(g, 1-beta), y), y))
}

// addcdiv returns x + (value·t1)/t2, as torch's x.addcdiv_(t1, t2, value) CPU kernel; value is a float32
// scalar node.
func addcdiv(x, t1, t2, value *Node) *Node { return Add(x, Div(Mul(value, t1), t2)) }

// l2 returns g + λ·p (torch's grad.add(param, alpha=λ)), or g unchanged when λ is 0.
func l2(grad, p *Node, wd float64) *Node {
	if wd == 0 {
		return grad
	}
	return Add(grad, Mul(c32(p.Graph(), wd), p))
}

// decoupledDecay returns p·(1 − lr·λ) with the factor computed in float64 (torch AdamW and Lion), or p when
// λ is 0.
func decoupledDecay(p, lr *Node, wd float64) *Node {
	if wd == 0 {
		return p
	}
	g := p.Graph()
	return Mul(p, to32(Sub(c64(g, 1), Mul(lr, c64(g, wd)))))
}

// finish converts the new parameter back to the parameter's dtype.
func (in inputs) finish(p *Node) *Node { return ConvertDType(p, in.pDType) }
