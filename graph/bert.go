package graph

// BERT. Reference: transformers/models/bert/modeling_bert.py and configuration_bert.py (v4.34).
// The encoder itself is shared with RoBERTa in encoder.go.

func init() {
	Register(Arch{
		ModelType: "bert",
		Classes: map[string]Task{
			"BertForSequenceClassification": TaskSeqCls,
			"BertForTokenClassification":    TaskTokenCls,
			"BertForQuestionAnswering":      TaskQA,
			"BertForMultipleChoice":         TaskMultipleChoice,
		},
		Build: func(cfg *Config, task Task) (*Model, error) { return buildEncoder(cfg, task, bertFlavor) },
	})
}

// bertFlavor: BertConfig defaults of transformers 4.34; the pooler exists for sequence classification and
// multiple choice (BertForTokenClassification and BertForQuestionAnswering build BertModel with
// add_pooling_layer=False).
var bertFlavor = encoderFlavor{
	family: "BERT",
	prefix: "bert",
	defaults: EncoderConfig{
		VocabSize: 30522, HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12, IntermediateSize: 3072,
		HiddenAct: "gelu", MaxPositionEmbeddings: 512, TypeVocabSize: 2, LayerNormEps: 1e-12,
		PadTokenID: encoderIntPtr(0), PositionEmbeddingType: "absolute",
	},
	pooled: func(t Task) bool { return t == TaskSeqCls || t == TaskMultipleChoice },
}

func encoderIntPtr(v int) *int { return &v }
