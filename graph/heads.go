package graph

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// IgnoreIndex is the label value excluded from losses (torch CrossEntropyLoss's ignore_index).
const IgnoreIndex = -100

// CrossEntropy is torch's mean cross-entropy of logits [..., C] against integer labels [...], skipping labels
// equal to IgnoreIndex; the mean is over the non-ignored entries (NaN-free 0/0 is avoided by dividing by
// max(count, 1)... torch returns NaN there; we return 0).
func CrossEntropy(logits, labels *Node) *Node {
	g := logits.Graph()
	c := logits.Shape().Dimensions[logits.Rank()-1]
	lbl := ConvertDType(labels, dtypes.Int32)
	valid := NotEqual(lbl, Scalar(g, dtypes.Int32, IgnoreIndex))      // [...]
	safe := Where(valid, lbl, ZerosLike(lbl))                         // [...]
	logp := LogSoftmax(logits, -1)                                    // [..., C]
	picked := ReduceSum(Mul(logp, OneHot(safe, c, logp.DType())), -1) // [...]
	validF := ConvertDType(valid, logp.DType())                       // [...]
	total := Neg(ReduceAllSum(Mul(picked, validF)))                   // []
	count := Max(ReduceAllSum(validF), ScalarOne(g, logp.DType()))    // []
	return Div(total, count)
}

// ShiftLabels returns labels [B, T] shifted left by one with IgnoreIndex appended, so that position t is scored
// against token t+1 (HF causal-LM loss, which shifts inside the model).
func ShiftLabels(labels *Node) *Node {
	d := labels.Shape().Dimensions
	rest := SliceAxis(labels, 1, AxisRange(1))                                           // [B, T-1]
	pad := BroadcastToDims(Scalar(labels.Graph(), labels.DType(), IgnoreIndex), d[0], 1) // [B, 1]
	return Concatenate([]*Node{rest, pad}, 1)                                            // [B, T]
}

// CausalLMLoss is HF's causal-LM loss: mean CE of logits[:, :-1] against labels[:, 1:], ignoring -100.
func CausalLMLoss(logits, labels *Node) *Node {
	return CrossEntropy(logits, ShiftLabels(labels))
}

// LastNonPadIndex returns, for input_ids [B, T], HF's pooled position of decoder sequence classification:
// (first position where input_ids == pad) − 1, which wraps to T−1 for rows without padding. With no pad id
// the last position is used (HF allows this only for batch size 1).
func LastNonPadIndex(ids *Node, padTokenID *int) *Node {
	g := ids.Graph()
	d := ids.Shape().Dimensions
	if padTokenID == nil {
		if d[0] > 1 {
			panicf("sequence classification with batch size %d needs pad_token_id in config.json (HF: \"Cannot handle batch sizes > 1 if no padding token is defined\")", d[0])
		}
		return BroadcastToDims(Scalar(g, dtypes.Int32, d[1]-1), d[0])
	}
	isPad := ConvertDType(Equal(ConvertDType(ids, dtypes.Int32), Scalar(g, dtypes.Int32, *padTokenID)), dtypes.Int32) // [B, T]
	first := ArgMax(isPad, 1, dtypes.Int32)                                                                           // [B]; 0 when no pad
	idx := SubScalar(first, 1)
	return Where(LessThan(idx, ZerosLike(idx)), AddScalar(idx, d[1]), idx) // [B]
}

// PoolAt picks x[b, idx[b], ...] for x [B, T, ...] and idx [B] with a one-hot contraction (differentiable,
// no Gather gradient needed).
func PoolAt(x, idx *Node) *Node {
	t := x.Shape().Dimensions[1]
	oh := OneHot(idx, t, x.DType())                                  // [B, T]
	return DotGeneral(oh, []int{1}, []int{0}, x, []int{1}, []int{0}) // [B, ...]
}

// SequenceClassificationLoss is HF's loss for *ForSequenceClassification given pooled logits [B, C]:
// regression (MSE) when problem_type says so or C == 1; single-label CE for integer labels; multi-label BCE
// with logits for float labels [B, C].
func SequenceClassificationLoss(logits, labels *Node, head HeadConfig) *Node {
	problem := head.ProblemType
	if problem == "" {
		switch {
		case head.NumLabels == 1:
			problem = "regression"
		case labels.DType().IsInt():
			problem = "single_label_classification"
		default:
			problem = "multi_label_classification"
		}
	}
	switch problem {
	case "regression":
		y := ConvertDType(labels, logits.DType())
		pred := logits
		if head.NumLabels == 1 {
			pred = Reshape(logits, logits.Shape().Dimensions[0])
			y = Reshape(y, y.Shape().Size())
		}
		return ReduceAllMean(Square(Sub(pred, y)))
	case "single_label_classification":
		return CrossEntropy(logits, labels)
	default:
		y := ConvertDType(labels, logits.DType())
		// BCEWithLogits: max(x,0) − x·y + log(1 + exp(−|x|))
		l := Add(Sub(Max(logits, ZerosLike(logits)), Mul(logits, y)), Log1p(Exp(Neg(Abs(logits)))))
		return ReduceAllMean(l)
	}
}
