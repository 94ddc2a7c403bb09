package graph

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/gguf"
)

// GGUF conversion of GPT-NeoX (llama.cpp's "gptneox"), as convert_hf_to_gguf.py's GPTNeoXModel writes it:
// the fused query_key_value rows regrouped from HF's per-head [heads, 3, Dh] to [3, heads, Dh] (Q, K, V
// blocks), NEOX rotary on the first rotary_pct of each head, use_parallel_residual as a key.

func init() {
	ggufConverters["gpt_neox"] = ggufGPTNeoX
	ggufImporters["gptneox"] = gptNeoXFromGGUF
}

// gptNeoXNames maps GPT-NeoX's HF names (after "gpt_neox.") to GGUF names for a model of heads heads.
func gptNeoXNames(heads int) []ggufNamePair {
	regroup := func(v []float32, shape []int) []float32 { return regroupQKV(v, shape, heads, false) }
	ungroup := func(v []float32, shape []int) []float32 { return regroupQKV(v, shape, heads, true) }
	return []ggufNamePair{
		{hf: "embed_in.weight", gguf: "token_embd.weight"},
		{hf: "layers.{i}.input_layernorm.weight", gguf: "blk.{i}.attn_norm.weight"},
		{hf: "layers.{i}.input_layernorm.bias", gguf: "blk.{i}.attn_norm.bias"},
		{hf: "layers.{i}.attention.query_key_value.weight", gguf: "blk.{i}.attn_qkv.weight", out: regroup, back: ungroup},
		{hf: "layers.{i}.attention.query_key_value.bias", gguf: "blk.{i}.attn_qkv.bias", out: regroup, back: ungroup},
		{hf: "layers.{i}.attention.dense.weight", gguf: "blk.{i}.attn_output.weight"},
		{hf: "layers.{i}.attention.dense.bias", gguf: "blk.{i}.attn_output.bias"},
		{hf: "layers.{i}.post_attention_layernorm.weight", gguf: "blk.{i}.ffn_norm.weight"},
		{hf: "layers.{i}.post_attention_layernorm.bias", gguf: "blk.{i}.ffn_norm.bias"},
		{hf: "layers.{i}.mlp.dense_h_to_4h.weight", gguf: "blk.{i}.ffn_up.weight"},
		{hf: "layers.{i}.mlp.dense_h_to_4h.bias", gguf: "blk.{i}.ffn_up.bias"},
		{hf: "layers.{i}.mlp.dense_4h_to_h.weight", gguf: "blk.{i}.ffn_down.weight"},
		{hf: "layers.{i}.mlp.dense_4h_to_h.bias", gguf: "blk.{i}.ffn_down.bias"},
		{hf: "final_layer_norm.weight", gguf: "output_norm.weight"},
		{hf: "final_layer_norm.bias", gguf: "output_norm.bias"},
	}
}

func ggufGPTNeoX(m *Model, w GGUFWeights) (*ggufModel, error) {
	c, err := DecodeGPTNeoXConfig(m.Config)
	if err != nil {
		return nil, err
	}
	if m.Task != TaskCausalLM {
		return nil, fmt.Errorf("gguf: %s is not a causal LM; llama.cpp's gptneox architecture needs one", m.Class)
	}
	if c.RopeScaling != nil {
		return nil, fmt.Errorf("gguf: rope_scaling %q: llama.cpp's gptneox architecture has no rope scaling from its converter", c.RopeScaling.Type)
	}
	if c.HiddenAct != "gelu" && c.HiddenAct != "gelu_new" && c.HiddenAct != "gelu_fast" && c.HiddenAct != "gelu_pytorch_tanh" {
		return nil, fmt.Errorf("gguf: hidden_act %q: llama.cpp's gptneox architecture computes GELU", c.HiddenAct)
	}
	H, D := c.NumAttentionHeads, c.HiddenSize
	kvs := []gguf.KV{
		kv("gptneox.context_length", uint32(c.MaxPositionEmbeddings)),
		kv("gptneox.embedding_length", uint32(D)),
		kv("gptneox.block_count", uint32(c.NumHiddenLayers)),
		kv("gptneox.feed_forward_length", uint32(c.IntermediateSize)),
		kv("gptneox.rope.dimension_count", uint32(c.RotaryNDims)),
		kv("gptneox.rope.freq_base", float32(c.RotaryEmbBase)),
		kv("gptneox.attention.head_count", uint32(H)),
		kv("gptneox.use_parallel_residual", c.UseParallelResidual),
		kv("gptneox.attention.layer_norm_epsilon", float32(c.LayerNormEps)),
	}
	srcs, err := expandNames(gptNeoXNames(H), c.NumHiddenLayers, m.BasePrefix, w, nil)
	if err != nil {
		return nil, err
	}
	if srcs, err = appendOutputHead(srcs, m, w, "embed_out.weight"); err != nil {
		return nil, err
	}
	return &ggufModel{arch: "gptneox", kvs: kvs, tensors: srcs}, nil
}

