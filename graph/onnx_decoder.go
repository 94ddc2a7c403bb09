package graph

// ONNX export, part 2: the decoder families (LLaMA/Mistral/Qwen2, GPT-2, GPT-Neo, GPT-NeoX, OPT) in optimum's
// layout: inputs input_ids, attention_mask [batch, past + sequence], position_ids (not OPT, whose positions
// come from attention_mask as in HF) and, with past, past_key_values.{i}.key/value [batch, kv_heads, past,
// head_dim]; outputs logits (QA: start_logits, end_logits) and present.{i}.key/value. Each family follows the
// same formulas as its GoMLX forward in <family>.go.

import (
	"fmt"
	"math"

	"github.com/hift-go/hift/io/onnx"
)

// onnxDecoder holds the graph inputs of a decoder export and collects its present.* outputs.
type onnxDecoder struct {
	b                    *onnxBuilder
	withPast             bool
	ids, mask, positions string
	presents             []string
}

// pastKV prepends layer l's past keys/values (when exported with past) to k, v [B, KVH, T, Dh] and names the
// results present.{l}.key/value.
func (d *onnxDecoder) pastKV(l int, k, v string) (string, string) {
	if !d.withPast {
		return k, v
	}
	b := d.b
	k = b.op("Concat", []string{fmt.Sprintf("past_key_values.%d.key", l), k}, attr("axis", 2))   // [B, KVH, P+T, Dh]
	v = b.op("Concat", []string{fmt.Sprintf("past_key_values.%d.value", l), v}, attr("axis", 2)) // [B, KVH, P+T, Dh]
	for i, x := range []string{k, v} {
		name := fmt.Sprintf("present.%d.%s", l, [2]string{"key", "value"}[i])
		b.name(x, name)
		d.presents = append(d.presents, name)
	}
	return k, v
}

// head adds the task head on the final hidden states x [B, T, D] and names the outputs.
func (d *onnxDecoder) head(task Task, head HeadConfig, x, module string) []string {
	b := d.b
	switch task {
	case TaskCausalLM:
		wt := b.op("Transpose", []string{b.w(module + ".weight")}, attr("perm", []int64{1, 0}))
		b.name(b.op("MatMul", []string{x, wt}), "logits") // [B, T, V]
		return []string{"logits"}
	case TaskSeqCls:
		all := b.linear(x, module, false) // [B, T, C]
		T := b.op("Unsqueeze", []string{b.dim(d.ids, 1), b.ints(0)})
		var idx string
		if head.PadTokenID == nil {
			last := b.op("Reshape", []string{b.op("Sub", []string{T, b.ints(1)}), b.ints(1, 1)})                                   // [1, 1]: the last token
			shape := b.op("Concat", []string{b.op("Unsqueeze", []string{b.dim(d.ids, 0), b.ints(0)}), b.ints(1)}, attr("axis", 0)) // [B, 1]
			idx = b.op("Expand", []string{last, shape})                                                                            // [B, 1]
		} else {
			isPad := b.op("Cast", []string{b.op("Equal", []string{d.ids, b.scalarI(int64(*head.PadTokenID))})}, attr("to", int64(onnx.Int32))) // [B, T]
			first := b.op("Cast", []string{b.op("ArgMax", []string{isPad}, attr("axis", 1), attr("keepdims", 1))}, attr("to", int64(onnx.Int64)))
			idx = b.op("Mod", []string{b.op("Add", []string{b.op("Sub", []string{first, b.ints(1)}), T}), T}) // [B, 1] last non-pad
		}
		b.name(b.op("GatherND", []string{all, idx}, attr("batch_dims", 1)), "logits") // [B, C]
		return []string{"logits"}
	case TaskTokenCls:
		b.name(b.linear(x, module, true), "logits") // [B, T, C]
		return []string{"logits"}
	case TaskQA:
		return b.qaOutputs(b.linear(x, module, true)) // [B, T, 2]
	}
	panicf("onnx export: task %s is not implemented for decoders", task)
	return nil
}

