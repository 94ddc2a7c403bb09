package graph

// BERT-layout encoders (post-LN transformer encoder with learned absolute positions and token types), shared by
// bert.go and roberta.go.
// Reference: transformers/models/bert/modeling_bert.py and transformers/models/roberta/modeling_roberta.py
// (v4.34): BertEmbeddings / RobertaEmbeddings, BertLayer (== RobertaLayer), BertPooler, the task heads
// *ForSequenceClassification, *ForTokenClassification, *ForQuestionAnswering, *ForMultipleChoice and
// RobertaClassificationHead.

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// EncoderConfig is config.json of a BERT-layout encoder (BertConfig, RobertaConfig).
type EncoderConfig struct {
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	IntermediateSize      int     `json:"intermediate_size"`
	HiddenAct             string  `json:"hidden_act"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TypeVocabSize         int     `json:"type_vocab_size"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	// PadTokenID is the padding_idx of the word embeddings (RoBERTa: also of the position embeddings and the
	// base of its position ids); nil when config.json sets it to null.
	PadTokenID            *int   `json:"pad_token_id"`
	PositionEmbeddingType string `json:"position_embedding_type"`
	IsDecoder             bool   `json:"is_decoder"`
	AddCrossAttention     bool   `json:"add_cross_attention"`
}

// encoderFlavor says how a BERT-layout family differs from BERT.
type encoderFlavor struct {
	// family names the model family in error messages ("BERT").
	family string
	// prefix is the base model's attribute name in HF ("bert", "roberta").
	prefix string
	// defaults are the family's config class defaults (transformers 4.34).
	defaults EncoderConfig
	// roberta: position ids from input_ids (padding_idx + cumsum of non-pad), padding_idx on the position
	// embeddings, and RobertaClassificationHead for sequence classification.
	roberta bool
	// pooled reports whether the base model of a task has the pooler (add_pooling_layer).
	pooled func(Task) bool
}

// DecodeEncoderConfig reads a BERT-layout config over the given class defaults; the structural sizes are
// required, everything else falls back to the defaults.
func DecodeEncoderConfig(cfg *Config, defaults EncoderConfig) (*EncoderConfig, error) {
	c := defaults
	if defaults.PadTokenID != nil {
		pad := *defaults.PadTokenID
		c.PadTokenID = &pad
	}
	if err := cfg.Decode(&c, "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"); err != nil {
		return nil, err
	}
	if err := positive(cfg.Path, map[string]int{"vocab_size": c.VocabSize, "hidden_size": c.HiddenSize,
		"num_hidden_layers": c.NumHiddenLayers, "num_attention_heads": c.NumAttentionHeads,
		"intermediate_size": c.IntermediateSize, "max_position_embeddings": c.MaxPositionEmbeddings,
		"type_vocab_size": c.TypeVocabSize}); err != nil {
		return nil, err
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return nil, fmt.Errorf("config: %s: hidden_size %d is not divisible by num_attention_heads %d", cfg.Path, c.HiddenSize, c.NumAttentionHeads)
	}
	if !KnownActivation(c.HiddenAct) {
		return nil, fmt.Errorf("config: %s: unsupported hidden_act %q", cfg.Path, c.HiddenAct)
	}
	if !(c.LayerNormEps > 0) {
		return nil, fmt.Errorf("config: %s: layer_norm_eps must be positive, got %g", cfg.Path, c.LayerNormEps)
	}
	if c.PositionEmbeddingType != "absolute" {
		return nil, fmt.Errorf("config: %s: position_embedding_type %q is not supported (only \"absolute\")", cfg.Path, c.PositionEmbeddingType)
	}
	if c.IsDecoder || c.AddCrossAttention {
		return nil, fmt.Errorf("config: %s: is_decoder / add_cross_attention are not supported (encoder-only fine-tuning)", cfg.Path)
	}
	if c.PadTokenID != nil && (*c.PadTokenID < 0 || *c.PadTokenID >= c.VocabSize) {
		return nil, fmt.Errorf("config: %s: pad_token_id %d is outside the vocabulary [0, %d)", cfg.Path, *c.PadTokenID, c.VocabSize)
	}
	return &c, nil
}

// encoderPadIdx is the padding_idx of the word embeddings, -1 for none.
func (c *EncoderConfig) encoderPadIdx() int {
	if c.PadTokenID == nil {
		return -1
	}
	return *c.PadTokenID
}

