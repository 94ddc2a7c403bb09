package graph

// GPT-NeoX (Pythia). Reference: transformers/models/gpt_neox/modeling_gpt_neox.py and
// configuration_gpt_neox.py (v4.34).

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

func init() {
	Register(Arch{
		ModelType: "gpt_neox",
		Classes: map[string]Task{
			"GPTNeoXForCausalLM":               TaskCausalLM,
			"GPTNeoXForSequenceClassification": TaskSeqCls,
			"GPTNeoXForTokenClassification":    TaskTokenCls,
			"GPTNeoXForQuestionAnswering":      TaskQA,
		},
		Build: buildGPTNeoX,
	})
}

// GPTNeoXConfig is config.json of a GPT-NeoX model (GPTNeoXConfig; defaults as in transformers 4.34).
type GPTNeoXConfig struct {
	VocabSize             int          `json:"vocab_size"`
	HiddenSize            int          `json:"hidden_size"`
	NumHiddenLayers       int          `json:"num_hidden_layers"`
	NumAttentionHeads     int          `json:"num_attention_heads"`
	IntermediateSize      int          `json:"intermediate_size"`
	HiddenAct             string       `json:"hidden_act"`
	RotaryPct             float64      `json:"rotary_pct"`
	RotaryEmbBase         float64      `json:"rotary_emb_base"`
	MaxPositionEmbeddings int          `json:"max_position_embeddings"`
	LayerNormEps          float64      `json:"layer_norm_eps"`
	UseParallelResidual   bool         `json:"use_parallel_residual"`
	RopeScaling           *RopeScaling `json:"rope_scaling"`
	TieWordEmbeddings     bool         `json:"tie_word_embeddings"`
	PadTokenID            *int         `json:"pad_token_id"`
	// RotaryNDims is int(head_size · rotary_pct): the leading dims of each head that are rotated.
	RotaryNDims int `json:"-"`
}

// DecodeGPTNeoXConfig reads a GPT-NeoX config with GPTNeoXConfig's defaults.
func DecodeGPTNeoXConfig(cfg *Config) (*GPTNeoXConfig, error) {
	c := &GPTNeoXConfig{HiddenAct: "gelu", RotaryPct: 0.25, RotaryEmbBase: 10000, MaxPositionEmbeddings: 2048,
		LayerNormEps: 1e-5, UseParallelResidual: true}
	if err := cfg.Decode(c, "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"); err != nil {
		return nil, err
	}
	if err := positive(cfg.Path, map[string]int{"vocab_size": c.VocabSize, "hidden_size": c.HiddenSize,
		"num_hidden_layers": c.NumHiddenLayers, "num_attention_heads": c.NumAttentionHeads,
		"intermediate_size": c.IntermediateSize, "max_position_embeddings": c.MaxPositionEmbeddings}); err != nil {
		return nil, err
	}
	if err := positiveFloat(cfg.Path, map[string]float64{"layer_norm_eps": c.LayerNormEps}); err != nil {
		return nil, err
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return nil, fmt.Errorf("config: %s: hidden_size %d is not divisible by num_attention_heads %d", cfg.Path, c.HiddenSize, c.NumAttentionHeads)
	}
	if !KnownActivation(c.HiddenAct) {
		return nil, fmt.Errorf("config: %s: unsupported hidden_act %q", cfg.Path, c.HiddenAct)
	}
	if c.RotaryPct < 0 || c.RotaryPct > 1 {
		return nil, fmt.Errorf("config: %s: rotary_pct %g is outside [0, 1]", cfg.Path, c.RotaryPct)
	}
	if c.RotaryEmbBase <= 0 {
		return nil, fmt.Errorf("config: %s: rotary_emb_base must be positive, got %g", cfg.Path, c.RotaryEmbBase)
	}
	headSize := c.HiddenSize / c.NumAttentionHeads
	c.RotaryNDims = int(float64(headSize) * c.RotaryPct)
	if c.RotaryNDims%2 != 0 {
		return nil, fmt.Errorf("config: %s: rotary dims int(head_size %d × rotary_pct %g) = %d must be even", cfg.Path, headSize, c.RotaryPct, c.RotaryNDims)
	}
	if rs := c.RopeScaling; rs != nil {
		if rs.Type == "" {
			rs.Type = rs.RopeType
		}
		// transformers 4.34 accepts linear and dynamic with a factor > 1 (_rope_scaling_validation).
		if rs.Type != "linear" && rs.Type != "dynamic" {
			return nil, fmt.Errorf("config: %s: unsupported rope_scaling type %q (supported: linear, dynamic)", cfg.Path, rs.Type)
		}
		if rs.Factor <= 1 {
			return nil, fmt.Errorf("config: %s: rope_scaling factor must be > 1, got %g", cfg.Path, rs.Factor)
		}
	}
	return c, nil
}

