package graph

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/gguf"
)

// GGUF conversion of BERT and RoBERTa encoders to llama.cpp's "bert" architecture (an embedding model), as
// convert_hf_to_gguf.py's BertModel and RobertaModel write it: separate Q/K/V with biases, post-norm
// blocks, attention.causal false. RoBERTa's position embeddings lose their first padding_idx+1 rows (llama.cpp
// counts positions from 0; RoBERTa's ids start at padding_idx+1). A task head (classifier, pooler, QA
// outputs) is dropped: llama.cpp computes embeddings (the last hidden state, pooled as pooling_type says).
// Import (bertFromGGUF) gives back an HF BertModel: the encoder without any head.

func init() {
	ggufConverters["bert"] = ggufBERT
	ggufConverters["roberta"] = ggufBERT
	ggufImporters["bert"] = bertFromGGUF
}

// GGUFPoolingNone, GGUFPoolingMean, GGUFPoolingCLS and GGUFPoolingLast are llama.cpp's pooling_type values.
const (
	GGUFPoolingNone = 0
	GGUFPoolingMean = 1
	GGUFPoolingCLS  = 2
	GGUFPoolingLast = 3
)

// bertNames maps BERT's HF names (after "bert." or "roberta.") to GGUF names.
func bertNames() []ggufNamePair {
	return []ggufNamePair{
		{hf: "embeddings.word_embeddings.weight", gguf: "token_embd.weight"},
		{hf: "embeddings.token_type_embeddings.weight", gguf: "token_types.weight"},
		{hf: "embeddings.LayerNorm.weight", gguf: "token_embd_norm.weight"},
		{hf: "embeddings.LayerNorm.bias", gguf: "token_embd_norm.bias"},
		{hf: "encoder.layer.{i}.attention.self.query.weight", gguf: "blk.{i}.attn_q.weight"},
		{hf: "encoder.layer.{i}.attention.self.query.bias", gguf: "blk.{i}.attn_q.bias"},
		{hf: "encoder.layer.{i}.attention.self.key.weight", gguf: "blk.{i}.attn_k.weight"},
		{hf: "encoder.layer.{i}.attention.self.key.bias", gguf: "blk.{i}.attn_k.bias"},
		{hf: "encoder.layer.{i}.attention.self.value.weight", gguf: "blk.{i}.attn_v.weight"},
		{hf: "encoder.layer.{i}.attention.self.value.bias", gguf: "blk.{i}.attn_v.bias"},
		{hf: "encoder.layer.{i}.attention.output.dense.weight", gguf: "blk.{i}.attn_output.weight"},
		{hf: "encoder.layer.{i}.attention.output.dense.bias", gguf: "blk.{i}.attn_output.bias"},
		{hf: "encoder.layer.{i}.attention.output.LayerNorm.weight", gguf: "blk.{i}.attn_output_norm.weight"},
		{hf: "encoder.layer.{i}.attention.output.LayerNorm.bias", gguf: "blk.{i}.attn_output_norm.bias"},
		{hf: "encoder.layer.{i}.intermediate.dense.weight", gguf: "blk.{i}.ffn_up.weight"},
		{hf: "encoder.layer.{i}.intermediate.dense.bias", gguf: "blk.{i}.ffn_up.bias"},
		{hf: "encoder.layer.{i}.output.dense.weight", gguf: "blk.{i}.ffn_down.weight"},
		{hf: "encoder.layer.{i}.output.dense.bias", gguf: "blk.{i}.ffn_down.bias"},
		{hf: "encoder.layer.{i}.output.LayerNorm.weight", gguf: "blk.{i}.layer_output_norm.weight"},
		{hf: "encoder.layer.{i}.output.LayerNorm.bias", gguf: "blk.{i}.layer_output_norm.bias"},
	}
}

func ggufBERT(m *Model, w GGUFWeights) (*ggufModel, error) {
	if !m.ggufEmbeddings {
		return nil, fmt.Errorf("gguf: %s has a task head; llama.cpp's bert architecture is an embedding model: export with --embeddings-only to drop the head (llama.cpp then computes the encoder's embeddings)", m.Class)
	}
	flavor := bertFlavor
	if m.Config.ModelType == "roberta" {
		flavor = robertaFlavor
	}
	c, err := DecodeEncoderConfig(m.Config, flavor.defaults)
	if err != nil {
		return nil, err
	}
	if c.HiddenAct != "gelu" {
		return nil, fmt.Errorf("gguf: hidden_act %q: llama.cpp's bert architecture computes GELU", c.HiddenAct)
	}
	if c.PositionEmbeddingType != "absolute" {
		return nil, fmt.Errorf("gguf: position_embedding_type %q: llama.cpp's bert architecture has absolute positions only", c.PositionEmbeddingType)
	}
	ctx, skip := c.MaxPositionEmbeddings, 0
	if flavor.roberta {
		if c.PadTokenID == nil {
			return nil, fmt.Errorf("gguf: RoBERTa without pad_token_id: its position ids cannot be mapped to llama.cpp's")
		}
		skip = *c.PadTokenID + 1
		ctx -= skip
	}
	kvs := []gguf.KV{
		kv("bert.context_length", uint32(ctx)),
		kv("bert.embedding_length", uint32(c.HiddenSize)),
		kv("bert.feed_forward_length", uint32(c.IntermediateSize)),
		kv("bert.block_count", uint32(c.NumHiddenLayers)),
		kv("bert.attention.head_count", uint32(c.NumAttentionHeads)),
		kv("bert.attention.layer_norm_epsilon", float32(c.LayerNormEps)),
		kv("bert.attention.causal", false),
		kv("bert.pooling_type", uint32(m.ggufPooling)),
		kv("tokenizer.ggml.token_type_count", uint32(c.TypeVocabSize)), // the converter's add_token_type_count
	}
	prefix := flavor.prefix + "."
	srcs, err := expandNames(bertNames(), c.NumHiddenLayers, prefix, w, nil)
	if err != nil {
		return nil, err
	}
	pos, err := weightSource(w, prefix+"embeddings.position_embeddings.weight", "position_embd.weight", nil)
	if err != nil {
		return nil, err
	}
	if skip > 0 {
		src, d := pos.values, pos.shape[1]
		pos.shape = []int{ctx, d}
		pos.values = func() ([]float32, error) {
			v, err := src()
			if err != nil {
				return nil, err
			}
			return v[skip*d:], nil
		}
	}
	srcs = append(srcs, pos)
	return &ggufModel{arch: "bert", kvs: kvs, tensors: srcs}, nil
}