// buildEncoder checks the config for the flavor and task and builds the model description.
func buildEncoder(cfg *Config, task Task, f encoderFlavor) (*Model, error) {
	c, err := DecodeEncoderConfig(cfg, f.defaults)
	if err != nil {
		return nil, err
	}
	if f.roberta {
		if c.PadTokenID == nil {
			return nil, fmt.Errorf("config: %s: pad_token_id is required: %s position ids start after padding_idx", cfg.Path, f.family)
		}
		if *c.PadTokenID >= c.MaxPositionEmbeddings {
			return nil, fmt.Errorf("config: %s: pad_token_id %d is not a row of the %d position embeddings", cfg.Path, *c.PadTokenID, c.MaxPositionEmbeddings)
		}
	}
	var head HeadConfig
	switch task {
	case TaskSeqCls, TaskTokenCls, TaskQA:
		if head, err = cfg.Head(); err != nil {
			return nil, err
		}
		if task == TaskQA && head.NumLabels != 2 {
			return nil, fmt.Errorf("config: %s: question answering needs num_labels = 2 (start, end), got %d", cfg.Path, head.NumLabels)
		}
	case TaskMultipleChoice:
	default:
		return nil, fmt.Errorf("task %s is not implemented for the %s family", task, f.family)
	}
	return encoderModel(c, f, task, head), nil
}

// encoderModel builds the model description (parameters in HF named_parameters order, HiFT units, forward) of a
// BERT-layout encoder for a task.
func encoderModel(c *EncoderConfig, f encoderFlavor, task Task, head HeadConfig) *Model {
	D, I := c.HiddenSize, c.IntermediateSize
	p := f.prefix
	pooled := f.pooled(task)
	// position_ids and token_type_ids are buffers older versions saved (non-persistent since 4.31).
	ignore := []string{p + `\.embeddings\.(position_ids|token_type_ids)`}
	if !pooled && (task == TaskTokenCls || task == TaskQA) {
		// *ForTokenClassification and *ForQuestionAnswering build the base model without its pooler and list
		// r"pooler" in _keys_to_ignore_on_load_unexpected, so a pre-trained base checkpoint's pooler is skipped.
		ignore = append(ignore, p+`\.pooler\.dense\.(weight|bias)`)
	}
	m := &Model{Tied: map[string]string{}, BasePrefix: p + ".", IgnoreKeys: ignoreKeys(ignore...)}
	add := func(u *Unit, name string, noDecay bool, shape ...int) {
		m.Params = append(m.Params, ParamSpec{Name: name, Shape: shape, NoDecay: noDecay})
		u.Params = append(u.Params, name)
	}
	linear := func(u *Unit, name string, out, in int) {
		add(u, name+".weight", false, out, in)
		add(u, name+".bias", true, out)
	}
	norm := func(u *Unit, name string) {
		add(u, name+".weight", true, D)
		add(u, name+".bias", true, D)
	}
	emb := Unit{Name: p + ".embeddings"}
	add(&emb, p+".embeddings.word_embeddings.weight", false, c.VocabSize, D)
	add(&emb, p+".embeddings.position_embeddings.weight", false, c.MaxPositionEmbeddings, D)
	add(&emb, p+".embeddings.token_type_embeddings.weight", false, c.TypeVocabSize, D)
	norm(&emb, p+".embeddings.LayerNorm")
	m.Units = append(m.Units, emb)
	for l := 0; l < c.NumHiddenLayers; l++ {
		lp := fmt.Sprintf("%s.encoder.layer.%d", p, l)
		u := Unit{Name: lp}
		linear(&u, lp+".attention.self.query", D, D)
		linear(&u, lp+".attention.self.key", D, D)
		linear(&u, lp+".attention.self.value", D, D)
		linear(&u, lp+".attention.output.dense", D, D)
		norm(&u, lp+".attention.output.LayerNorm")
		linear(&u, lp+".intermediate.dense", I, D)
		linear(&u, lp+".output.dense", D, I)
		norm(&u, lp+".output.LayerNorm")
		m.Units = append(m.Units, u)
	}
	if pooled {
		u := Unit{Name: p + ".pooler"}
		linear(&u, p+".pooler.dense", D, D)
		m.Units = append(m.Units, u)
	}
	switch task {
	case TaskSeqCls:
		u := Unit{Name: "classifier"}
		if f.roberta {
			linear(&u, "classifier.dense", D, D)
			linear(&u, "classifier.out_proj", head.NumLabels, D)
		} else {
			linear(&u, "classifier", head.NumLabels, D)
		}
		m.Units = append(m.Units, u)
	case TaskTokenCls:
		u := Unit{Name: "classifier"}
		linear(&u, "classifier", head.NumLabels, D)
		m.Units = append(m.Units, u)
	case TaskQA:
		u := Unit{Name: "qa_outputs"}
		linear(&u, "qa_outputs", head.NumLabels, D)
		m.Units = append(m.Units, u)
	case TaskMultipleChoice:
		u := Unit{Name: "classifier"}
		linear(&u, "classifier", 1, D)
		m.Units = append(m.Units, u)
	}
	m.Forward = func(w Weights, b *Batch) *Outputs {
		return encoderForward(c, f, task, head, pooled, w, b)
	}
	return m
}

