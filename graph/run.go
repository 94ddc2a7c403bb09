package graph

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// ForwardOptions selects what RunForward returns besides logits and loss.
type ForwardOptions struct {
	// Grads adds "grad.<name>" for every trainable parameter (needs a loss, i.e. labels in the batch).
	Grads bool
	// Hidden adds "hidden_states.<i>" (HF output_hidden_states).
	Hidden bool
}

// BoundInputs lists the graph inputs of a model call in a fixed order: the model's parameters, the buffers
// present in weights, then the batch tensors present in batch (in BatchInputNames order).
func BoundInputs(m *Model, weights, batch map[string]*tensors.Tensor) (names []string, args []any, err error) {
	for _, p := range m.Params {
		t, ok := weights[p.Name]
		if !ok {
			return nil, nil, fmt.Errorf("weight %q is not loaded", p.Name)
		}
		names, args = append(names, p.Name), append(args, t)
	}
	for _, p := range m.Buffers {
		if t, ok := weights[p.Name]; ok {
			names, args = append(names, p.Name), append(args, t)
		}
	}
	if _, ok := batch["input_ids"]; !ok {
		return nil, nil, fmt.Errorf("batch has no input_ids")
	}
	for _, n := range BatchInputNames {
		if t, ok := batch[n]; ok {
			names, args = append(names, "batch."+n), append(args, t)
		}
	}
	return names, args, nil
}

// BindInputs maps graph input nodes (in BoundInputs order) to Weights (with tied aliases) and a Batch.
func BindInputs(m *Model, names []string, inputs []*Node) (Weights, *Batch) {
	w := Weights{}
	b := &Batch{}
	for i, n := range names {
		if len(n) > 6 && n[:6] == "batch." {
			*b.field(n[6:]) = inputs[i]
			continue
		}
		// Half-precision weights (Mixed^Hi keeps them on the device in bfloat16) are computed in float32.
		if dt := inputs[i].DType(); dt == dtypes.BFloat16 || dt == dtypes.Float16 {
			w[n] = ConvertDType(inputs[i], dtypes.Float32)
		} else {
			w[n] = inputs[i]
		}
	}
	for alias, owner := range m.Tied {
		w[alias] = w[owner]
	}
	return w, b
}

// RunForward runs the model once on a batch (float32) and returns "logits" (QA: "start_logits",
// "end_logits"), "loss" when the batch has labels, and what opts asks for.
func RunForward(backend backends.Backend, m *Model, weights, batch map[string]*tensors.Tensor, opts ForwardOptions) (result map[string]*tensors.Tensor, err error) {
	PatchGoMLX()
	names, args, err := BoundInputs(m, weights, batch)
	if err != nil {
		return nil, err
	}
	var outNames []string
	fn := func(inputs []*Node) []*Node {
		w, b := BindInputs(m, names, inputs)
		o := m.Forward(w, b)
		var outs []*Node
		outNames = outNames[:0]
		push := func(name string, n *Node) {
			if n != nil {
				outNames, outs = append(outNames, name), append(outs, n)
			}
		}
		push("logits", o.Logits)
		push("start_logits", o.StartLogits)
		push("end_logits", o.EndLogits)
		push("loss", o.Loss)
		if opts.Hidden {
			for i, h := range o.Hidden {
				push(fmt.Sprintf("hidden_states.%d", i), h)
			}
		}
		if opts.Grads {
			if o.Loss == nil {
				panicf("gradients need a loss: the batch has no labels")
			}
			params := make([]*Node, len(m.Params))
			for i, p := range m.Params {
				params[i] = w[p.Name]
			}
			for i, gr := range Gradient(o.Loss, params...) {
				push("grad."+m.Params[i].Name, gr)
			}
		}
		return outs
	}
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, fmt.Errorf("%s forward: %v", m.Class, r)
		}
	}()
	exec, err := NewExec(backend, fn)
	if err != nil {
		return nil, fmt.Errorf("%s forward: %w", m.Class, err)
	}
	defer exec.Finalize()
	outs, err := exec.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("%s forward: %w", m.Class, err)
	}
	result = make(map[string]*tensors.Tensor, len(outs))
	for i, t := range outs {
		result[outNames[i]] = t
	}
	return result, nil
}

// SortedKeys returns the keys of a tensor map in order.
func SortedKeys(m map[string]*tensors.Tensor) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
