package graph

// ONNX export, part 3: the BERT/RoBERTa encoders (encoder.go) in optimum's layout: inputs input_ids,
// attention_mask and, for BERT, token_type_ids ([batch, sequence]; multiple choice [batch, num_choices,
// sequence]); outputs logits, or start_logits/end_logits for question answering.

import (
	"fmt"
	"math"

	"github.com/hift-go/hift/io/onnx"
)

func onnxEncoder(b *onnxBuilder, m *Model, ids, mask, tokenTypes string) []string {
	f := bertFlavor
	if m.Config.ModelType == "roberta" {
		f = robertaFlavor
	}
	c, err := DecodeEncoderConfig(m.Config, f.defaults)
	if err != nil {
		panic(err)
	}
	var head HeadConfig
	if m.Task != TaskMultipleChoice {
		if head, err = m.Config.Head(); err != nil {
			panic(err)
		}
	}
	D, H := c.HiddenSize, c.NumAttentionHeads
	Dh := D / H
	p := f.prefix
	var numChoices string
	if m.Task == TaskMultipleChoice { // [B, C, T] → [B·C, T]
		numChoices = b.op("Shape", []string{ids}, attr("start", 1), attr("end", 2)) // [1]
		flat := b.op("Concat", []string{b.ints(-1), b.op("Shape", []string{ids}, attr("start", 2))}, attr("axis", 0))
		ids, mask = b.op("Reshape", []string{ids, flat}), b.op("Reshape", []string{mask, flat})
		if tokenTypes != "" {
			tokenTypes = b.op("Reshape", []string{tokenTypes, flat})
		}
	}
	var pos string
	if f.roberta { // HF create_position_ids_from_input_ids: cumsum(ids ≠ pad)·(ids ≠ pad) + pad
		notPad := b.op("Cast", []string{b.op("Not", []string{b.op("Equal", []string{ids, b.scalarI(int64(*c.PadTokenID))})})}, attr("to", int64(onnx.Int64)))
		pos = b.op("Add", []string{b.op("Mul", []string{b.op("CumSum", []string{notPad, b.scalarI(1)}), notPad}), b.scalarI(int64(*c.PadTokenID))}) // [N, T]
	} else {
		pos = b.op("Unsqueeze", []string{b.op("Range", []string{b.scalarI(0), b.dim(ids, 1), b.scalarI(1)}), b.ints(0)}) // [1, T]
	}
	e := p + ".embeddings"
	x := b.gather(b.w(e+".word_embeddings.weight"), ids) // [N, T, D]
	var types string
	if tokenTypes != "" {
		types = b.gather(b.w(e+".token_type_embeddings.weight"), tokenTypes) // [N, T, D]
	} else {
		types = b.gather(b.w(e+".token_type_embeddings.weight"), b.scalarI(0)) // [D]: HF's all-zero token types
	}
	x = b.op("Add", []string{x, types})
	x = b.op("Add", []string{x, b.gather(b.w(e+".position_embeddings.weight"), pos)})
	x = b.layerNorm(x, e+".LayerNorm", c.LayerNormEps, true, D) // [N, T, D]
	attnMask := b.paddingMask(mask)                             // [N, 1, 1, T]
	scale := 1 / math.Sqrt(float64(Dh))
	for l := 0; l < c.NumHiddenLayers; l++ {
		lp := fmt.Sprintf("%s.encoder.layer.%d", p, l)
		q := b.heads(b.linear(x, lp+".attention.self.query", true), H, Dh)
		k := b.heads(b.linear(x, lp+".attention.self.key", true), H, Dh)
		v := b.heads(b.linear(x, lp+".attention.self.value", true), H, Dh)
		a := b.linear(b.attention(q, k, v, attnMask, scale, H, H, Dh), lp+".attention.output.dense", true)
		x = b.layerNorm(b.op("Add", []string{a, x}), lp+".attention.output.LayerNorm", c.LayerNormEps, true, D)
		h := b.linear(b.act(c.HiddenAct, b.linear(x, lp+".intermediate.dense", true)), lp+".output.dense", true)
		x = b.layerNorm(b.op("Add", []string{h, x}), lp+".output.LayerNorm", c.LayerNormEps, true, D) // [N, T, D]
	}
	first := func() string { return b.op("Gather", []string{x, b.scalarI(0)}, attr("axis", 1)) } // [N, D]
	var pooled string
	if f.pooled(m.Task) {
		pooled = b.op("Tanh", []string{b.linear(first(), p+".pooler.dense", true)}) // [N, D]
	}
	switch m.Task {
	case TaskSeqCls:
		if f.roberta {
			h := b.op("Tanh", []string{b.linear(first(), "classifier.dense", true)})
			b.name(b.linear(h, "classifier.out_proj", true), "logits") // [B, L]
		} else {
			b.name(b.linear(pooled, "classifier", true), "logits") // [B, L]
		}
	case TaskTokenCls:
		b.name(b.linear(x, "classifier", true), "logits") // [B, T, L]
	case TaskQA:
		if head.NumLabels != 2 {
			panicf("question answering needs num_labels = 2")
		}
		return b.qaOutputs(b.linear(x, "qa_outputs", true))
	case TaskMultipleChoice:
		logits := b.linear(pooled, "classifier", true)                                                                         // [B·C, 1]
		b.name(b.op("Reshape", []string{logits, b.op("Concat", []string{b.ints(-1), numChoices}, attr("axis", 0))}), "logits") // [B, C]
	default:
		panicf("task %s is not implemented for encoders", m.Task)
	}
	return []string{"logits"}
}
