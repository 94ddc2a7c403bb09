package graph

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/gguf"
)

// GGUF conversion of the LLaMA family (llama, mistral → llama.cpp's "llama"), names and the Q/K row
// permutation as llama.cpp's convert_hf_to_gguf.py (LlamaModel) writes them.

func init() {
	ggufConverters["llama"] = ggufLlama
	ggufConverters["mistral"] = ggufLlama
	ggufImporters["llama"] = func(g *gguf.File) (map[string]any, map[string]*tensors.Tensor, error) {
		return llamaLayoutFromGGUF(g, "llama", "LlamaForCausalLM", true)
	}
}

// llamaGGUFNames maps the LLaMA layout's HF names (after "model.") to GGUF names; {i} is the layer.
var llamaGGUFNames = []ggufNamePair{
	{hf: "embed_tokens.weight", gguf: "token_embd.weight"},
	{hf: "layers.{i}.input_layernorm.weight", gguf: "blk.{i}.attn_norm.weight"},
	{hf: "layers.{i}.self_attn.q_proj.weight", gguf: "blk.{i}.attn_q.weight"},
	{hf: "layers.{i}.self_attn.q_proj.bias", gguf: "blk.{i}.attn_q.bias"},
	{hf: "layers.{i}.self_attn.k_proj.weight", gguf: "blk.{i}.attn_k.weight"},
	{hf: "layers.{i}.self_attn.k_proj.bias", gguf: "blk.{i}.attn_k.bias"},
	{hf: "layers.{i}.self_attn.v_proj.weight", gguf: "blk.{i}.attn_v.weight"},
	{hf: "layers.{i}.self_attn.v_proj.bias", gguf: "blk.{i}.attn_v.bias"},
	{hf: "layers.{i}.self_attn.o_proj.weight", gguf: "blk.{i}.attn_output.weight"},
	{hf: "layers.{i}.post_attention_layernorm.weight", gguf: "blk.{i}.ffn_norm.weight"},
	{hf: "layers.{i}.mlp.gate_proj.weight", gguf: "blk.{i}.ffn_gate.weight"},
	{hf: "layers.{i}.mlp.up_proj.weight", gguf: "blk.{i}.ffn_up.weight"},
	{hf: "layers.{i}.mlp.down_proj.weight", gguf: "blk.{i}.ffn_down.weight"},
	{hf: "norm.weight", gguf: "output_norm.weight"},
}

func ggufLlama(m *Model, w GGUFWeights) (*ggufModel, error) {
	c, err := DecodeLlamaConfig(m.Config)
	if err != nil {
		return nil, err
	}
	if c.AttentionBias || c.MLPBias || c.QKVBias {
		return nil, fmt.Errorf("gguf: attention_bias/mlp_bias: llama.cpp's llama architecture has no biases on the projections")
	}
	return llamaLayoutGGUF(m, w, c, "llama", true)
}

