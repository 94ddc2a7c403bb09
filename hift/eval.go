package hift

import (
	"fmt"
	"io"
	"math"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/data"
	hgraph "github.com/hift-go/hift/graph"
)

// EvalMetrics are the evaluation results of a dataset; fields that do not apply to the task are zero.
type EvalMetrics struct {
	Examples   int     `json:"eval_examples"`
	Loss       float64 `json:"eval_loss"`
	Perplexity float64 `json:"eval_perplexity,omitempty"` // causal LM: exp(token-weighted loss)
	Accuracy   float64 `json:"eval_accuracy,omitempty"`   // classification, token classification, multiple choice
	MacroF1    float64 `json:"eval_macro_f1,omitempty"`   // classification, token classification
	ExactMatch float64 `json:"eval_exact_match,omitempty"`
	SpanF1     float64 `json:"eval_f1,omitempty"` // QA: token-overlap F1 of predicted vs gold spans
}

// maxAnswerTokens bounds predicted QA spans, as HF's run_qa (max_answer_length 30).
const maxAnswerTokens = 30

// Evaluate runs the model over every example of ds (in order, batches of batchSize) without training.
func Evaluate(be backends.Backend, m *hgraph.Model, weights map[string]*tensors.Tensor, ds *data.TensorDataset, batchSize int) (EvalMetrics, error) {
	return EvaluateWithProgress(be, m, weights, ds, batchSize, nil)
}