// invFreq returns the rotary inverse frequencies (length RotaryNDims/2) for a sequence of seqLen tokens, by the
// same float32 recipe as LLaMA (rotary_emb.inv_freq; dynamic NTK grows the base past max_position_embeddings).
// HF's cos/sin caches are computed from the config when the model is built, not from the loaded inv_freq
// buffer, so the config is the reference here too.
func (c *GPTNeoXConfig) invFreq(seqLen int) []float64 {
	lc := &LlamaConfig{HeadDim: c.RotaryNDims, RopeTheta: c.RotaryEmbBase, RopeScaling: c.RopeScaling,
		MaxPositionEmbeddings: c.MaxPositionEmbeddings}
	return lc.InvFreq(seqLen)
}

func buildGPTNeoX(cfg *Config, task Task) (*Model, error) {
	c, err := DecodeGPTNeoXConfig(cfg)
	if err != nil {
		return nil, err
	}
	head, err := decoderHead(cfg, task, "GPT-NeoX", c.PadTokenID)
	if err != nil {
		return nil, err
	}
	D, V, I := c.HiddenSize, c.VocabSize, c.IntermediateSize
	m := &Model{Tied: map[string]string{}, BasePrefix: "gpt_neox.", BufferValues: map[string][]float32{},
		// GPTNeoXAttention's mask buffers, saved by the original Pythia checkpoints, non-persistent in 4.34;
		// inv_freq is still persistent there and is a buffer below.
		IgnoreKeys: ignoreKeys(`gpt_neox\.layers\.\d+\.attention\.(bias|masked_bias)`)}
	add := paramAdder(m)
	emb := Unit{Name: "gpt_neox.embed_in"}
	add(&emb, "gpt_neox.embed_in.weight", false, V, D)
	m.Units = append(m.Units, emb)
	// The persistent inv_freq buffer as HF saves it: 1 / base^(2i/dim) in float32, before any rope scaling
	// (linear scaling divides positions; dynamic NTK recomputes it from the sequence length).
	plain := LlamaConfig{HeadDim: c.RotaryNDims, RopeTheta: c.RotaryEmbBase, MaxPositionEmbeddings: c.MaxPositionEmbeddings}
	invFreqBuffer := make([]float32, c.RotaryNDims/2)
	for i, f := range plain.InvFreq(0) {
		invFreqBuffer[i] = float32(f)
	}
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("gpt_neox.layers.%d", l)
		u := Unit{Name: p}
		add(&u, p+".input_layernorm.weight", true, D)
		add(&u, p+".input_layernorm.bias", true, D)
		add(&u, p+".post_attention_layernorm.weight", true, D)
		add(&u, p+".post_attention_layernorm.bias", true, D)
		add(&u, p+".attention.query_key_value.weight", false, 3*D, D)
		add(&u, p+".attention.query_key_value.bias", true, 3*D)
		add(&u, p+".attention.dense.weight", false, D, D)
		add(&u, p+".attention.dense.bias", true, D)
		add(&u, p+".mlp.dense_h_to_4h.weight", false, I, D)
		add(&u, p+".mlp.dense_h_to_4h.bias", true, I)
		add(&u, p+".mlp.dense_4h_to_h.weight", false, D, I)
		add(&u, p+".mlp.dense_4h_to_h.bias", true, D)
		m.Units = append(m.Units, u)
		// Persistent in 4.34, so written by save_pretrained; loaded when present, never trained.
		m.Buffers = append(m.Buffers, ParamSpec{Name: p + ".attention.rotary_emb.inv_freq", Shape: []int{c.RotaryNDims / 2}, NoDecay: true})
		m.BufferValues[p+".attention.rotary_emb.inv_freq"] = invFreqBuffer
	}
	norm := Unit{Name: "gpt_neox.final_layer_norm"}
	add(&norm, "gpt_neox.final_layer_norm.weight", true, D)
	add(&norm, "gpt_neox.final_layer_norm.bias", true, D)
	m.Units = append(m.Units, norm)
	headModule := "embed_out"
	switch task {
	case TaskCausalLM:
		if c.TieWordEmbeddings {
			m.Tied["embed_out.weight"] = "gpt_neox.embed_in.weight"
		} else {
			u := Unit{Name: "embed_out"}
			add(&u, "embed_out.weight", false, V, D)
			m.Units = append(m.Units, u)
		}
	default:
		headModule = decoderTaskHead(m, task, head, D)
	}
	m.Forward = func(w Weights, b *Batch) *Outputs {
		return gptNeoXForward(c, task, head, headModule, w, b)
	}
	return m, nil
}