// qaOutputs splits QA logits [B, T, 2] into start_logits and end_logits [B, T].
func (b *onnxBuilder) qaOutputs(logits string) []string {
	parts := b.split(logits, -1, 1, 1)
	b.name(b.op("Squeeze", []string{parts[0], b.ints(-1)}), "start_logits")
	b.name(b.op("Squeeze", []string{parts[1], b.ints(-1)}), "end_logits")
	return []string{"start_logits", "end_logits"}
}

func onnxLlama(d *onnxDecoder, m *Model) []string {
	c, err := DecodeLlamaConfig(m.Config)
	switch m.Config.ModelType {
	case "mistral":
		c, err = DecodeMistralConfig(m.Config)
	case "qwen2":
		c, err = DecodeQwen2Config(m.Config)
	}
	if err != nil {
		panic(err)
	}
	if c.RopeScaling != nil && c.RopeScaling.Type == "dynamic" {
		panicf("rope_scaling \"dynamic\" depends on the sequence length at run time; it is not exportable")
	}
	head, err := decoderHead(m.Config, m.Task, "LLaMA", c.PadTokenID)
	if err != nil {
		panic(err)
	}
	b := d.b
	base := m.BasePrefix[:len(m.BasePrefix)-1]
	H, KVH, Dh := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	qkvBias := c.AttentionBias || c.QKVBias
	cos, sin := b.rotary(d.positions, b.floats(float32s(c.InvFreq(0)))) // [B, 1, T, Dh]
	x := b.gather(b.w(base+".embed_tokens.weight"), d.ids)              // [B, T, D]
	full := b.causalMask(d.mask, d.ids, 0)                              // [B, 1, T, S]
	window := full
	if c.SlidingWindow > 0 {
		window = b.causalMask(d.mask, d.ids, c.SlidingWindow)
	}
	scale := 1 / math.Sqrt(float64(Dh))
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("%s.layers.%d", base, l)
		mask := window
		if c.SlidingLayers != nil && !c.SlidingLayers[l] {
			mask = full
		}
		h := b.rmsNorm(x, p+".input_layernorm.weight", c.RMSNormEps)       // [B, T, D]
		q := b.heads(b.linear(h, p+".self_attn.q_proj", qkvBias), H, Dh)   // [B, H, T, Dh]
		k := b.heads(b.linear(h, p+".self_attn.k_proj", qkvBias), KVH, Dh) // [B, KVH, T, Dh]
		v := b.heads(b.linear(h, p+".self_attn.v_proj", qkvBias), KVH, Dh) // [B, KVH, T, Dh]
		q, k = b.applyRotary(q, cos, sin, Dh, Dh), b.applyRotary(k, cos, sin, Dh, Dh)
		k, v = d.pastKV(l, k, v)                           // [B, KVH, S, Dh]
		a := b.attention(q, k, v, mask, scale, H, KVH, Dh) // [B, T, H·Dh]
		x = b.op("Add", []string{x, b.linear(a, p+".self_attn.o_proj", c.AttentionBias)})
		h = b.rmsNorm(x, p+".post_attention_layernorm.weight", c.RMSNormEps)
		gate := b.act(c.HiddenAct, b.linear(h, p+".mlp.gate_proj", c.MLPBias)) // [B, T, I]
		up := b.linear(h, p+".mlp.up_proj", c.MLPBias)                         // [B, T, I]
		x = b.op("Add", []string{x, b.linear(b.op("Mul", []string{gate, up}), p+".mlp.down_proj", c.MLPBias)})
	}
	x = b.rmsNorm(x, base+".norm.weight", c.RMSNormEps) // [B, T, D]
	return d.head(m.Task, head, x, decoderModule(m, "lm_head"))
}