// EvaluateWithProgress is Evaluate calling onBatch(done, total) before each batch and once at the end (nil:
// no calls), so a caller can show the evaluation's progress.
func EvaluateWithProgress(be backends.Backend, m *hgraph.Model, weights map[string]*tensors.Tensor, ds *data.TensorDataset, batchSize int,
	onBatch func(done, total int)) (EvalMetrics, error) {
	var em EvalMetrics
	loader, err := data.NewLoader(ds, batchSize, false, false, 0)
	if err != nil {
		return em, err
	}
	f := hgraph.NewForwarder(be, m)
	var lossSum, weightSum float64
	var correct, total int
	conf := map[[2]int]int{} // (gold, predicted) counts
	var spanF1 float64
	if onBatch != nil {
		defer func() { onBatch(loader.BatchesPerEpoch(), loader.BatchesPerEpoch()) }()
	}
	for i := 0; i < loader.BatchesPerEpoch(); i++ {
		if onBatch != nil {
			onBatch(i, loader.BatchesPerEpoch())
		}
		b := loader.Next()
		out, err := f.Run(weights, toTensors(b))
		if err != nil {
			return em, err
		}
		em.Examples += b.Rows()
		if l, ok := out["loss"]; ok {
			w := lossTokens(m.Task, b)
			lossSum += float64(tensors.ToScalar[float32](l)) * w
			weightSum += w
		}
		switch m.Task {
		case hgraph.TaskSeqCls, hgraph.TaskMultipleChoice:
			lab, ok := b["labels"]
			if !ok || lab.Ints == nil {
				continue
			}
			logits := tensors.MustCopyFlatData[float32](out["logits"])
			C := len(logits) / len(lab.Ints)
			for r, y := range lab.Ints {
				p := argmax(logits[r*C : (r+1)*C])
				conf[[2]int{int(y), p}]++
				if p == int(y) {
					correct++
				}
				total++
			}
		case hgraph.TaskTokenCls:
			lab := b["labels"]
			logits := tensors.MustCopyFlatData[float32](out["logits"])
			C := len(logits) / len(lab.Ints)
			for i, y := range lab.Ints {
				if y == hgraph.IgnoreIndex {
					continue
				}
				p := argmax(logits[i*C : (i+1)*C])
				conf[[2]int{int(y), p}]++
				if p == int(y) {
					correct++
				}
				total++
			}
		case hgraph.TaskQA:
			gs, ge := b["start_positions"], b["end_positions"]
			if gs.Ints == nil {
				continue
			}
			sl := tensors.MustCopyFlatData[float32](out["start_logits"])
			el := tensors.MustCopyFlatData[float32](out["end_logits"])
			T := len(sl) / len(gs.Ints)
			for r := range gs.Ints {
				s, e := bestSpan(sl[r*T:(r+1)*T], el[r*T:(r+1)*T])
				g0, g1 := int(gs.Ints[r]), int(ge.Ints[r])
				if s == g0 && e == g1 {
					correct++
				}
				overlap := min(e, g1) - max(s, g0) + 1
				if overlap > 0 {
					prec, rec := float64(overlap)/float64(e-s+1), float64(overlap)/float64(g1-g0+1)
					spanF1 += 2 * prec * rec / (prec + rec)
				}
				total++
			}
		}
	}
	if weightSum > 0 {
		em.Loss = lossSum / weightSum
		if m.Task == hgraph.TaskCausalLM {
			em.Perplexity = math.Exp(em.Loss)
		}
	}
	if total > 0 {
		switch m.Task {
		case hgraph.TaskQA:
			em.ExactMatch = float64(correct) / float64(total)
			em.SpanF1 = spanF1 / float64(total)
		default:
			em.Accuracy = float64(correct) / float64(total)
			if m.Task != hgraph.TaskMultipleChoice {
				em.MacroF1 = macroF1(conf)
			}
		}
	}
	return em, nil
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// bestSpan maximises start+end logits over start <= end < start+maxAnswerTokens.
func bestSpan(start, end []float32) (int, int) {
	bs, be, best := 0, 0, math.Inf(-1)
	for s := range start {
		for e := s; e < len(end) && e < s+maxAnswerTokens; e++ {
			if v := float64(start[s]) + float64(end[e]); v > best {
				bs, be, best = s, e, v
			}
		}
	}
	return bs, be
}

// macroF1 averages the per-class F1 over the classes seen as gold or predicted.
func macroF1(conf map[[2]int]int) float64 {
	classes := map[int]bool{}
	for k := range conf {
		classes[k[0]], classes[k[1]] = true, true
	}
	var sum float64
	for c := range classes {
		var tp, fp, fn float64
		for k, n := range conf {
			switch {
			case k[0] == c && k[1] == c:
				tp += float64(n)
			case k[1] == c:
				fp += float64(n)
			case k[0] == c:
				fn += float64(n)
			}
		}
		if tp > 0 {
			p, r := tp/(tp+fp), tp/(tp+fn)
			sum += 2 * p * r / (p + r)
		}
	}
	return sum / float64(len(classes))
}

// String formats the metrics that apply.
func (e EvalMetrics) String() string {
	s := fmt.Sprintf("examples %d  loss %.4f", e.Examples, e.Loss)
	if e.Perplexity > 0 {
		s += fmt.Sprintf("  perplexity %.3f", e.Perplexity)
	}
	if e.Accuracy > 0 || e.MacroF1 > 0 {
		s += fmt.Sprintf("  accuracy %.4f", e.Accuracy)
	}
	if e.MacroF1 > 0 {
		s += fmt.Sprintf("  macro-F1 %.4f", e.MacroF1)
	}
	if e.ExactMatch > 0 || e.SpanF1 > 0 {
		s += fmt.Sprintf("  exact-match %.4f  F1 %.4f", e.ExactMatch, e.SpanF1)
	}
	return s
}

// SetEval sets the evaluation set used every Options.EvalEvery steps and at the end of Run.
func (t *Trainer) SetEval(ds *data.TensorDataset, batchSize int) {
	t.evalSet, t.evalBatch = ds, batchSize
}

// Evaluate runs the evaluation set on the current weights.
func (t *Trainer) Evaluate() (EvalMetrics, error) {
	if t.evalSet == nil {
		return EvalMetrics{}, fmt.Errorf("no evaluation set")
	}
	var onBatch func(done, total int)
	if ep, ok := t.prog.(EvalProgress); ok {
		onBatch = ep.EvalBatch
	}
	return EvaluateWithProgress(t.be, t.model, t.weights, t.evalSet, t.evalBatch, onBatch)
}

func (t *Trainer) runEval(metrics *metricsLog, log io.Writer) error {
	em, err := t.Evaluate()
	if err != nil {
		return fmt.Errorf("evaluation at step %d: %w", t.step, err)
	}
	if t.prog != nil {
		t.prog.Eval(t.step, em)
	} else if log != nil {
		fmt.Fprintf(log, "\neval at step %d: %s\n", t.step, em)
	}
	return metrics.writeEval(t.step, em)
}
