package graph

// Task losses of the encoder heads (token classification, extractive QA), as in
// transformers/models/bert/modeling_bert.py (v4.34) BertForTokenClassification and BertForQuestionAnswering.

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// TokenClassificationLoss is HF's *ForTokenClassification loss: mean cross-entropy of logits [B, T, C] against
// integer labels [B, T] over the positions whose label is not -100.
func TokenClassificationLoss(logits, labels *Node) *Node {
	if !labels.DType().IsInt() {
		panicf("token classification labels must be integers, got %s", labels.DType())
	}
	return CrossEntropy(logits, labels)
}

// QuestionAnsweringLoss is HF's *ForQuestionAnswering loss for start/end logits [B, T] and positions [B] (or
// [B, 1]): positions are clamped to [0, T], position T is ignored (CrossEntropyLoss(ignore_index=T)), and the
// loss is (CE(start) + CE(end)) / 2.
func QuestionAnsweringLoss(startLogits, endLogits, startPositions, endPositions *Node) *Node {
	ce := func(logits, pos *Node) *Node {
		if !pos.DType().IsInt() {
			panicf("question answering positions must be integers, got %s", pos.DType())
		}
		d := logits.Shape().Dimensions
		B, T := d[0], d[1]
		p := Reshape(ConvertDType(pos, dtypes.Int32), B)                    // [B]
		p = ClipScalar(p, 0, float64(T))                                    // [B] clamp(0, ignored_index)
		ignored := Equal(p, Scalar(p.Graph(), dtypes.Int32, T))             // [B]
		p = Where(ignored, Scalar(p.Graph(), dtypes.Int32, IgnoreIndex), p) // [B]
		return CrossEntropy(logits, p)
	}
	return DivScalar(Add(ce(startLogits, startPositions), ce(endLogits, endPositions)), 2)
}
