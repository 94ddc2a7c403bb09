package hift

import (
	"fmt"
	"github.com/hift-go/hift/data"
	"slices"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	hgraph "github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/hift/optim"
)

// groupStep holds the compiled programs of one distinct active group: gradients exist only for the group's
// parameters (autodiff stops at the lowest active unit), and the update touches only them.
type groupStep struct {
	key    string
	units  []int
	params []string // active parameters, in the model's order
	decay  []bool

	fused *Exec // forward + backward + clip + update (no gradient accumulation)
	accum *Exec // forward + backward, adding weight·grad into accumulators
	apply *Exec // clip + update from accumulated gradients

	half bool // Mixed^Hi: params are fp32 masters; bfloat16 copies are returned for the device

	firstCall  time.Duration // first execution (compile + run) of the fused or accumulate program
	calls      int
	totalTime  time.Duration
	boundNames []string
}

// stepInputs are what one step's program reads besides the model and the batch.
type stepInputs struct {
	state [][]*tensors.Tensor // per active parameter, in rule.State order
	s     []*tensors.Tensor   // per active parameter: float64 scalar, its step count including this turn
	lr    *tensors.Tensor     // float64 scalar
}

func newGroupStep(key string, units []int, m *hgraph.Model, decayAll bool) *groupStep {
	gs := &groupStep{key: key, units: units}
	in := map[string]bool{}
	for _, u := range units {
		for _, p := range m.Units[u].Params {
			in[p] = true
		}
	}
	for _, p := range m.Params {
		if in[p.Name] {
			gs.params = append(gs.params, p.Name)
			gs.decay = append(gs.decay, decayAll || !p.NoDecay)
		}
	}
	return gs
}

// clipAndUpdate clips the group's gradients by their global norm (torch clip_grad_norm_: coef =
// max_norm/(norm+1e-6), applied when < 1) and applies the optimizer. The update is applied only when the loss
// and the norm are finite: otherwise the new params and state are the old ones (the step is skipped inside the
// program, so a NaN never reaches the weights). Returns the norm, the finite flag (float32 1 or 0), new params
// and new state.
func clipAndUpdate(rule optim.Rule, maxNorm float64, loss *Node, params, grads []*Node, state [][]*Node, s []*Node, lr *Node, decay []bool) (*Node, *Node, []*Node, [][]*Node) {
	g := params[0].Graph()
	var sumSq *Node
	for _, gr := range grads {
		sq := ReduceAllSum(Square(ConvertDType(gr, grads[0].DType())))
		if sumSq == nil {
			sumSq = sq
		} else {
			sumSq = Add(sumSq, sq)
		}
	}
	norm := Sqrt(sumSq) // []
	if maxNorm > 0 {
		coef := Min(Div(Scalar(g, norm.DType(), maxNorm), AddScalar(norm, 1e-6)), ScalarOne(g, norm.DType()))
		for i := range grads {
			grads[i] = Mul(grads[i], ConvertDType(coef, grads[i].DType()))
		}
	}
	newP := make([]*Node, len(params))
	newS := make([][]*Node, len(params))
	finite := LogicalAnd(IsFinite(ConvertDType(loss, norm.DType())), IsFinite(norm)) // [] bool
	for i := range params {
		p, st := rule.Update(params[i], grads[i], state[i], s[i], lr, decay[i])
		newP[i] = Where(finite, p, params[i])
		newS[i] = make([]*Node, len(st))
		for j := range st {
			newS[i][j] = Where(finite, st[j], state[i][j])
		}
	}
	return norm, ConvertDType(finite, norm.DType()), newP, newS
}

// splitStepInputs cuts the flat trailing inputs [state..., s..., lr] of a step program.
func splitStepInputs(rule optim.Rule, params []*Node, rest []*Node) ([][]*Node, []*Node, *Node) {
	state := make([][]*Node, len(params))
	i := 0
	for p := range params {
		n := len(rule.State(params[p].Shape()))
		state[p] = rest[i : i+n]
		i += n
	}
	s := rest[i : i+len(params)]
	return state, s, rest[i+len(params)]
}

// flattenOutputs lays out a step's outputs: loss, norm, finite flag, new params, [their bfloat16 copies,] new
// state.
func flattenOutputs(loss, norm, finite *Node, newP []*Node, half bool, newS [][]*Node) []*Node {
	out := []*Node{loss, norm, finite}
	out = append(out, newP...)
	if half {
		for _, p := range newP {
			out = append(out, hgraph.ToBFloat16(p))
		}
	}
	for _, st := range newS {
		out = append(out, st...)
	}
	return out
}