// llamaLayoutGGUF writes a LLaMA-layout causal LM as GGUF architecture arch; permute reorders q/k rows to
// llama.cpp's interleaved rotary layout (llama), Qwen2 keeps HF's (its GGUF uses NEOX rope).
func llamaLayoutGGUF(m *Model, w GGUFWeights, c *LlamaConfig, arch string, permute bool) (*ggufModel, error) {
	if m.Task != TaskCausalLM {
		return nil, fmt.Errorf("gguf: %s is not a causal LM; llama.cpp's %s architecture needs one", m.Class, arch)
	}
	if c.SlidingWindow > 0 && c.SlidingWindow < c.MaxPositionEmbeddings {
		return nil, fmt.Errorf("gguf: sliding_window %d < max_position_embeddings %d: llama.cpp's %s architecture has no sliding-window attention", c.SlidingWindow, c.MaxPositionEmbeddings, arch)
	}
	if c.HiddenAct != "silu" {
		return nil, fmt.Errorf("gguf: hidden_act %q: llama.cpp's %s architecture computes SiLU", c.HiddenAct, arch)
	}
	p := func(k string) string { return arch + "." + k }
	kvs := []gguf.KV{
		kv(p("context_length"), uint32(c.MaxPositionEmbeddings)),
		kv(p("embedding_length"), uint32(c.HiddenSize)),
		kv(p("block_count"), uint32(c.NumHiddenLayers)),
		kv(p("feed_forward_length"), uint32(c.IntermediateSize)),
		kv(p("rope.dimension_count"), uint32(c.HeadDim)),
		kv(p("attention.head_count"), uint32(c.NumAttentionHeads)),
		kv(p("attention.head_count_kv"), uint32(c.NumKeyValueHeads)),
		kv(p("attention.layer_norm_rms_epsilon"), float32(c.RMSNormEps)),
		kv(p("rope.freq_base"), float32(c.RopeTheta)),
		kv(p("vocab_size"), uint32(c.VocabSize)),
	}
	if c.HeadDim*c.NumAttentionHeads != c.HiddenSize {
		kvs = append(kvs, kv(p("attention.key_length"), uint32(c.HeadDim)), kv(p("attention.value_length"), uint32(c.HeadDim)))
	}
	var extra []ggufSource
	if rs := c.RopeScaling; rs != nil {
		switch rs.Type {
		case "linear":
			kvs = append(kvs, kv(p("rope.scaling.type"), "linear"), kv(p("rope.scaling.factor"), float32(rs.Factor)))
		case "llama3":
			// llama.cpp divides each rotary frequency by rope_freqs[i] (convert_hf_to_gguf's llama3 factors).
			plain := *c
			plain.RopeScaling = nil
			base, scaled := plain.InvFreq(1), c.InvFreq(1)
			extra = append(extra, ggufSource{name: "rope_freqs.weight", shape: []int{len(base)}, values: func() ([]float32, error) {
				f := make([]float32, len(base))
				for i := range f {
					f[i] = float32(base[i] / scaled[i])
				}
				return f, nil
			}})
		default:
			return nil, fmt.Errorf("gguf: rope_scaling %q: llama.cpp has no such rope scaling (linear and llama3 can be exported)", rs.Type)
		}
	}
	table := llamaGGUFNames
	if permute {
		table = make([]ggufNamePair, len(llamaGGUFNames))
		copy(table, llamaGGUFNames)
		for i, pr := range table {
			heads := 0
			switch pr.gguf {
			case "blk.{i}.attn_q.weight":
				heads = c.NumAttentionHeads
			case "blk.{i}.attn_k.weight":
				heads = c.NumKeyValueHeads
			}
			if heads > 0 {
				table[i].out = func(v []float32, s []int) []float32 { return permuteRotary(v, s, heads, false) }
				table[i].back = func(v []float32, s []int) []float32 { return permuteRotary(v, s, heads, true) }
			}
		}
	}
	hasBias := func(hf string) bool { return len(hf) > 5 && hf[len(hf)-5:] == ".bias" && !c.QKVBias }
	srcs, err := expandNames(table, c.NumHiddenLayers, m.BasePrefix, w, hasBias)
	if err != nil {
		return nil, err
	}
	if srcs, err = appendOutputHead(srcs, m, w, "lm_head.weight"); err != nil {
		return nil, err
	}
	// rope_freqs goes first, as llama.cpp's converter writes it.
	return &ggufModel{arch: arch, kvs: kvs, tensors: append(extra, srcs...)}, nil
}

// permuteRotary reorders the rows of a q/k projection [heads·Dh, in] (or its bias [heads·Dh]) between HF's
// rotate-half layout and llama.cpp's interleaved one: per head, rows (2, Dh/2) become (Dh/2, 2); inverse
// undoes it.
func permuteRotary(w []float32, shape []int, heads int, inverse bool) []float32 {
	rows, cols := shape[0], 1
	if len(shape) > 1 {
		cols = shape[1]
	}
	dh := rows / heads
	half := dh / 2
	out := make([]float32, len(w))
	for h := range heads {
		for j := range half {
			for s := range 2 {
				hf := h*dh + s*half + j // HF: [head, 2, half]
				gg := h*dh + j*2 + s    // GGUF: [head, half, 2]
				src, dst := hf, gg
				if inverse {
					src, dst = gg, hf
				}
				copy(out[dst*cols:(dst+1)*cols], w[src*cols:(src+1)*cols])
			}
		}
	}
	return out
}

