package graph

// LLaMA family (LLaMA 1/2/3, and the same layout under other names: Mistral, Qwen2).
// Reference: transformers/models/llama/modeling_llama.py (v4.34), rope_scaling "llama3" as in
// transformers/modeling_rope_utils.py (_compute_llama3_parameters).

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

func init() {
	Register(Arch{
		ModelType: "llama",
		Classes: map[string]Task{
			"LlamaForCausalLM":               TaskCausalLM,
			"LlamaForSequenceClassification": TaskSeqCls,
		},
		Build: buildLlama,
	})
}

// RopeScaling is HF's rope_scaling entry.
type RopeScaling struct {
	Type                          string  `json:"type"`
	RopeType                      string  `json:"rope_type"`
	Factor                        float64 `json:"factor"`
	LowFreqFactor                 float64 `json:"low_freq_factor"`
	HighFreqFactor                float64 `json:"high_freq_factor"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings"`
}

// LlamaConfig is config.json of a LLaMA-layout model.
type LlamaConfig struct {
	VocabSize             int          `json:"vocab_size"`
	HiddenSize            int          `json:"hidden_size"`
	IntermediateSize      int          `json:"intermediate_size"`
	NumHiddenLayers       int          `json:"num_hidden_layers"`
	NumAttentionHeads     int          `json:"num_attention_heads"`
	NumKeyValueHeads      int          `json:"num_key_value_heads"`
	HeadDim               int          `json:"head_dim"`
	MaxPositionEmbeddings int          `json:"max_position_embeddings"`
	RMSNormEps            float64      `json:"rms_norm_eps"`
	RopeTheta             float64      `json:"rope_theta"`
	RopeScaling           *RopeScaling `json:"rope_scaling"`
	HiddenAct             string       `json:"hidden_act"`
	TieWordEmbeddings     bool         `json:"tie_word_embeddings"`
	AttentionBias         bool         `json:"attention_bias"`
	MLPBias               bool         `json:"mlp_bias"`
	// QKVBias adds biases to q/k/v only (Qwen2); set by the Qwen2 registration, not by config.json.
	QKVBias bool `json:"-"`
	// SlidingWindow limits attention to the last N keys (Mistral); 0 = none.
	SlidingWindow int  `json:"-"`
	PadTokenID    *int `json:"pad_token_id"`
}

