package graph

// LLaMA family (LLaMA 1/2/3, and the same layout under other names: Mistral in mistral.go, Qwen2 in qwen2.go).
// Reference: transformers/models/llama/modeling_llama.py (v4.34), rope_scaling "llama3" as in
// transformers/modeling_rope_utils.py (_compute_llama3_parameters). LlamaForQuestionAnswering is not in 4.34
// (it came with v4.38); it is built as later versions define it: the base model under `transformer.` instead
// of `model.` (base_model_prefix "transformer") and qa_outputs = nn.Linear(hidden_size, 2) with a bias.

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
			"LlamaForQuestionAnswering":      TaskQA,
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
	// SlidingWindow limits a query to the keys less than SlidingWindow positions back (q − k < SlidingWindow,
	// HF's sliding_window_overlay; Mistral, Qwen2); 0 = none. Set by mistral.go / qwen2.go, not by config.json.
	SlidingWindow int `json:"-"`
	// SlidingLayers says per layer whether SlidingWindow applies (Qwen2's layer_types / max_window_layers);
	// nil = every layer.
	SlidingLayers []bool `json:"-"`
	PadTokenID    *int   `json:"pad_token_id"`
}

// DecodeLlamaConfig reads a LLaMA-layout config with LlamaConfig's defaults.
func DecodeLlamaConfig(cfg *Config) (*LlamaConfig, error) {
	return decodeLlamaLayout(cfg, LlamaConfig{RMSNormEps: 1e-6, RopeTheta: 10000, HiddenAct: "silu", MaxPositionEmbeddings: 2048})
}