// encoderFlattenChoices reshapes a multiple-choice input [B, C, T] to [B·C, T] (nil stays nil).
func encoderFlattenChoices(x *Node) *Node {
	if x == nil {
		return nil
	}
	d := x.Shape().Dimensions
	return Reshape(x, d[0]*d[1], d[2]) // [B·C, T]
}

// robertaPositionIDs is HF create_position_ids_from_input_ids: padding_idx + cumsum(ids != pad) · (ids != pad),
// so real tokens get positions padding_idx+1, … and pads get padding_idx.
func robertaPositionIDs(ids *Node, padIdx int) *Node {
	g := ids.Graph()
	d := ids.Shape().Dimensions
	N, T := d[0], d[1]
	notPad := ConvertDType(NotEqual(ConvertDType(ids, dtypes.Int32), Scalar(g, dtypes.Int32, padIdx)), dtypes.Int32) // [N, T]
	// cumsum along T as a masked sum: count[n, t] = Σ_{s ≤ t} notPad[n, s] (no ReduceWindow needed).
	upTo := LessOrEqual(Iota(g, shapes.Make(dtypes.Int32, T, T), 1), Iota(g, shapes.Make(dtypes.Int32, T, T), 0)) // [T(t), T(s)]
	upToI := BroadcastToDims(Reshape(ConvertDType(upTo, dtypes.Int32), 1, T, T), N, T, T)                         // [N, T, T]
	counts := ReduceSum(Mul(upToI, BroadcastToDims(Reshape(notPad, N, 1, T), N, T, T)), -1)                       // [N, T]
	return AddScalar(Mul(counts, notPad), padIdx)                                                                 // [N, T]
}

// encoderEmbeddings is BertEmbeddings / RobertaEmbeddings: LayerNorm(word + position + token_type).
func encoderEmbeddings(c *EncoderConfig, f encoderFlavor, w Weights, ids, tokenTypes *Node) *Node {
	g := ids.Graph()
	d := ids.Shape().Dimensions
	N, T := d[0], d[1]
	p := f.prefix + ".embeddings"
	padIdx := c.encoderPadIdx()
	var pos *Node
	posPad := -1
	if f.roberta {
		pos = robertaPositionIDs(ids, padIdx) // [N, T]
		posPad = padIdx
		if T+padIdx >= c.MaxPositionEmbeddings {
			panicf("%s: sequence length %d needs position %d, but max_position_embeddings is %d", f.family, T, T+padIdx, c.MaxPositionEmbeddings)
		}
	} else {
		if T > c.MaxPositionEmbeddings {
			panicf("%s: sequence length %d exceeds max_position_embeddings %d", f.family, T, c.MaxPositionEmbeddings)
		}
		pos = BroadcastToDims(Iota(g, shapes.Make(dtypes.Int32, 1, T), 1), N, T) // [N, T] arange
	}
	if tokenTypes == nil {
		tokenTypes = Zeros(g, shapes.Make(dtypes.Int32, N, T)) // [N, T] HF's default all-zero token types
	}
	x := Embedding(w.Get(p+".word_embeddings.weight"), ids, padIdx)                               // [N, T, D]
	x = Add(x, Embedding(w.Get(p+".token_type_embeddings.weight"), tokenTypes, -1))               // [N, T, D]
	x = Add(x, Embedding(w.Get(p+".position_embeddings.weight"), pos, posPad))                    // [N, T, D]
	return LayerNorm(x, w.Get(p+".LayerNorm.weight"), w.Get(p+".LayerNorm.bias"), c.LayerNormEps) // [N, T, D]
}

