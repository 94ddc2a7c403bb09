package graph

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/gguf"
)

// GGUF conversion of GPT-2 (llama.cpp's "gpt2"), as convert_hf_to_gguf.py's GPT2Model writes it: Conv1D
// weights ([in, out]) transposed to [out, in], the fused attn_qkv kept fused, the tied output left to
// llama.cpp (it reuses token_embd when output.weight is absent).

func init() {
	ggufConverters["gpt2"] = ggufGPT2
	ggufImporters["gpt2"] = gpt2FromGGUF
}

// gpt2GGUFNames maps GPT-2's HF names (after "transformer.") to GGUF names; conv marks Conv1D weights.
var gpt2GGUFNames = []ggufNamePair{
	{hf: "wte.weight", gguf: "token_embd.weight"},
	{hf: "wpe.weight", gguf: "position_embd.weight"},
	{hf: "h.{i}.ln_1.weight", gguf: "blk.{i}.attn_norm.weight"},
	{hf: "h.{i}.ln_1.bias", gguf: "blk.{i}.attn_norm.bias"},
	{hf: "h.{i}.attn.c_attn.weight", gguf: "blk.{i}.attn_qkv.weight", transpose: true},
	{hf: "h.{i}.attn.c_attn.bias", gguf: "blk.{i}.attn_qkv.bias"},
	{hf: "h.{i}.attn.c_proj.weight", gguf: "blk.{i}.attn_output.weight", transpose: true},
	{hf: "h.{i}.attn.c_proj.bias", gguf: "blk.{i}.attn_output.bias"},
	{hf: "h.{i}.ln_2.weight", gguf: "blk.{i}.ffn_norm.weight"},
	{hf: "h.{i}.ln_2.bias", gguf: "blk.{i}.ffn_norm.bias"},
	{hf: "h.{i}.mlp.c_fc.weight", gguf: "blk.{i}.ffn_up.weight", transpose: true},
	{hf: "h.{i}.mlp.c_fc.bias", gguf: "blk.{i}.ffn_up.bias"},
	{hf: "h.{i}.mlp.c_proj.weight", gguf: "blk.{i}.ffn_down.weight", transpose: true},
	{hf: "h.{i}.mlp.c_proj.bias", gguf: "blk.{i}.ffn_down.bias"},
	{hf: "ln_f.weight", gguf: "output_norm.weight"},
	{hf: "ln_f.bias", gguf: "output_norm.bias"},
}

func ggufGPT2(m *Model, w GGUFWeights) (*ggufModel, error) {
	c, err := DecodeGPT2Config(m.Config)
	if err != nil {
		return nil, err
	}
	if m.Task != TaskCausalLM {
		return nil, fmt.Errorf("gguf: %s is not a causal LM; llama.cpp's gpt2 architecture needs one", m.Class)
	}
	switch {
	case c.ScaleAttnByInverseLayerIdx:
		return nil, fmt.Errorf("gguf: scale_attn_by_inverse_layer_idx: llama.cpp's gpt2 architecture has no per-layer attention scaling")
	case !c.ScaleAttnWeights:
		return nil, fmt.Errorf("gguf: scale_attn_weights false: llama.cpp's gpt2 architecture always scales attention by 1/sqrt(head_dim)")
	case c.AddCrossAttention:
		return nil, fmt.Errorf("gguf: add_cross_attention: llama.cpp's gpt2 architecture has no cross-attention")
	case c.ActivationFunction != "gelu_new" && c.ActivationFunction != "gelu_pytorch_tanh":
		return nil, fmt.Errorf("gguf: activation_function %q: llama.cpp's gpt2 architecture computes tanh-GELU (gelu_new)", c.ActivationFunction)
	}
	kvs := []gguf.KV{
		kv("gpt2.context_length", uint32(c.NPositions)),
		kv("gpt2.embedding_length", uint32(c.NEmbd)),
		kv("gpt2.feed_forward_length", uint32(c.inner)),
		kv("gpt2.block_count", uint32(c.NLayer)),
		kv("gpt2.attention.head_count", uint32(c.NHead)),
		kv("gpt2.attention.layer_norm_epsilon", float32(c.LayerNormEpsilon)),
	}
	srcs, err := expandNames(gpt2GGUFNames, c.NLayer, m.BasePrefix, w, nil)
	if err != nil {
		return nil, err
	}
	if srcs, err = appendOutputHead(srcs, m, w, "lm_head.weight"); err != nil {
		return nil, err
	}
	return &ggufModel{arch: "gpt2", kvs: kvs, tensors: srcs}, nil
}

// transpose2D turns a row-major [r, c] matrix (shape is the source's) into [c, r].
func transpose2D(v []float32, shape []int) []float32 {
	r, c := shape[0], shape[1]
	out := make([]float32, len(v))
	for i := range r {
		for j := range c {
			out[j*r+i] = v[i*c+j]
		}
	}
	return out
}

// gpt2FromGGUF converts a gpt2 GGUF file back to an HF GPT2LMHeadModel (Conv1D weights transposed back).
func gpt2FromGGUF(g *gguf.File) (map[string]any, map[string]*tensors.Tensor, error) {
	cfg := map[string]any{"architectures": []string{"GPT2LMHeadModel"}, "model_type": "gpt2", "torch_dtype": "float32",
		"activation_function": "gelu_new"}
	vals := map[string]int{}
	for k, hf := range map[string]string{"embedding_length": "n_embd", "block_count": "n_layer", "attention.head_count": "n_head",
		"context_length": "n_positions", "feed_forward_length": "n_inner"} {
		v, ok := ggufUint(g, "gpt2."+k)
		if !ok {
			return nil, nil, fmt.Errorf("gguf: %s: missing gpt2.%s", g.Path, k)
		}
		cfg[hf], vals[hf] = v, v
	}
	cfg["layer_norm_epsilon"] = ggufFloat(g, "gpt2.attention.layer_norm_epsilon", 1e-5)
	ggufTokenIDs(g, cfg)
	out, err := importNames(g, gpt2GGUFNames, vals["n_layer"], "transformer.", map[string]string{"output.weight": "lm_head.weight"})
	if err != nil {
		return nil, nil, err
	}
	if emb, ok := out["transformer.wte.weight"]; ok {
		cfg["vocab_size"] = emb.Shape().Dimensions[0]
	}
	_, hasHead := out["lm_head.weight"]
	cfg["tie_word_embeddings"] = !hasHead
	return cfg, out, nil
}