// DecodeLlamaConfig reads a LLaMA-layout config with LlamaConfig's defaults.
func DecodeLlamaConfig(cfg *Config) (*LlamaConfig, error) {
	c := &LlamaConfig{RMSNormEps: 1e-6, RopeTheta: 10000, HiddenAct: "silu", MaxPositionEmbeddings: 2048}
	if err := cfg.Decode(c, "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"); err != nil {
		return nil, err
	}
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if err := positive(cfg.Path, map[string]int{"vocab_size": c.VocabSize, "hidden_size": c.HiddenSize,
		"intermediate_size": c.IntermediateSize, "num_hidden_layers": c.NumHiddenLayers,
		"num_attention_heads": c.NumAttentionHeads, "num_key_value_heads": c.NumKeyValueHeads}); err != nil {
		return nil, err
	}
	if c.HeadDim == 0 {
		if c.HiddenSize%c.NumAttentionHeads != 0 {
			return nil, fmt.Errorf("config: %s: hidden_size %d is not divisible by num_attention_heads %d", cfg.Path, c.HiddenSize, c.NumAttentionHeads)
		}
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if c.HeadDim%2 != 0 {
		return nil, fmt.Errorf("config: %s: head_dim %d must be even for rotary embeddings", cfg.Path, c.HeadDim)
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return nil, fmt.Errorf("config: %s: num_attention_heads %d is not a multiple of num_key_value_heads %d", cfg.Path, c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if !KnownActivation(c.HiddenAct) {
		return nil, fmt.Errorf("config: %s: unsupported hidden_act %q", cfg.Path, c.HiddenAct)
	}
	if rs := c.RopeScaling; rs != nil {
		if rs.Type == "" {
			rs.Type = rs.RopeType
		}
		switch rs.Type {
		case "linear", "dynamic":
			if rs.Factor <= 0 {
				return nil, fmt.Errorf("config: %s: rope_scaling %q needs factor > 0", cfg.Path, rs.Type)
			}
		case "llama3":
			if rs.Factor <= 0 || rs.LowFreqFactor <= 0 || rs.HighFreqFactor <= rs.LowFreqFactor || rs.OriginalMaxPositionEmbeddings <= 0 {
				return nil, fmt.Errorf("config: %s: rope_scaling llama3 needs factor, low_freq_factor < high_freq_factor and original_max_position_embeddings", cfg.Path)
			}
		case "default", "":
			c.RopeScaling = nil
		default:
			return nil, fmt.Errorf("config: %s: unsupported rope_scaling type %q (supported: linear, dynamic, llama3)", cfg.Path, rs.Type)
		}
	}
	return c, nil
}

// InvFreq returns the rotary inverse frequencies (length head_dim/2) for a sequence of seqLen tokens.
func (c *LlamaConfig) InvFreq(seqLen int) []float64 {
	dim := c.HeadDim
	base := c.RopeTheta
	rs := c.RopeScaling
	if rs != nil && rs.Type == "dynamic" && seqLen > c.MaxPositionEmbeddings {
		// Dynamic NTK: base grows with the sequence beyond the trained length.
		base *= math.Pow(rs.Factor*float64(seqLen)/float64(c.MaxPositionEmbeddings)-(rs.Factor-1), float64(dim)/float64(dim-2))
	}
	inv := make([]float64, dim/2)
	for i := range inv {
		// torch: 1 / base ** (arange(0, dim, 2).float() / dim), in float32
		inv[i] = float64(float32(1 / math.Pow(base, float64(float32(float64(2*i)/float64(dim))))))
	}
	if rs == nil {
		return inv
	}
	switch rs.Type {
	case "linear":
		for i := range inv {
			inv[i] /= rs.Factor // positions / factor
		}
	case "llama3":
		old := float64(rs.OriginalMaxPositionEmbeddings)
		lowWavelen, highWavelen := old/rs.LowFreqFactor, old/rs.HighFreqFactor
		for i, f := range inv {
			wavelen := 2 * math.Pi / f
			switch {
			case wavelen < highWavelen:
			case wavelen > lowWavelen:
				inv[i] = f / rs.Factor
			default:
				smooth := (old/wavelen - rs.LowFreqFactor) / (rs.HighFreqFactor - rs.LowFreqFactor)
				inv[i] = (1-smooth)*f/rs.Factor + smooth*f
			}
		}
	}
	return inv
}

func buildLlama(cfg *Config, task Task) (*Model, error) {
	c, err := DecodeLlamaConfig(cfg)
	if err != nil {
		return nil, err
	}
	return LlamaModel(cfg, c, task)
}

// LlamaModel builds the model description of a LLaMA-layout config (shared by Mistral and Qwen2).
func LlamaModel(cfg *Config, c *LlamaConfig, task Task) (*Model, error) {
	var head HeadConfig
	if task == TaskSeqCls {
		var err error
		if head, err = cfg.Head(); err != nil {
			return nil, err
		}
		if head.PadTokenID == nil {
			head.PadTokenID = c.PadTokenID
		}
	} else if task != TaskCausalLM {
		return nil, fmt.Errorf("task %s is not implemented for the LLaMA family", task)
	}
	D, V, I := c.HiddenSize, c.VocabSize, c.IntermediateSize
	H, KVH, Dh := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	m := &Model{Tied: map[string]string{}}
	add := func(u *Unit, name string, noDecay bool, shape ...int) {
		m.Params = append(m.Params, ParamSpec{Name: name, Shape: shape, NoDecay: noDecay})
		u.Params = append(u.Params, name)
	}
	emb := Unit{Name: "model.embed_tokens"}
	add(&emb, "model.embed_tokens.weight", false, V, D)
	m.Units = append(m.Units, emb)
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("model.layers.%d", l)
		u := Unit{Name: p}
		qkvBias := c.AttentionBias || c.QKVBias
		add(&u, p+".self_attn.q_proj.weight", false, H*Dh, D)
		if qkvBias {
			add(&u, p+".self_attn.q_proj.bias", true, H*Dh)
		}
		add(&u, p+".self_attn.k_proj.weight", false, KVH*Dh, D)
		if qkvBias {
			add(&u, p+".self_attn.k_proj.bias", true, KVH*Dh)
		}
		add(&u, p+".self_attn.v_proj.weight", false, KVH*Dh, D)
		if qkvBias {
			add(&u, p+".self_attn.v_proj.bias", true, KVH*Dh)
		}
		add(&u, p+".self_attn.o_proj.weight", false, D, H*Dh)
		if c.AttentionBias {
			add(&u, p+".self_attn.o_proj.bias", true, D)
		}
		for _, proj := range []struct {
			name     string
			out, in_ int
		}{{"gate_proj", I, D}, {"up_proj", I, D}, {"down_proj", D, I}} {
			add(&u, p+".mlp."+proj.name+".weight", false, proj.out, proj.in_)
			if c.MLPBias {
				add(&u, p+".mlp."+proj.name+".bias", true, proj.out)
			}
		}
		add(&u, p+".input_layernorm.weight", true, D)
		add(&u, p+".post_attention_layernorm.weight", true, D)
		m.Units = append(m.Units, u)
	}
	norm := Unit{Name: "model.norm"}
	add(&norm, "model.norm.weight", true, D)
	m.Units = append(m.Units, norm)
	switch task {
	case TaskCausalLM:
		if c.TieWordEmbeddings {
			m.Tied["lm_head.weight"] = "model.embed_tokens.weight"
		} else {
			u := Unit{Name: "lm_head"}
			add(&u, "lm_head.weight", false, V, D)
			m.Units = append(m.Units, u)
		}
	case TaskSeqCls:
		u := Unit{Name: "score"}
		add(&u, "score.weight", false, head.NumLabels, D)
		m.Units = append(m.Units, u)
	}
	padIdx := -1
	if c.PadTokenID != nil && *c.PadTokenID >= 0 && *c.PadTokenID < V {
		padIdx = *c.PadTokenID
	}
	m.Forward = func(w Weights, b *Batch) *Outputs {
		return llamaForward(c, task, head, padIdx, w, b)
	}
	return m, nil
}

func llamaForward(c *LlamaConfig, task Task, head HeadConfig, padIdx int, w Weights, b *Batch) *Outputs {
	g := b.InputIDs.Graph()
	dims := b.InputIDs.Shape().Dimensions
	B, T := dims[0], dims[1]
	H, KVH, Dh := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	qkvBias := c.AttentionBias || c.QKVBias

	x := Embedding(w.Get("model.embed_tokens.weight"), b.InputIDs, padIdx) // [B, T, D]
	out := &Outputs{Hidden: []*Node{x}}
	mask := AttentionMask(g, b.AttentionMask, B, T, true, c.SlidingWindow) // [B, 1, T, T]
	cos, sin := RopeTables(g, c.InvFreq(T), T)                             // [T, Dh]
	scale := 1 / math.Sqrt(float64(Dh))
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("model.layers.%d", l)
		h := RMSNorm(x, w.Get(p+".input_layernorm.weight"), c.RMSNormEps)             // [B, T, D]
		q := Reshape(LinearW(w, p+".self_attn.q_proj", h, qkvBias), B, T, H, Dh)      // [B, T, H, Dh]
		k := Reshape(LinearW(w, p+".self_attn.k_proj", h, qkvBias), B, T, KVH, Dh)    // [B, T, KVH, Dh]
		v := Reshape(LinearW(w, p+".self_attn.v_proj", h, qkvBias), B, T, KVH, Dh)    // [B, T, KVH, Dh]
		q, k = ApplyRotary(q, cos, sin), ApplyRotary(k, cos, sin)                     // [B, T, ·, Dh]
		k, v = RepeatKV(k, H/KVH), RepeatKV(v, H/KVH)                                 // [B, T, H, Dh]
		a := Reshape(Attention(q, k, v, mask, scale), B, T, H*Dh)                     // [B, T, H·Dh]
		x = Add(x, LinearW(w, p+".self_attn.o_proj", a, c.AttentionBias))             // [B, T, D]
		h = RMSNorm(x, w.Get(p+".post_attention_layernorm.weight"), c.RMSNormEps)     // [B, T, D]
		gate := Activation(c.HiddenAct, LinearW(w, p+".mlp.gate_proj", h, c.MLPBias)) // [B, T, I]
		up := LinearW(w, p+".mlp.up_proj", h, c.MLPBias)                              // [B, T, I]
		x = Add(x, LinearW(w, p+".mlp.down_proj", Mul(gate, up), c.MLPBias))          // [B, T, D]
		if l < c.NumHiddenLayers-1 {
			out.Hidden = append(out.Hidden, x)
		}
	}
	x = RMSNorm(x, w.Get("model.norm.weight"), c.RMSNormEps) // [B, T, D]
	out.Hidden = append(out.Hidden, x)
	switch task {
	case TaskCausalLM:
		lm := "lm_head.weight"
		if c.TieWordEmbeddings {
			lm = "model.embed_tokens.weight"
		}
		out.Logits = Linear(x, w.Get(lm), nil) // [B, T, V]
		if b.Labels != nil {
			out.Loss = CausalLMLoss(out.Logits, b.Labels)
		}
	case TaskSeqCls:
		all := Linear(x, w.Get("score.weight"), nil)                           // [B, T, C]
		out.Logits = PoolAt(all, LastNonPadIndex(b.InputIDs, head.PadTokenID)) // [B, C]
		if b.Labels != nil {
			out.Loss = SequenceClassificationLoss(out.Logits, b.Labels, head)
		}
	}
	return out
}