// gptNeoXFromGGUF converts a gptneox GGUF file back to an HF GPTNeoXForCausalLM.
func gptNeoXFromGGUF(g *gguf.File) (map[string]any, map[string]*tensors.Tensor, error) {
	cfg := map[string]any{"architectures": []string{"GPTNeoXForCausalLM"}, "model_type": "gpt_neox", "torch_dtype": "float32", "hidden_act": "gelu"}
	vals := map[string]int{}
	for k, hf := range map[string]string{"embedding_length": "hidden_size", "block_count": "num_hidden_layers",
		"attention.head_count": "num_attention_heads", "context_length": "max_position_embeddings",
		"feed_forward_length": "intermediate_size", "rope.dimension_count": "rotary_ndims"} {
		v, ok := ggufUint(g, "gptneox."+k)
		if !ok {
			return nil, nil, fmt.Errorf("gguf: %s: missing gptneox.%s", g.Path, k)
		}
		vals[hf] = v
		if hf != "rotary_ndims" {
			cfg[hf] = v
		}
	}
	headDim := vals["hidden_size"] / vals["num_attention_heads"]
	cfg["rotary_pct"] = float64(vals["rotary_ndims"]) / float64(headDim)
	cfg["rotary_emb_base"] = ggufFloat(g, "gptneox.rope.freq_base", 10000)
	cfg["layer_norm_eps"] = ggufFloat(g, "gptneox.attention.layer_norm_epsilon", 1e-5)
	par, ok := g.KV["gptneox.use_parallel_residual"].(bool)
	cfg["use_parallel_residual"] = par || !ok
	ggufTokenIDs(g, cfg)
	out, err := importNames(g, gptNeoXNames(vals["num_attention_heads"]), vals["num_hidden_layers"], "gpt_neox.", map[string]string{"output.weight": "embed_out.weight"})
	if err != nil {
		return nil, nil, err
	}
	if emb, ok := out["gpt_neox.embed_in.weight"]; ok {
		cfg["vocab_size"] = emb.Shape().Dimensions[0]
	}
	_, hasHead := out["embed_out.weight"]
	cfg["tie_word_embeddings"] = !hasHead
	return cfg, out, nil
}

// regroupQKV reorders the rows of a fused QKV weight [3·D, in] (or bias [3·D]) from HF GPT-NeoX's
// [heads, 3, Dh] to llama.cpp's [3, heads, Dh]; inverse undoes it.
func regroupQKV(v []float32, shape []int, heads int, inverse bool) []float32 {
	rows, cols := shape[0], 1
	if len(shape) > 1 {
		cols = shape[1]
	}
	dh := rows / 3 / heads
	out := make([]float32, len(v))
	for h := range heads {
		for s := range 3 {
			hf := (h*3 + s) * dh
			gg := (s*heads + h) * dh
			src, dst := hf, gg
			if inverse {
				src, dst = gg, hf
			}
			copy(out[dst*cols:(dst+dh)*cols], v[src*cols:(src+dh)*cols])
		}
	}
	return out
}
