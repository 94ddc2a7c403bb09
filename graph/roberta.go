package graph

// RoBERTa. Reference: transformers/models/roberta/modeling_roberta.py and configuration_roberta.py (v4.34).
// RobertaLayer is BertLayer; the differences (position ids from input_ids, padding_idx on the position
// embeddings, RobertaClassificationHead) are flags of the shared encoder in encoder.go.

func init() {
	Register(Arch{
		ModelType: "roberta",
		Classes: map[string]Task{
			"RobertaForSequenceClassification": TaskSeqCls,
			"RobertaForTokenClassification":    TaskTokenCls,
			"RobertaForQuestionAnswering":      TaskQA,
			"RobertaForMultipleChoice":         TaskMultipleChoice,
		},
		Build: func(cfg *Config, task Task) (*Model, error) { return buildEncoder(cfg, task, robertaFlavor) },
	})
}

// robertaFlavor: RobertaConfig defaults of transformers 4.34 (BertConfig's, with vocab_size 50265 and
// pad_token_id 1); only RobertaForMultipleChoice builds RobertaModel with its pooler; sequence classification
// uses RobertaClassificationHead (dense + tanh + out_proj on <s>) instead.
var robertaFlavor = encoderFlavor{
	family: "RoBERTa",
	prefix: "roberta",
	defaults: EncoderConfig{
		VocabSize: 50265, HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12, IntermediateSize: 3072,
		HiddenAct: "gelu", MaxPositionEmbeddings: 512, TypeVocabSize: 2, LayerNormEps: 1e-12,
		PadTokenID: encoderIntPtr(1), PositionEmbeddingType: "absolute",
	},
	roberta: true,
	pooled:  func(t Task) bool { return t == TaskMultipleChoice },
}