// decodeLlamaLayout reads a LLaMA-layout config over a config class's defaults. NumKeyValueHeads in defaults is
// the class default for an absent num_key_value_heads (0: num_attention_heads, as LlamaConfig); an explicit
// null means num_attention_heads in every class.
func decodeLlamaLayout(cfg *Config, defaults LlamaConfig) (*LlamaConfig, error) {
	c := &defaults
	if err := cfg.Decode(c, "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"); err != nil {
		return nil, err
	}
	if _, present := cfg.Raw["num_key_value_heads"]; c.NumKeyValueHeads == 0 || (present && !cfg.Has("num_key_value_heads")) {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if err := positive(cfg.Path, map[string]int{"vocab_size": c.VocabSize, "hidden_size": c.HiddenSize,
		"intermediate_size": c.IntermediateSize, "num_hidden_layers": c.NumHiddenLayers,
		"num_attention_heads": c.NumAttentionHeads, "num_key_value_heads": c.NumKeyValueHeads}); err != nil {
		return nil, err
	}
	if err := positiveFloat(cfg.Path, map[string]float64{"rms_norm_eps": c.RMSNormEps, "rope_theta": c.RopeTheta}); err != nil {
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

// LlamaModel builds the model description of a LLaMA-layout config (shared by Mistral and Qwen2) for a causal
// LM, sequence classification (score) or question answering (qa_outputs). The base model's names start with
// "model.", except for question answering, which uses "transformer." as LlamaForQuestionAnswering does.
func LlamaModel(cfg *Config, c *LlamaConfig, task Task) (*Model, error) {
	if task != TaskCausalLM && task != TaskSeqCls && task != TaskQA {
		return nil, fmt.Errorf("task %s is not implemented for the LLaMA family", task)
	}
	head, err := decoderHead(cfg, task, "the LLaMA family", c.PadTokenID)
	if err != nil {
		return nil, err
	}
	if c.SlidingLayers != nil && len(c.SlidingLayers) != c.NumHiddenLayers {
		return nil, fmt.Errorf("sliding-window layer list has %d entries for %d layers", len(c.SlidingLayers), c.NumHiddenLayers)
	}
	base := "model"
	if task == TaskQA {
		base = "transformer" // for backward compatibility HF kept `transformer` for this class
	}
	D, V, I := c.HiddenSize, c.VocabSize, c.IntermediateSize
	H, KVH, Dh := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	m := &Model{Tied: map[string]string{}, BasePrefix: base + ".",
		// Old checkpoints saved the rotary inv_freq buffer; it is non-persistent since 4.31.
		IgnoreKeys: ignoreKeys(base + `\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq`)}
	add := paramAdder(m)
	emb := Unit{Name: base + ".embed_tokens"}
	add(&emb, base+".embed_tokens.weight", false, V, D)
	m.Units = append(m.Units, emb)
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("%s.layers.%d", base, l)
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
	norm := Unit{Name: base + ".norm"}
	add(&norm, base+".norm.weight", true, D)
	m.Units = append(m.Units, norm)
	headModule := "lm_head"
	switch task {
	case TaskCausalLM:
		if c.TieWordEmbeddings {
			m.Tied["lm_head.weight"] = base + ".embed_tokens.weight"
		} else {
			u := Unit{Name: "lm_head"}
			add(&u, "lm_head.weight", false, V, D)
			m.Units = append(m.Units, u)
		}
	default:
		headModule = decoderTaskHead(m, task, head, D)
	}
	padIdx := -1
	if c.PadTokenID != nil && *c.PadTokenID >= 0 && *c.PadTokenID < V {
		padIdx = *c.PadTokenID
	}
	m.Forward = func(w Weights, b *Batch) *Outputs {
		return llamaForward(c, task, head, base, headModule, padIdx, w, b)
	}
	if task == TaskCausalLM {
		m.Decoder = llamaDecoder(c, base, padIdx)
	}
	return m, nil
}

func llamaForward(c *LlamaConfig, task Task, head HeadConfig, base, headModule string, padIdx int, w Weights, b *Batch) *Outputs {
	decoderCheckInputs(b, "LLaMA-layout model", false)
	g := b.InputIDs.Graph()
	dims := b.InputIDs.Shape().Dimensions
	B, T := dims[0], dims[1]
	H, KVH, Dh := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim

	x := Embedding(w.Get(base+".embed_tokens.weight"), b.InputIDs, padIdx) // [B, T, D]
	out := &Outputs{Hidden: []*Node{x}}
	fullMask := AttentionMask(g, b.AttentionMask, B, T, true, 0) // [B, 1, T, T]
	windowMask := fullMask
	if c.SlidingWindow > 0 {
		windowMask = AttentionMask(g, b.AttentionMask, B, T, true, c.SlidingWindow) // [B, 1, T, T]
	}
	cos, sin := RopeTables(g, c.InvFreq(T), T) // [T, Dh]
	scale := 1 / math.Sqrt(float64(Dh))
	for l := 0; l < c.NumHiddenLayers; l++ {
		mask := windowMask
		if c.SlidingLayers != nil && !c.SlidingLayers[l] {
			mask = fullMask
		}
		x = llamaBlock(c, w, fmt.Sprintf("%s.layers.%d", base, l), x, cos, sin, func(q, k, v *Node) *Node {
			k, v = RepeatKV(k, H/KVH), RepeatKV(v, H/KVH) // [B, T, H, Dh]
			return Attention(q, k, v, mask, scale)        // [B, T, H, Dh]
		})
		if l < c.NumHiddenLayers-1 {
			out.Hidden = append(out.Hidden, x)
		}
	}
	x = RMSNorm(x, w.Get(base+".norm.weight"), c.RMSNormEps) // [B, T, D]
	out.Hidden = append(out.Hidden, x)
	decoderOutputs(out, task, head, x, w, headModule, b)
	return out
}

// llamaBlock is one decoder layer: pre-norm attention (q, k rotated by cos/sin; attend computes the attention
// of q [B, T, H, Dh] over k, v [B, T, KVH, Dh] and returns [B, T, H, Dh]) and a SwiGLU MLP, both residual.
func llamaBlock(c *LlamaConfig, w Weights, p string, x, cos, sin *Node, attend func(q, k, v *Node) *Node) *Node {
	dims := x.Shape().Dimensions
	B, T := dims[0], dims[1]
	H, KVH, Dh := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	qkvBias := c.AttentionBias || c.QKVBias
	h := RMSNorm(x, w.Get(p+".input_layernorm.weight"), c.RMSNormEps)             // [B, T, D]
	q := Reshape(LinearW(w, p+".self_attn.q_proj", h, qkvBias), B, T, H, Dh)      // [B, T, H, Dh]
	k := Reshape(LinearW(w, p+".self_attn.k_proj", h, qkvBias), B, T, KVH, Dh)    // [B, T, KVH, Dh]
	v := Reshape(LinearW(w, p+".self_attn.v_proj", h, qkvBias), B, T, KVH, Dh)    // [B, T, KVH, Dh]
	q, k = ApplyRotary(q, cos, sin), ApplyRotary(k, cos, sin)                     // [B, T, ·, Dh]
	a := Reshape(attend(q, k, v), B, T, H*Dh)                                     // [B, T, H·Dh]
	x = Add(x, LinearW(w, p+".self_attn.o_proj", a, c.AttentionBias))             // [B, T, D]
	h = RMSNorm(x, w.Get(p+".post_attention_layernorm.weight"), c.RMSNormEps)     // [B, T, D]
	gate := Activation(c.HiddenAct, LinearW(w, p+".mlp.gate_proj", h, c.MLPBias)) // [B, T, I]
	up := LinearW(w, p+".mlp.up_proj", h, c.MLPBias)                              // [B, T, I]
	return Add(x, LinearW(w, p+".mlp.down_proj", Mul(gate, up), c.MLPBias))       // [B, T, D]
}