// decoderModule is the head module of a decoder model: the causal LM's projection, or the task head unit.
func decoderModule(m *Model, lmHead string) string {
	if m.Task == TaskCausalLM {
		return lmHead
	}
	return m.Units[len(m.Units)-1].Name
}

func onnxGPT2(d *onnxDecoder, m *Model) []string {
	c, err := DecodeGPT2Config(m.Config)
	if err != nil {
		panic(err)
	}
	head, err := decoderHead(m.Config, m.Task, "GPT-2", c.PadTokenID)
	if err != nil {
		panic(err)
	}
	b := d.b
	H, D := c.NHead, c.NEmbd
	Dh := D / H
	x := b.op("Add", []string{b.gather(b.w("transformer.wte.weight"), d.ids), b.gather(b.w("transformer.wpe.weight"), d.positions)}) // [B, T, D]
	mask := b.causalMask(d.mask, d.ids, 0)
	for l := 0; l < c.NLayer; l++ {
		p := fmt.Sprintf("transformer.h.%d", l)
		scale := 1.0
		if c.ScaleAttnWeights {
			scale /= math.Sqrt(float64(Dh))
		}
		if c.ScaleAttnByInverseLayerIdx {
			scale /= float64(l + 1)
		}
		h := b.layerNorm(x, p+".ln_1", c.LayerNormEpsilon, true, D)
		qkv := b.split(b.conv1D(h, p+".attn.c_attn"), -1, int64(D), int64(D), int64(D)) // 3 × [B, T, D]
		q, k, v := b.heads(qkv[0], H, Dh), b.heads(qkv[1], H, Dh), b.heads(qkv[2], H, Dh)
		k, v = d.pastKV(l, k, v)
		a := b.attention(q, k, v, mask, scale, H, H, Dh) // [B, T, D]
		x = b.op("Add", []string{x, b.conv1D(a, p+".attn.c_proj")})
		h = b.layerNorm(x, p+".ln_2", c.LayerNormEpsilon, true, D)
		f := b.act(c.ActivationFunction, b.conv1D(h, p+".mlp.c_fc"))
		x = b.op("Add", []string{x, b.conv1D(f, p+".mlp.c_proj")})
	}
	x = b.layerNorm(x, "transformer.ln_f", c.LayerNormEpsilon, true, D)
	return d.head(m.Task, head, x, decoderModule(m, "lm_head"))
}

func onnxGPTNeo(d *onnxDecoder, m *Model) []string {
	c, err := DecodeGPTNeoConfig(m.Config)
	if err != nil {
		panic(err)
	}
	head, err := decoderHead(m.Config, m.Task, "GPT-Neo", c.PadTokenID)
	if err != nil {
		panic(err)
	}
	b := d.b
	H, D := c.NumHeads, c.HiddenSize
	Dh := D / H
	x := b.op("Add", []string{b.gather(b.w("transformer.wte.weight"), d.ids), b.gather(b.w("transformer.wpe.weight"), d.positions)}) // [B, T, D]
	global := b.causalMask(d.mask, d.ids, 0)
	local := b.causalMask(d.mask, d.ids, c.WindowSize)
	for l := 0; l < c.NumLayers; l++ {
		p := fmt.Sprintf("transformer.h.%d", l)
		a := p + ".attn.attention"
		mask := global
		if c.AttentionLayers[l] == "local" {
			mask = local
		}
		h := b.layerNorm(x, p+".ln_1", c.LayerNormEpsilon, true, D)
		q := b.heads(b.linear(h, a+".q_proj", false), H, Dh)
		k := b.heads(b.linear(h, a+".k_proj", false), H, Dh)
		v := b.heads(b.linear(h, a+".v_proj", false), H, Dh)
		k, v = d.pastKV(l, k, v)
		o := b.attention(q, k, v, mask, 1, H, H, Dh) // GPT-Neo does not scale its scores
		x = b.op("Add", []string{x, b.linear(o, a+".out_proj", true)})
		h = b.layerNorm(x, p+".ln_2", c.LayerNormEpsilon, true, D)
		f := b.act(c.ActivationFunction, b.linear(h, p+".mlp.c_fc", true))
		x = b.op("Add", []string{x, b.linear(f, p+".mlp.c_proj", true)})
	}
	x = b.layerNorm(x, "transformer.ln_f", c.LayerNormEpsilon, true, D)
	return d.head(m.Task, head, x, decoderModule(m, "lm_head"))
}