// llamaLayoutFromGGUF converts a llama/qwen2 GGUF file back to an HF causal LM: config.json fields and float32
// tensors under HF names (q/k rows returned to HF's layout when permuted).
func llamaLayoutFromGGUF(g *gguf.File, arch, class string, permuted bool) (map[string]any, map[string]*tensors.Tensor, error) {
	p := func(k string) string { return arch + "." + k }
	cfg := map[string]any{"architectures": []string{class}, "model_type": arch, "hidden_act": "silu", "torch_dtype": "float32"}
	vals := map[string]int{}
	for k, hf := range map[string]string{"embedding_length": "hidden_size", "block_count": "num_hidden_layers",
		"feed_forward_length": "intermediate_size", "attention.head_count": "num_attention_heads", "context_length": "max_position_embeddings"} {
		v, ok := ggufUint(g, p(k))
		if !ok {
			return nil, nil, fmt.Errorf("gguf: %s: missing %s", g.Path, p(k))
		}
		cfg[hf], vals[hf] = v, v
	}
	kvh, ok := ggufUint(g, p("attention.head_count_kv"))
	if !ok {
		kvh = vals["num_attention_heads"]
	}
	cfg["num_key_value_heads"] = kvh
	if kl, ok := ggufUint(g, p("attention.key_length")); ok {
		cfg["head_dim"] = kl
		if vl, ok := ggufUint(g, p("attention.value_length")); ok && vl != kl {
			return nil, nil, fmt.Errorf("gguf: %s: key_length %d != value_length %d is not representable in hift's %s", g.Path, kl, vl, arch)
		}
	}
	cfg["rms_norm_eps"] = ggufFloat(g, p("attention.layer_norm_rms_epsilon"), 1e-6)
	cfg["rope_theta"] = ggufFloat(g, p("rope.freq_base"), 10000)
	if st, ok := g.KV[p("rope.scaling.type")].(string); ok && st != "none" {
		if st != "linear" {
			return nil, nil, fmt.Errorf("gguf: %s: rope scaling %q cannot be imported (linear can)", g.Path, st)
		}
		cfg["rope_scaling"] = map[string]any{"type": "linear", "factor": ggufFloat(g, p("rope.scaling.factor"), 1)}
	}
	for _, ti := range g.Tensors {
		if ti.Name == "rope_freqs.weight" {
			return nil, nil, fmt.Errorf("gguf: %s: rope_freqs.weight (llama3-style per-frequency rope factors) has no exact config.json equivalent; refusing to import rather than drop it", g.Path)
		}
	}
	ggufTokenIDs(g, cfg)
	heads := vals["num_attention_heads"]
	table := make([]ggufNamePair, len(llamaGGUFNames))
	copy(table, llamaGGUFNames)
	if permuted {
		for i, pr := range table {
			h := 0
			switch pr.gguf {
			case "blk.{i}.attn_q.weight", "blk.{i}.attn_q.bias":
				h = heads
			case "blk.{i}.attn_k.weight", "blk.{i}.attn_k.bias":
				h = kvh
			}
			if h > 0 {
				table[i].back = func(v []float32, s []int) []float32 { return permuteRotary(v, s, h, true) }
			}
		}
	}
	out, err := importNames(g, table, vals["num_hidden_layers"], "model.", map[string]string{"output.weight": "lm_head.weight"})
	if err != nil {
		return nil, nil, err
	}
	if emb, ok := out["model.embed_tokens.weight"]; ok {
		cfg["vocab_size"] = emb.Shape().Dimensions[0]
	}
	_, hasHead := out["lm_head.weight"]
	cfg["tie_word_embeddings"] = !hasHead
	return cfg, out, nil
}