func gptNeoXForward(c *GPTNeoXConfig, task Task, head HeadConfig, headModule string, w Weights, b *Batch) *Outputs {
	decoderCheckInputs(b, "GPT-NeoX", false)
	g := b.InputIDs.Graph()
	dims := b.InputIDs.Shape().Dimensions
	B, T := dims[0], dims[1]
	H, D := c.NumAttentionHeads, c.HiddenSize
	Dh, R := D/H, c.RotaryNDims
	eps := c.LayerNormEps

	x := Embedding(w.Get("gpt_neox.embed_in.weight"), b.InputIDs, -1) // [B, T, D]
	out := &Outputs{Hidden: []*Node{x}}
	// Positions are arange(T) for every row, left padding included (position_ids not passed).
	mask := AttentionMask(g, b.AttentionMask, B, T, true, 0) // [B, 1, T, T]
	var cos, sin *Node
	if R > 0 {
		cos, sin = RopeTables(g, c.invFreq(T), T) // [T, R]
	}
	rotate := func(x *Node) *Node { // [B, T, H, Dh]
		if R == 0 {
			return x
		}
		if R == Dh {
			return ApplyRotary(x, cos, sin)
		}
		rot := ApplyRotary(SliceAxis(x, 3, AxisRange(0, R)), cos, sin) // [B, T, H, R]
		pass := SliceAxis(x, 3, AxisRange(R, Dh))                      // [B, T, H, Dh-R]
		return Concatenate([]*Node{rot, pass}, 3)                      // [B, T, H, Dh]
	}
	scale := 1 / math.Sqrt(float64(Dh))
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("gpt_neox.layers.%d", l)
		h := layerNormW(w, p+".input_layernorm", x, eps, true)                // [B, T, D]
		qkv := LinearW(w, p+".attention.query_key_value", h, true)            // [B, T, 3D]
		qkv = Reshape(qkv, B, T, H, 3, Dh)                                    // [B, T, H, 3, Dh]: per head q | k | v
		q := rotate(Reshape(SliceAxis(qkv, 3, AxisRange(0, 1)), B, T, H, Dh)) // [B, T, H, Dh]
		k := rotate(Reshape(SliceAxis(qkv, 3, AxisRange(1, 2)), B, T, H, Dh)) // [B, T, H, Dh]
		v := Reshape(SliceAxis(qkv, 3, AxisRange(2, 3)), B, T, H, Dh)         // [B, T, H, Dh]
		a := Reshape(Attention(q, k, v, mask, scale), B, T, D)                // [B, T, D]
		a = LinearW(w, p+".attention.dense", a, true)                         // [B, T, D]
		mlp := func(y *Node) *Node {
			f := Activation(c.HiddenAct, LinearW(w, p+".mlp.dense_h_to_4h", y, true)) // [B, T, I]
			return LinearW(w, p+".mlp.dense_4h_to_h", f, true)                        // [B, T, D]
		}
		if c.UseParallelResidual {
			// x + attn(ln1(x)) + mlp(ln2(x)), summed in HF's order: (mlp + attn) + x.
			f := mlp(layerNormW(w, p+".post_attention_layernorm", x, eps, true)) // [B, T, D]
			x = Add(Add(f, a), x)                                                // [B, T, D]
		} else {
			a = Add(a, x)                                                        // [B, T, D]
			f := mlp(layerNormW(w, p+".post_attention_layernorm", a, eps, true)) // [B, T, D]
			x = Add(f, a)                                                        // [B, T, D]
		}
		if l < c.NumHiddenLayers-1 {
			out.Hidden = append(out.Hidden, x)
		}
	}
	x = layerNormW(w, "gpt_neox.final_layer_norm", x, eps, true) // [B, T, D]
	out.Hidden = append(out.Hidden, x)
	decoderOutputs(out, task, head, x, w, headModule, b)
	return out
}
