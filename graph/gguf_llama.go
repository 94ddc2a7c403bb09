package graph

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/gguf"
)

// GGUF export of the LLaMA family for llama.cpp (names and Q/K layout as llama.cpp's convert_hf_to_gguf.py).

// llamaGGUFNames maps HF names (after "model.") to GGUF names; {i} is the layer.
var llamaGGUFNames = []struct{ hf, gguf string }{
	{"embed_tokens.weight", "token_embd.weight"},
	{"layers.{i}.input_layernorm.weight", "blk.{i}.attn_norm.weight"},
	{"layers.{i}.self_attn.q_proj.weight", "blk.{i}.attn_q.weight"},
	{"layers.{i}.self_attn.k_proj.weight", "blk.{i}.attn_k.weight"},
	{"layers.{i}.self_attn.v_proj.weight", "blk.{i}.attn_v.weight"},
	{"layers.{i}.self_attn.o_proj.weight", "blk.{i}.attn_output.weight"},
	{"layers.{i}.post_attention_layernorm.weight", "blk.{i}.ffn_norm.weight"},
	{"layers.{i}.mlp.gate_proj.weight", "blk.{i}.ffn_gate.weight"},
	{"layers.{i}.mlp.up_proj.weight", "blk.{i}.ffn_up.weight"},
	{"layers.{i}.mlp.down_proj.weight", "blk.{i}.ffn_down.weight"},
	{"norm.weight", "output_norm.weight"},
}

func kv(key string, value any) gguf.KV { return gguf.KV{Key: key, Value: value} }

// GGUFLlama converts a LLaMA/Mistral causal LM to GGUF metadata and tensors (dtype F32, F16 or BF16). The
// tokenizer metadata is supplied by the caller (data/tokenizer builds it from tokenizer.json).
func GGUFLlama(m *Model, weights map[string]*tensors.Tensor, dtype uint32, name string) ([]gguf.KV, []gguf.Tensor, error) {
	if m.Task != TaskCausalLM || (m.Config.ModelType != "llama" && m.Config.ModelType != "mistral") {
		return nil, nil, fmt.Errorf("gguf: export supports LLaMA/Mistral causal LMs, not %s (%s)", m.Class, m.Config.ModelType)
	}
	c, err := DecodeLlamaConfig(m.Config)
	if err != nil {
		return nil, nil, err
	}
	if c.AttentionBias || c.MLPBias || c.QKVBias {
		return nil, nil, fmt.Errorf("gguf: biases in attention/MLP are not in llama.cpp's llama architecture")
	}
	kvs := []gguf.KV{
		kv("general.architecture", "llama"),
		kv("general.name", name),
		kv("general.file_type", map[uint32]uint32{gguf.TypeF32: 0, gguf.TypeF16: 1, gguf.TypeBF16: 32}[dtype]),
		kv("llama.context_length", uint32(c.MaxPositionEmbeddings)),
		kv("llama.embedding_length", uint32(c.HiddenSize)),
		kv("llama.block_count", uint32(c.NumHiddenLayers)),
		kv("llama.feed_forward_length", uint32(c.IntermediateSize)),
		kv("llama.rope.dimension_count", uint32(c.HeadDim)),
		kv("llama.attention.head_count", uint32(c.NumAttentionHeads)),
		kv("llama.attention.head_count_kv", uint32(c.NumKeyValueHeads)),
		kv("llama.attention.layer_norm_rms_epsilon", float32(c.RMSNormEps)),
		kv("llama.rope.freq_base", float32(c.RopeTheta)),
		kv("llama.vocab_size", uint32(c.VocabSize)),
	}
	if c.RopeScaling != nil && c.RopeScaling.Type == "linear" {
		kvs = append(kvs, kv("llama.rope.scaling.type", "linear"), kv("llama.rope.scaling.factor", float32(c.RopeScaling.Factor)))
	} else if c.RopeScaling != nil {
		return nil, nil, fmt.Errorf("gguf: rope_scaling %q is not exported yet", c.RopeScaling.Type)
	}
	var out []gguf.Tensor
	add := func(hf, gg string, permuteHeads int) error {
		t, ok := weights[hf]
		if !ok {
			return fmt.Errorf("gguf: weight %q missing", hf)
		}
		vals := tensors.MustCopyFlatData[float32](t)
		shape := t.Shape().Dimensions
		if permuteHeads > 0 {
			vals = permuteRotary(vals, shape, permuteHeads, false)
		}
		data, err := encodeGGUF(dtype, vals, len(shape))
		if err != nil {
			return err
		}
		typ := dtype
		if len(shape) == 1 {
			typ = gguf.TypeF32 // norms stay float32, as llama.cpp's converter keeps them
		}
		out = append(out, gguf.Tensor{Name: gg, Type: typ, Shape: shape, Data: data})
		return nil
	}
	prefix := strings.TrimSuffix(m.BasePrefix, ".") + "."
	for _, pair := range llamaGGUFNames {
		layers := 1
		if strings.Contains(pair.hf, "{i}") {
			layers = c.NumHiddenLayers
		}
		for l := 0; l < layers; l++ {
			hf := prefix + strings.ReplaceAll(pair.hf, "{i}", fmt.Sprint(l))
			gg := strings.ReplaceAll(pair.gguf, "{i}", fmt.Sprint(l))
			heads := 0
			switch {
			case strings.HasSuffix(hf, "q_proj.weight"):
				heads = c.NumAttentionHeads
			case strings.HasSuffix(hf, "k_proj.weight"):
				heads = c.NumKeyValueHeads
			}
			if err := add(hf, gg, heads); err != nil {
				return nil, nil, err
			}
		}
	}
	head := "lm_head.weight"
	if _, tied := m.Tied[head]; !tied {
		if err := add(head, "output.weight", 0); err != nil {
			return nil, nil, err
		}
	}
	return kvs, out, nil
}