func onnxGPTNeoX(d *onnxDecoder, m *Model) []string {
	c, err := DecodeGPTNeoXConfig(m.Config)
	if err != nil {
		panic(err)
	}
	if c.RopeScaling != nil && c.RopeScaling.Type == "dynamic" {
		panicf("rope_scaling \"dynamic\" depends on the sequence length at run time; it is not exportable")
	}
	head, err := decoderHead(m.Config, m.Task, "GPT-NeoX", c.PadTokenID)
	if err != nil {
		panic(err)
	}
	b := d.b
	H, D := c.NumAttentionHeads, c.HiddenSize
	Dh, R := D/H, c.RotaryNDims
	x := b.gather(b.w("gpt_neox.embed_in.weight"), d.ids) // [B, T, D]
	mask := b.causalMask(d.mask, d.ids, 0)
	scale := 1 / math.Sqrt(float64(Dh))
	// The config's frequencies, as the GoMLX forward computes them. A layer's inv_freq buffer (what HF reads) is
	// used instead when it holds the same frequencies (to 1e-6): then the graph reads every initializer and
	// onnxruntime has none to drop with a warning. A buffer that disagrees stays an unused initializer, kept
	// for import.
	freqs := float32s(c.invFreq(0))
	configFreq := "" // added on first use
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("gpt_neox.layers.%d", l)
		var cos, sin string
		if R > 0 {
			var invFreq string
			if buf := p + ".attention.rotary_emb.inv_freq"; c.RopeScaling == nil && b.matches(buf, freqs, 1e-6) {
				invFreq = b.w(buf)
			} else {
				if configFreq == "" {
					configFreq = b.floats(freqs)
				}
				invFreq = configFreq
			}
			cos, sin = b.rotary(d.positions, invFreq) // [B, 1, T, R]
		}
		h := b.layerNorm(x, p+".input_layernorm", c.LayerNormEps, true, D)
		qkv := b.linear(h, p+".attention.query_key_value", true)                  // [B, T, 3D]
		qkv = b.op("Reshape", []string{qkv, b.ints(0, 0, int64(H), int64(3*Dh))}) // [B, T, H, 3·Dh]
		parts := b.split(qkv, -1, int64(Dh), int64(Dh), int64(Dh))                // 3 × [B, T, H, Dh]
		perm := attr("perm", []int64{0, 2, 1, 3})
		q, k, v := b.op("Transpose", []string{parts[0]}, perm), b.op("Transpose", []string{parts[1]}, perm), b.op("Transpose", []string{parts[2]}, perm)
		if R > 0 {
			q, k = b.applyRotary(q, cos, sin, R, Dh), b.applyRotary(k, cos, sin, R, Dh)
		}
		k, v = d.pastKV(l, k, v)
		a := b.linear(b.attention(q, k, v, mask, scale, H, H, Dh), p+".attention.dense", true) // [B, T, D]
		mlp := func(y string) string {
			f := b.act(c.HiddenAct, b.linear(y, p+".mlp.dense_h_to_4h", true))
			return b.linear(f, p+".mlp.dense_4h_to_h", true)
		}
		if c.UseParallelResidual {
			f := mlp(b.layerNorm(x, p+".post_attention_layernorm", c.LayerNormEps, true, D))
			x = b.op("Add", []string{b.op("Add", []string{f, a}), x})
		} else {
			a = b.op("Add", []string{a, x})
			f := mlp(b.layerNorm(a, p+".post_attention_layernorm", c.LayerNormEps, true, D))
			x = b.op("Add", []string{f, a})
		}
	}
	x = b.layerNorm(x, "gpt_neox.final_layer_norm", c.LayerNormEps, true, D)
	return d.head(m.Task, head, x, decoderModule(m, "embed_out"))
}

