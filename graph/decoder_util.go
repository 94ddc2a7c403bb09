package graph

// Helpers shared by the decoder-only architecture files (gpt2.go, gptneo.go, gptneox.go, opt.go). They know no
// HF names: each architecture file passes its own.

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// paramAdder returns a function that appends a parameter to m.Params (so calls must follow HF's
// named_parameters order) and to the unit u (so a unit's list follows the same order).
func paramAdder(m *Model) func(u *Unit, name string, noDecay bool, shape ...int) {
	return func(u *Unit, name string, noDecay bool, shape ...int) {
		m.Params = append(m.Params, ParamSpec{Name: name, Shape: shape, NoDecay: noDecay})
		u.Params = append(u.Params, name)
	}
}

// decoderHead checks that task is one a decoder-only family implements (causal LM, sequence classification)
// and, for sequence classification, decodes the head fields; the model config's pad token (after its class
// default) fills in a head without one.
func decoderHead(cfg *Config, task Task, family string, padTokenID *int) (HeadConfig, error) {
	switch task {
	case TaskCausalLM:
		return HeadConfig{}, nil
	case TaskSeqCls:
		head, err := cfg.Head()
		if err != nil {
			return head, err
		}
		if head.PadTokenID == nil {
			head.PadTokenID = padTokenID
		}
		return head, nil
	}
	return HeadConfig{}, fmt.Errorf("task %s is not implemented for %s", task, family)
}

// decoderOutputs fills logits and loss from the final hidden state x [B, T, D']: for a causal LM
// logits = x·headᵀ over every position (head [V, D']); for sequence classification the score head [C, D'] is
// applied at HF's pooled position (the token before the first pad).
func decoderOutputs(out *Outputs, task Task, head HeadConfig, x, headWeight *Node, b *Batch) {
	switch task {
	case TaskCausalLM:
		out.Logits = Linear(x, headWeight, nil) // [B, T, V]
		if b.Labels != nil {
			out.Loss = CausalLMLoss(out.Logits, b.Labels)
		}
	case TaskSeqCls:
		all := Linear(x, headWeight, nil)                                      // [B, T, C]
		out.Logits = PoolAt(all, LastNonPadIndex(b.InputIDs, head.PadTokenID)) // [B, C]
		if b.Labels != nil {
			out.Loss = SequenceClassificationLoss(out.Logits, b.Labels, head)
		}
	default:
		panicf("task %s is not implemented for this decoder", task)
	}
}

// layerNormW applies the nn.LayerNorm named prefix (".weight" and ".bias" when affine; none otherwise).
func layerNormW(w Weights, prefix string, x *Node, eps float64, affine bool) *Node {
	if !affine {
		return LayerNorm(x, nil, nil, eps)
	}
	return LayerNorm(x, w.Get(prefix+".weight"), w.Get(prefix+".bias"), eps)
}

// positionRows returns the first T rows of a learned position table [P, D] as [1, T, D] (positions
// 0..T-1, HF's default when position_ids is not passed). Slicing is differentiable (vjp.go).
func positionRows(table *Node, seq int) *Node {
	d := table.Shape().Dimensions
	if seq > d[0] {
		panicf("sequence length %d exceeds the %d learned positions", seq, d[0])
	}
	rows := SliceAxis(table, 0, AxisRange(0, seq)) // [T, D]
	return Reshape(rows, 1, seq, d[1])             // [1, T, D]
}

// maskCumSum returns cumsum(mask, axis 1)·mask for an integer mask [B, T] as int32 [B, T], without CumSum
// (a SumPool, which SimpleGo may lack): a count of the real tokens at or before each position.
func maskCumSum(mask *Node) *Node {
	g := mask.Graph()
	d := mask.Shape().Dimensions
	B, T := d[0], d[1]
	m := ConvertDType(mask, dtypes.Int32)                       // [B, T]
	sPos := Iota(g, shapes.Make(dtypes.Int32, T, T), 1)         // [T, T] summed position s
	tPos := Iota(g, shapes.Make(dtypes.Int32, T, T), 0)         // [T, T] output position t
	upto := ConvertDType(LessOrEqual(sPos, tPos), dtypes.Int32) // [T, T] 1 where s <= t
	terms := Mul(Reshape(upto, 1, T, T), Reshape(m, B, 1, T))   // [B, T, T]
	return Mul(ReduceSum(terms, -1), m)                         // [B, T]
}