// buildFused compiles forward + backward (group only) + clip + update.
func (gs *groupStep) buildFused(be backends.Backend, m *hgraph.Model, rule optim.Rule, maxNorm float64, names []string) error {
	nb := len(names)
	exec, err := NewExec(be, func(inputs []*Node) []*Node {
		w, b := hgraph.BindInputs(m, names, inputs[:nb])
		o := m.Forward(w, b)
		if o.Loss == nil {
			panic(fmt.Errorf("training needs a loss: the batch has no labels"))
		}
		params := make([]*Node, len(gs.params))
		for i, p := range gs.params {
			params[i] = w[p]
		}
		grads := Gradient(o.Loss, params...)
		state, s, lr := splitStepInputs(rule, params, inputs[nb:])
		norm, finite, newP, newS := clipAndUpdate(rule, maxNorm, o.Loss, params, grads, state, s, lr, gs.decay)
		return flattenOutputs(o.Loss, norm, finite, newP, gs.half, newS)
	})
	if err != nil {
		return err
	}
	gs.fused = exec.WithName("hift_step_" + gs.key)
	return nil
}

// buildAccum compiles forward + backward returning weight·loss and acc + weight·grad (first micro-batch: no
// accumulator inputs).
func (gs *groupStep) buildAccum(be backends.Backend, m *hgraph.Model, names []string) error {
	nb := len(names)
	exec, err := NewExec(be, func(inputs []*Node) []*Node {
		w, b := hgraph.BindInputs(m, names, inputs[:nb])
		o := m.Forward(w, b)
		if o.Loss == nil {
			panic(fmt.Errorf("training needs a loss: the batch has no labels"))
		}
		params := make([]*Node, len(gs.params))
		for i, p := range gs.params {
			params[i] = w[p]
		}
		weight := inputs[nb] // float32 scalar: this micro-batch's share of the loss
		loss := Mul(o.Loss, ConvertDType(weight, o.Loss.DType()))
		grads := Gradient(loss, params...)
		acc := inputs[nb+1:]
		out := []*Node{loss}
		for i, gr := range grads {
			if len(acc) > 0 {
				gr = Add(acc[i], gr)
			}
			out = append(out, gr)
		}
		return out
	})
	if err != nil {
		return err
	}
	gs.accum = exec.WithName("hift_accum_" + gs.key)
	return nil
}

// buildApply compiles clip + update from accumulated gradients. Inputs: params, grads, loss (float32 scalar,
// the accumulated loss), state..., s..., lr.
func (gs *groupStep) buildApply(be backends.Backend, rule optim.Rule, maxNorm float64) error {
	np := len(gs.params)
	exec, err := NewExec(be, func(inputs []*Node) []*Node {
		params, grads := inputs[:np], append([]*Node(nil), inputs[np:2*np]...)
		loss := inputs[2*np]
		state, s, lr := splitStepInputs(rule, params, inputs[2*np+1:])
		norm, finite, newP, newS := clipAndUpdate(rule, maxNorm, loss, params, grads, state, s, lr, gs.decay)
		return flattenOutputs(loss, norm, finite, newP, gs.half, newS)
	})
	if err != nil {
		return err
	}
	gs.apply = exec.WithName("hift_apply_" + gs.key)
	return nil
}

// toTensors converts a data batch to GoMLX tensors.
func toTensors(b data.Batch) map[string]*tensors.Tensor {
	out := map[string]*tensors.Tensor{}
	for name, c := range b {
		if c.Ints != nil {
			out[name] = tensors.FromFlatDataAndDimensions(slices.Clone(c.Ints), c.Shape...)
		} else {
			out[name] = tensors.FromFlatDataAndDimensions(slices.Clone(c.Floats), c.Shape...)
		}
	}
	return out
}

// lossTokens is the number of loss terms of a batch, used to weight micro-batches: label tokens scored by the
// causal-LM loss (shifted, != -100), labelled tokens for token classification, examples otherwise.
func lossTokens(task hgraph.Task, b data.Batch) float64 {
	lab, ok := b["labels"]
	if !ok || lab.Ints == nil || len(lab.Shape) < 2 {
		return float64(b.Rows())
	}
	n := 0
	rowLen := lab.Shape[len(lab.Shape)-1]
	for i, v := range lab.Ints {
		if v == hgraph.IgnoreIndex {
			continue
		}
		if task == hgraph.TaskCausalLM && i%rowLen == 0 {
			continue // position 0 is never a target after the shift
		}
		n++
	}
	return float64(max(n, 1))
}