// GGUFExportEmbeddings is GGUFExport for an encoder (BERT, RoBERTa) written as llama.cpp's embedding model:
// its task head is dropped, and pooling (GGUFPoolingNone, Mean or CLS) is written as bert.pooling_type.
func GGUFExportEmbeddings(m *Model, w GGUFWeights, mix gguf.Mix, name string, pooling int) ([]gguf.KV, []gguf.Tensor, error) {
	mm := *m
	mm.ggufEmbeddings, mm.ggufPooling = true, pooling
	return GGUFExport(&mm, w, mix, name)
}

// GGUF pooling names as sentence-transformers and hift's config.json key hift_gguf_pooling spell them
// (llama.cpp's enum llama_pooling_type: 0 none, 1 mean, 2 cls, 3 last, 4 rank).
var ggufPoolingNames = map[int]string{GGUFPoolingNone: "none", GGUFPoolingMean: "mean", GGUFPoolingCLS: "cls", 3: "last", 4: "rank"}

// bertFromGGUF converts a llama.cpp "bert" embedding model back to an HF BertModel (bare names, as BertModel's
// save_pretrained writes them). A RoBERTa exported by hift (or convert_hf_to_gguf.py) comes back as a BERT:
// its position rows were shifted on export, so position i is row i, which is what BERT computes. The pooling
// type is kept as config.json's hift_gguf_pooling.
func bertFromGGUF(g *gguf.File) (map[string]any, map[string]*tensors.Tensor, error) {
	cfg := map[string]any{"architectures": []string{"BertModel"}, "model_type": "bert", "torch_dtype": "float32",
		"hidden_act": "gelu", "position_embedding_type": "absolute"}
	vals := map[string]int{}
	for k, hf := range map[string]string{"embedding_length": "hidden_size", "block_count": "num_hidden_layers",
		"attention.head_count": "num_attention_heads", "context_length": "max_position_embeddings",
		"feed_forward_length": "intermediate_size"} {
		v, ok := ggufUint(g, "bert."+k)
		if !ok {
			return nil, nil, fmt.Errorf("gguf: %s: missing bert.%s", g.Path, k)
		}
		cfg[hf], vals[hf] = v, v
	}
	if causal, ok := g.KV["bert.attention.causal"].(bool); ok && causal {
		return nil, nil, fmt.Errorf("gguf: %s: bert.attention.causal is true; a BERT encoder attends both ways (hift cannot import a causal bert)", g.Path)
	}
	cfg["layer_norm_eps"] = ggufFloat(g, "bert.attention.layer_norm_epsilon", 1e-12)
	if p, ok := ggufUint(g, "bert.pooling_type"); ok {
		name, known := ggufPoolingNames[p]
		if !known {
			return nil, nil, fmt.Errorf("gguf: %s: bert.pooling_type %d is not one of llama.cpp's pooling types (0-4)", g.Path, p)
		}
		cfg["hift_gguf_pooling"] = name
	}
	if v, ok := ggufUint(g, "tokenizer.ggml.padding_token_id"); ok {
		cfg["pad_token_id"] = v
	} else {
		cfg["pad_token_id"] = nil // BertConfig's default 0 would claim a padding row the file does not name
	}
	names := append(bertNames(), ggufNamePair{hf: "embeddings.position_embeddings.weight", gguf: "position_embd.weight"})
	out, err := importNames(g, names, vals["num_hidden_layers"], "", nil)
	if err != nil {
		return nil, nil, err
	}
	emb, ok := out["embeddings.word_embeddings.weight"]
	if !ok {
		return nil, nil, fmt.Errorf("gguf: %s: no token_embd.weight", g.Path)
	}
	cfg["vocab_size"] = emb.Shape().Dimensions[0]
	if tt, ok := out["embeddings.token_type_embeddings.weight"]; ok {
		cfg["type_vocab_size"] = tt.Shape().Dimensions[0]
	} else {
		// llama.cpp's bert graph adds token-type row 0 only when token_types.weight exists ("Sentence A"
		// hard-coded), so a file without it computes exactly what one zero row computes.
		d := vals["hidden_size"]
		out["embeddings.token_type_embeddings.weight"] = tensors.FromFlatDataAndDimensions(make([]float32, d), 1, d)
		cfg["type_vocab_size"] = 1
	}
	return cfg, out, nil
}

// GGUFImportNotes lists what an import of g adds that the file does not hold (one sentence each), for the
// command to print.
func GGUFImportNotes(g *gguf.File) []string {
	if arch, _ := g.KV["general.architecture"].(string); arch != "bert" {
		return nil
	}
	for _, t := range g.Tensors {
		if t.Name == "token_types.weight" {
			return nil
		}
	}
	return []string{"the file has no token_types.weight: wrote a zero token-type table of one row (type_vocab_size 1), which is what llama.cpp computes without it"}
}
