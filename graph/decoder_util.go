package graph

// Helpers shared by the decoder-only architecture files (gpt2.go, gptneo.go, gptneox.go, opt.go, llama.go). Apart
// from the task heads' names, which HF shares across these families, each architecture file passes its own.

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

// decoderHead checks that task is one a decoder-only family implements (causal LM, sequence classification,
// token classification, question answering; the registration decides which classes exist) and decodes the head
// fields; for sequence classification the model config's pad token (after its class default) fills in a head
// without one. HF's decoder QA heads are nn.Linear(hidden, 2) whatever num_labels says, so QA has 2 outputs.
func decoderHead(cfg *Config, task Task, family string, padTokenID *int) (HeadConfig, error) {
	switch task {
	case TaskCausalLM:
		return HeadConfig{}, nil
	case TaskQA:
		return HeadConfig{NumLabels: 2}, nil
	case TaskSeqCls, TaskTokenCls:
		head, err := cfg.Head()
		if err != nil {
			return head, err
		}
		if task == TaskSeqCls && head.PadTokenID == nil {
			head.PadTokenID = padTokenID
		}
		return head, nil
	}
	return HeadConfig{}, withKind(ErrUnsupportedArchitecture, fmt.Errorf("task %s is not implemented for %s", task, family))
}

// decoderTaskHead appends the head unit of a non-LM task reading hidden states of width in, with HF's names
// (*ForSequenceClassification: score, no bias; *ForTokenClassification: classifier; *ForQuestionAnswering:
// qa_outputs with 2 outputs), and returns the head's module name.
func decoderTaskHead(m *Model, task Task, head HeadConfig, in int) string {
	add := paramAdder(m)
	var u Unit
	switch task {
	case TaskSeqCls:
		u = Unit{Name: "score"}
		add(&u, "score.weight", false, head.NumLabels, in)
	case TaskTokenCls:
		u = Unit{Name: "classifier"}
		add(&u, "classifier.weight", false, head.NumLabels, in)
		add(&u, "classifier.bias", true, head.NumLabels)
	case TaskQA:
		u = Unit{Name: "qa_outputs"}
		add(&u, "qa_outputs.weight", false, 2, in)
		add(&u, "qa_outputs.bias", true, 2)
	default:
		panicf("decoderTaskHead: task %s has no task head", task)
	}
	m.Units = append(m.Units, u)
	return u.Name
}

// decoderCheckInputs rejects batches a decoder cannot take: input_ids that are not [B, T] (multiple choice
// [B, C, T] is an encoder task) and token_type_ids for families whose HF forward has no such input (GPT-2 and
// GPT-Neo embed them with wte; OPT and LLaMA have no argument; GPT-NeoX's heads accept and ignore it).
func decoderCheckInputs(b *Batch, family string, tokenTypes bool) {
	if b.InputIDs.Rank() != 2 {
		panicf("%s: input_ids must be [batch, seq], got %v", family, b.InputIDs.Shape().Dimensions)
	}
	if b.TokenTypeIDs != nil && !tokenTypes {
		panicf("%s: token_type_ids is not an input of this model (HF's forward does not use it); remove it from the batch", family)
	}
}

// decoderOutputs fills logits and loss from the final hidden state x [B, T, D'] with the head module named
// module: for a causal LM logits = x·Wᵀ over every position (W [V, D']); for sequence classification the score
// head [C, D'] is applied at HF's pooled position (the token before the first pad); token classification scores
// every position (loss: CE ignoring -100); question answering splits qa_outputs into start and end logits.
func decoderOutputs(out *Outputs, task Task, head HeadConfig, x *Node, w Weights, module string, b *Batch) {
	d := x.Shape().Dimensions
	B, T := d[0], d[1]
	switch task {
	case TaskCausalLM:
		out.Logits = Linear(x, w.Get(module+".weight"), nil) // [B, T, V]
		if b.Labels != nil {
			out.Loss = CausalLMLoss(out.Logits, b.Labels)
		}
	case TaskSeqCls:
		all := Linear(x, w.Get(module+".weight"), nil)                         // [B, T, C]
		out.Logits = PoolAt(all, LastNonPadIndex(b.InputIDs, head.PadTokenID)) // [B, C]
		if b.Labels != nil {
			out.Loss = SequenceClassificationLoss(out.Logits, b.Labels, head)
		}
	case TaskTokenCls:
		out.Logits = LinearW(w, module, x, true) // [B, T, C]
		if b.Labels != nil {
			out.Loss = TokenClassificationLoss(out.Logits, b.Labels)
		}
	case TaskQA:
		logits := LinearW(w, module, x, true)                              // [B, T, 2]
		out.StartLogits = Reshape(SliceAxis(logits, 2, AxisElem(0)), B, T) // [B, T]
		out.EndLogits = Reshape(SliceAxis(logits, 2, AxisElem(1)), B, T)   // [B, T]
		if b.StartPositions != nil && b.EndPositions != nil {
			out.Loss = QuestionAnsweringLoss(out.StartLogits, out.EndLogits, b.StartPositions, b.EndPositions)
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