// permuteRotary reorders the rows of a q/k projection [heads·Dh, in] between HF's rotate-half layout and
// llama.cpp's interleaved one: per head, rows (2, Dh/2) become (Dh/2, 2); inverse undoes it.
func permuteRotary(w []float32, shape []int, heads int, inverse bool) []float32 {
	rows, cols := shape[0], shape[1]
	dh := rows / heads
	half := dh / 2
	out := make([]float32, len(w))
	for h := 0; h < heads; h++ {
		for j := 0; j < half; j++ {
			for s := 0; s < 2; s++ {
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

func encodeGGUF(dtype uint32, vals []float32, rank int) ([]byte, error) {
	if rank == 1 {
		dtype = gguf.TypeF32
	}
	b := make([]byte, 0, len(vals)*4)
	switch dtype {
	case gguf.TypeF32:
		for _, v := range vals {
			b = appendU32(b, mathFloat32bits(v))
		}
	case gguf.TypeF16:
		for _, v := range vals {
			h := f32ToF16(v)
			b = append(b, byte(h), byte(h>>8))
		}
	case gguf.TypeBF16:
		for _, v := range vals {
			h := f32ToBF16(v)
			b = append(b, byte(h), byte(h>>8))
		}
	default:
		return nil, fmt.Errorf("gguf: unsupported dtype %d", dtype)
	}
	return b, nil
}

// LlamaFromGGUF converts a llama-architecture GGUF file (F32/F16/BF16 tensors) back to an HF LlamaForCausalLM:
// config.json fields and float32 tensors under HF names, q/k rows returned to HF's rotate-half layout.
func LlamaFromGGUF(g *gguf.File) (map[string]any, map[string]*tensors.Tensor, error) {
	if arch, _ := g.KV["general.architecture"].(string); arch != "llama" {
		return nil, nil, fmt.Errorf("gguf: %s: architecture %q is not supported for import (llama is)", g.Path, arch)
	}
	u := func(key string) (int, error) {
		switch v := g.KV["llama."+key].(type) {
		case uint32:
			return int(v), nil
		case uint64:
			return int(v), nil
		case int32:
			return int(v), nil
		}
		return 0, fmt.Errorf("gguf: %s: missing llama.%s", g.Path, key)
	}
	f := func(key string, def float64) float64 {
		if v, ok := g.KV["llama."+key].(float32); ok {
			return float64(v)
		}
		return def
	}
	cfg := map[string]any{"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama", "hidden_act": "silu",
		"torch_dtype": "float32"}
	fields := map[string]string{"embedding_length": "hidden_size", "block_count": "num_hidden_layers",
		"feed_forward_length": "intermediate_size", "attention.head_count": "num_attention_heads",
		"context_length": "max_position_embeddings"}
	vals := map[string]int{}
	for k, hf := range fields {
		v, err := u(k)
		if err != nil {
			return nil, nil, err
		}
		cfg[hf], vals[hf] = v, v
	}
	kvh, err := u("attention.head_count_kv")
	if err != nil {
		kvh = vals["num_attention_heads"]
	}
	cfg["num_key_value_heads"] = kvh
	cfg["rms_norm_eps"] = f("attention.layer_norm_rms_epsilon", 1e-6)
	cfg["rope_theta"] = f("rope.freq_base", 10000)
	for _, id := range []struct{ gg, hf string }{{"bos_token_id", "bos_token_id"}, {"eos_token_id", "eos_token_id"}, {"padding_token_id", "pad_token_id"}} {
		if v, ok := g.KV["tokenizer.ggml."+id.gg].(uint32); ok {
			cfg[id.hf] = int(v)
		}
	}
	heads := vals["num_attention_heads"]
	toHF := map[string]string{}
	for _, pair := range llamaGGUFNames {
		for l := 0; l < vals["num_hidden_layers"]; l++ {
			toHF[strings.ReplaceAll(pair.gguf, "{i}", fmt.Sprint(l))] = "model." + strings.ReplaceAll(pair.hf, "{i}", fmt.Sprint(l))
		}
	}
	toHF["output.weight"] = "lm_head.weight"
	out := map[string]*tensors.Tensor{}
	for _, ti := range g.Tensors {
		name, ok := toHF[ti.Name]
		if !ok {
			if strings.HasSuffix(ti.Name, "rope_freqs.weight") {
				continue
			}
			return nil, nil, fmt.Errorf("gguf: %s: tensor %q has no HF name", g.Path, ti.Name)
		}
		raw, err := g.Data(ti)
		if err != nil {
			return nil, nil, err
		}
		v, err := decodeGGUF(ti.Type, raw)
		if err != nil {
			return nil, nil, fmt.Errorf("gguf: %s: %s: %w", g.Path, ti.Name, err)
		}
		switch {
		case strings.HasSuffix(ti.Name, "attn_q.weight"):
			v = permuteRotary(v, ti.Shape, heads, true)
		case strings.HasSuffix(ti.Name, "attn_k.weight"):
			v = permuteRotary(v, ti.Shape, kvh, true)
		}
		out[name] = tensors.FromFlatDataAndDimensions(v, ti.Shape...)
	}
	if emb, ok := out["model.embed_tokens.weight"]; ok {
		cfg["vocab_size"] = emb.Shape().Dimensions[0]
	}
	_, hasHead := out["lm_head.weight"]
	cfg["tie_word_embeddings"] = !hasHead
	return cfg, out, nil
}

func decodeGGUF(typ uint32, b []byte) ([]float32, error) {
	switch typ {
	case gguf.TypeF32:
		return safetensorsDecode("F32", b)
	case gguf.TypeF16:
		return safetensorsDecode("F16", b)
	case gguf.TypeBF16:
		return safetensorsDecode("BF16", b)
	}
	return nil, fmt.Errorf("tensor type %d cannot be imported (F32, F16 and BF16 can)", typ)
}