// encoderLayer is BertLayer (post-LN): x = LN(x + attn(x)); x = LN(x + W2·act(W1·x)).
func encoderLayer(c *EncoderConfig, w Weights, p string, x, mask *Node) *Node {
	d := x.Shape().Dimensions
	N, T, D := d[0], d[1], d[2]
	H := c.NumAttentionHeads
	Dh := D / H
	q := Reshape(LinearW(w, p+".attention.self.query", x, true), N, T, H, Dh)                                                            // [N, T, H, Dh]
	k := Reshape(LinearW(w, p+".attention.self.key", x, true), N, T, H, Dh)                                                              // [N, T, H, Dh]
	v := Reshape(LinearW(w, p+".attention.self.value", x, true), N, T, H, Dh)                                                            // [N, T, H, Dh]
	a := Reshape(Attention(q, k, v, mask, 1/math.Sqrt(float64(Dh))), N, T, D)                                                            // [N, T, D]
	a = LinearW(w, p+".attention.output.dense", a, true)                                                                                 // [N, T, D]
	x = LayerNorm(Add(a, x), w.Get(p+".attention.output.LayerNorm.weight"), w.Get(p+".attention.output.LayerNorm.bias"), c.LayerNormEps) // [N, T, D]
	h := Activation(c.HiddenAct, LinearW(w, p+".intermediate.dense", x, true))                                                           // [N, T, I]
	h = LinearW(w, p+".output.dense", h, true)                                                                                           // [N, T, D]
	return LayerNorm(Add(h, x), w.Get(p+".output.LayerNorm.weight"), w.Get(p+".output.LayerNorm.bias"), c.LayerNormEps)                  // [N, T, D]
}

// encoderFirstToken returns x[:, 0] for x [N, T, D] ([CLS] / <s>).
func encoderFirstToken(x *Node) *Node {
	d := x.Shape().Dimensions
	return Reshape(SliceAxis(x, 1, AxisElem(0)), d[0], d[2]) // [N, D]
}

// encoderForward runs embeddings, the blocks and the task head; multiple-choice inputs [B, C, T] run as B·C
// sequences (hidden states are [B·C, T, D], as in HF).
func encoderForward(c *EncoderConfig, f encoderFlavor, task Task, head HeadConfig, pooled bool, w Weights, b *Batch) *Outputs {
	g := b.InputIDs.Graph()
	ids, attn, tokenTypes := b.InputIDs, b.AttentionMask, b.TokenTypeIDs
	numChoices := 0
	if task == TaskMultipleChoice {
		if ids.Rank() != 3 {
			panicf("%s multiple choice: input_ids must be [batch, choices, seq], got %v", f.family, ids.Shape().Dimensions)
		}
		numChoices = ids.Shape().Dimensions[1]
		ids, attn, tokenTypes = encoderFlattenChoices(ids), encoderFlattenChoices(attn), encoderFlattenChoices(tokenTypes) // [B·C, T]
	} else if ids.Rank() != 2 {
		panicf("%s: input_ids must be [batch, seq], got %v", f.family, ids.Shape().Dimensions)
	}
	d := ids.Shape().Dimensions
	N, T := d[0], d[1]
	x := encoderEmbeddings(c, f, w, ids, tokenTypes) // [N, T, D]
	out := &Outputs{Hidden: []*Node{x}}
	mask := AttentionMask(g, attn, N, T, false, 0) // [N, 1, T, T]
	for l := 0; l < c.NumHiddenLayers; l++ {
		x = encoderLayer(c, w, fmt.Sprintf("%s.encoder.layer.%d", f.prefix, l), x, mask) // [N, T, D]
		out.Hidden = append(out.Hidden, x)
	}
	var pooledOut *Node
	if pooled {
		pooledOut = Tanh(LinearW(w, f.prefix+".pooler.dense", encoderFirstToken(x), true)) // [N, D]
	}
	switch task {
	case TaskSeqCls:
		if f.roberta {
			h := Tanh(LinearW(w, "classifier.dense", encoderFirstToken(x), true)) // [B, D]
			out.Logits = LinearW(w, "classifier.out_proj", h, true)               // [B, L]
		} else {
			out.Logits = LinearW(w, "classifier", pooledOut, true) // [B, L]
		}
		if b.Labels != nil {
			out.Loss = SequenceClassificationLoss(out.Logits, b.Labels, head)
		}
	case TaskTokenCls:
		out.Logits = LinearW(w, "classifier", x, true) // [B, T, L]
		if b.Labels != nil {
			out.Loss = TokenClassificationLoss(out.Logits, b.Labels)
		}
	case TaskQA:
		logits := LinearW(w, "qa_outputs", x, true)                        // [B, T, 2]
		out.StartLogits = Reshape(SliceAxis(logits, 2, AxisElem(0)), N, T) // [B, T]
		out.EndLogits = Reshape(SliceAxis(logits, 2, AxisElem(1)), N, T)   // [B, T]
		if b.StartPositions != nil && b.EndPositions != nil {
			out.Loss = QuestionAnsweringLoss(out.StartLogits, out.EndLogits, b.StartPositions, b.EndPositions)
		}
	case TaskMultipleChoice:
		logits := LinearW(w, "classifier", pooledOut, true)    // [B·C, 1]
		out.Logits = Reshape(logits, N/numChoices, numChoices) // [B, C]
		if b.Labels != nil {
			out.Loss = CrossEntropy(out.Logits, b.Labels)
		}
	}
	return out
}