func onnxOPT(d *onnxDecoder, m *Model) []string {
	c, err := DecodeOPTConfig(m.Config)
	if err != nil {
		panic(err)
	}
	head, err := decoderHead(m.Config, m.Task, "OPT", c.PadTokenID)
	if err != nil {
		panic(err)
	}
	b := d.b
	const dec = "model.decoder"
	H, D := c.NumAttentionHeads, c.HiddenSize
	Dh := D / H
	eps, affine := c.layerNormEps, c.LayerNormElementwiseAffine
	// HF: positions = cumsum(mask)·mask − 1, the last T of them, + offset 2.
	pos := b.op("Mul", []string{b.op("CumSum", []string{d.mask, b.scalarI(1)}), d.mask}) // [B, S]
	S := b.op("Unsqueeze", []string{b.dim(d.mask, 1), b.ints(0)})
	P := b.op("Sub", []string{S, b.op("Unsqueeze", []string{b.dim(d.ids, 1), b.ints(0)})})
	pos = b.op("Slice", []string{pos, P, S, b.ints(1)})                // [B, T]
	pos = b.op("Add", []string{pos, b.scalarI(optPositionOffset - 1)}) // rows of embed_positions
	x := b.gather(b.w(dec+".embed_tokens.weight"), d.ids)              // [B, T, E]
	if c.hasProjections() {
		x = b.linear(x, dec+".project_in", false) // [B, T, D]
	}
	x = b.op("Add", []string{x, b.gather(b.w(dec+".embed_positions.weight"), pos)})
	mask := b.causalMask(d.mask, d.ids, 0)
	scale := 1 / math.Sqrt(float64(Dh))
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("%s.layers.%d", dec, l)
		h := x
		if c.DoLayerNormBefore {
			h = b.layerNorm(h, p+".self_attn_layer_norm", eps, affine, D)
		}
		q := b.heads(b.op("Mul", []string{b.linear(h, p+".self_attn.q_proj", c.EnableBias), b.scalarF(scale)}), H, Dh)
		k := b.heads(b.linear(h, p+".self_attn.k_proj", c.EnableBias), H, Dh)
		v := b.heads(b.linear(h, p+".self_attn.v_proj", c.EnableBias), H, Dh)
		k, v = d.pastKV(l, k, v)
		a := b.attention(q, k, v, mask, 1, H, H, Dh)
		x = b.op("Add", []string{x, b.linear(a, p+".self_attn.out_proj", c.EnableBias)})
		if !c.DoLayerNormBefore {
			x = b.layerNorm(x, p+".self_attn_layer_norm", eps, affine, D)
		}
		h = x
		if c.DoLayerNormBefore {
			h = b.layerNorm(h, p+".final_layer_norm", eps, affine, D)
		}
		f := b.act(c.ActivationFunction, b.linear(h, p+".fc1", c.EnableBias))
		x = b.op("Add", []string{x, b.linear(f, p+".fc2", c.EnableBias)})
		if !c.DoLayerNormBefore {
			x = b.layerNorm(x, p+".final_layer_norm", eps, affine, D)
		}
	}
	if c.hasFinalNorm() {
		x = b.layerNorm(x, dec+".final_layer_norm", eps, affine, D)
	}
	if c.hasProjections() {
		x = b.linear(x, dec+".project_out", false)
	}
	return d.head(m.Task, head, x, decoderModule(m, "lm_head"))
}

func float32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, f := range v {
		out[i] = float32(f)
	}
	return out
}
