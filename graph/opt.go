package graph

// OPT. Reference: transformers/models/opt/modeling_opt.py and configuration_opt.py (v4.34).

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

func init() {
	Register(Arch{
		ModelType: "opt",
		Classes: map[string]Task{
			"OPTForCausalLM":               TaskCausalLM,
			"OPTForSequenceClassification": TaskSeqCls,
			"OPTForQuestionAnswering":      TaskQA,
		},
		Build: buildOPT,
	})
}

// optPositionOffset is OPTLearnedPositionalEmbedding's offset: position p uses row p+2 (a fairseq legacy).
const optPositionOffset = 2

// OPTConfig is config.json of an OPT model (OPTConfig; defaults as in transformers 4.34).
type OPTConfig struct {
	VocabSize                  int     `json:"vocab_size"`
	HiddenSize                 int     `json:"hidden_size"`
	NumHiddenLayers            int     `json:"num_hidden_layers"`
	FFNDim                     int     `json:"ffn_dim"`
	NumAttentionHeads          int     `json:"num_attention_heads"`
	MaxPositionEmbeddings      int     `json:"max_position_embeddings"`
	DoLayerNormBefore          bool    `json:"do_layer_norm_before"`
	RemoveFinalLayerNorm       bool    `json:"_remove_final_layer_norm"`
	WordEmbedProjDim           int     `json:"word_embed_proj_dim"`
	ActivationFunction         string  `json:"activation_function"`
	EnableBias                 bool    `json:"enable_bias"`
	LayerNormElementwiseAffine bool    `json:"layer_norm_elementwise_affine"`
	TieWordEmbeddings          bool    `json:"tie_word_embeddings"`
	PadTokenID                 *int    `json:"pad_token_id"`
	layerNormEps               float64 // nn.LayerNorm's default: OPT has no epsilon field
}

// DecodeOPTConfig reads an OPT config with OPTConfig's defaults (word_embed_proj_dim defaults to hidden_size,
// pad_token_id to 1).
func DecodeOPTConfig(cfg *Config) (*OPTConfig, error) {
	pad := 1
	c := &OPTConfig{DoLayerNormBefore: true, ActivationFunction: "relu", EnableBias: true,
		LayerNormElementwiseAffine: true, TieWordEmbeddings: true, PadTokenID: &pad, layerNormEps: 1e-5}
	if err := cfg.Decode(c, "vocab_size", "hidden_size", "num_hidden_layers", "ffn_dim", "num_attention_heads", "max_position_embeddings"); err != nil {
		return nil, err
	}
	if c.WordEmbedProjDim == 0 && !cfg.Has("word_embed_proj_dim") {
		c.WordEmbedProjDim = c.HiddenSize
	}
	if err := positive(cfg.Path, map[string]int{"vocab_size": c.VocabSize, "hidden_size": c.HiddenSize,
		"num_hidden_layers": c.NumHiddenLayers, "ffn_dim": c.FFNDim, "num_attention_heads": c.NumAttentionHeads,
		"max_position_embeddings": c.MaxPositionEmbeddings, "word_embed_proj_dim": c.WordEmbedProjDim}); err != nil {
		return nil, err
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return nil, fmt.Errorf("config: %s: hidden_size %d is not divisible by num_attention_heads %d", cfg.Path, c.HiddenSize, c.NumAttentionHeads)
	}
	if !KnownActivation(c.ActivationFunction) {
		return nil, fmt.Errorf("config: %s: unsupported activation_function %q", cfg.Path, c.ActivationFunction)
	}
	return c, nil
}

// hasFinalNorm mirrors OPTDecoder: `if config.do_layer_norm_before and not config._remove_final_layer_norm`.
func (c *OPTConfig) hasFinalNorm() bool { return c.DoLayerNormBefore && !c.RemoveFinalLayerNorm }

// hasProjections reports whether project_in / project_out exist (word_embed_proj_dim != hidden_size, OPT-350m).
func (c *OPTConfig) hasProjections() bool { return c.WordEmbedProjDim != c.HiddenSize }

func buildOPT(cfg *Config, task Task) (*Model, error) {
	c, err := DecodeOPTConfig(cfg)
	if err != nil {
		return nil, err
	}
	head, err := decoderHead(cfg, task, "OPT", c.PadTokenID)
	if err != nil {
		return nil, err
	}
	D, V, E, F := c.HiddenSize, c.VocabSize, c.WordEmbedProjDim, c.FFNDim
	// base_model_prefix is "model": the facebook/opt-* files hold the bare OPTModel ("decoder.layers.0...").
	// OPT has no buffers, so nothing to ignore.
	m := &Model{Tied: map[string]string{}, BasePrefix: "model."}
	add := paramAdder(m)
	const dec = "model.decoder"
	// OPTDecoder registers embed_tokens, embed_positions, project_out, project_in and final_layer_norm before
	// the blocks; our units keep depth order: embeddings (+ project_in) · blocks · final norm (+ project_out).
	emb := Unit{Name: dec + ".embed_tokens+" + dec + ".embed_positions"}
	top := Unit{Name: dec + ".final_layer_norm"}
	if !c.hasFinalNorm() || !c.LayerNormElementwiseAffine {
		top.Name = dec + ".project_out"
	}
	add(&emb, dec+".embed_tokens.weight", false, V, E)
	add(&emb, dec+".embed_positions.weight", false, c.MaxPositionEmbeddings+optPositionOffset, D)
	if c.hasProjections() {
		add(&top, dec+".project_out.weight", false, E, D)
		add(&emb, dec+".project_in.weight", false, D, E)
	}
	if c.hasFinalNorm() && c.LayerNormElementwiseAffine {
		add(&top, dec+".final_layer_norm.weight", true, D)
		add(&top, dec+".final_layer_norm.bias", true, D)
	}
	m.Units = append(m.Units, emb)
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("%s.layers.%d", dec, l)
		u := Unit{Name: p}
		linear := func(name string, out, in int) {
			add(&u, p+"."+name+".weight", false, out, in)
			if c.EnableBias {
				add(&u, p+"."+name+".bias", true, out)
			}
		}
		norm := func(name string) {
			if c.LayerNormElementwiseAffine {
				add(&u, p+"."+name+".weight", true, D)
				add(&u, p+"."+name+".bias", true, D)
			}
		}
		// OPTAttention registers k, v, q, out_proj.
		linear("self_attn.k_proj", D, D)
		linear("self_attn.v_proj", D, D)
		linear("self_attn.q_proj", D, D)
		linear("self_attn.out_proj", D, D)
		norm("self_attn_layer_norm")
		linear("fc1", F, D)
		linear("fc2", D, F)
		norm("final_layer_norm")
		m.Units = append(m.Units, u)
	}
	if len(top.Params) > 0 {
		m.Units = append(m.Units, top)
	}
	headModule := "lm_head"
	switch task {
	case TaskCausalLM:
		if c.TieWordEmbeddings {
			m.Tied["lm_head.weight"] = dec + ".embed_tokens.weight"
		} else {
			u := Unit{Name: "lm_head"}
			add(&u, "lm_head.weight", false, V, E)
			m.Units = append(m.Units, u)
		}
	default:
		// Heads read word_embed_proj_dim features (after project_out).
		headModule = decoderTaskHead(m, task, head, E)
	}
	padIdx := -1
	if c.PadTokenID != nil && *c.PadTokenID >= 0 && *c.PadTokenID < V {
		padIdx = *c.PadTokenID
	}
	m.Forward = func(w Weights, b *Batch) *Outputs {
		return optForward(c, task, head, headModule, padIdx, w, b)
	}
	return m, nil
}

func optForward(c *OPTConfig, task Task, head HeadConfig, headModule string, padIdx int, w Weights, b *Batch) *Outputs {
	decoderCheckInputs(b, "OPT", false)
	g := b.InputIDs.Graph()
	dims := b.InputIDs.Shape().Dimensions
	B, T := dims[0], dims[1]
	H, D := c.NumAttentionHeads, c.HiddenSize
	Dh := D / H
	const dec = "model.decoder"
	eps := c.layerNormEps
	affine := c.LayerNormElementwiseAffine

	am := b.AttentionMask
	if am == nil {
		am = OnesLike(b.InputIDs)
	}
	x := Embedding(w.Get(dec+".embed_tokens.weight"), b.InputIDs, padIdx) // [B, T, E]
	if c.hasProjections() {
		x = LinearW(w, dec+".project_in", x, false) // [B, T, D]
	}
	// Learned positions from the mask, as OPTLearnedPositionalEmbedding: (cumsum(mask)·mask − 1) + 2, so left
	// padding shifts the real tokens' positions and every pad reads row 1.
	pos := AddScalar(maskCumSum(am), optPositionOffset-1)                // [B, T] rows of embed_positions
	x = Add(x, Embedding(w.Get(dec+".embed_positions.weight"), pos, -1)) // [B, T, D]
	out := &Outputs{Hidden: []*Node{x}}
	mask := AttentionMask(g, am, B, T, true, 0) // [B, 1, T, T]
	scale := 1 / math.Sqrt(float64(Dh))
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("%s.layers.%d", dec, l)
		h := x
		if c.DoLayerNormBefore {
			h = layerNormW(w, p+".self_attn_layer_norm", h, eps, affine) // [B, T, D]
		}
		// OPT scales the q projection (bias included) before q·k.
		q := Reshape(MulScalar(LinearW(w, p+".self_attn.q_proj", h, c.EnableBias), scale), B, T, H, Dh) // [B, T, H, Dh]
		k := Reshape(LinearW(w, p+".self_attn.k_proj", h, c.EnableBias), B, T, H, Dh)                   // [B, T, H, Dh]
		v := Reshape(LinearW(w, p+".self_attn.v_proj", h, c.EnableBias), B, T, H, Dh)                   // [B, T, H, Dh]
		a := Reshape(Attention(q, k, v, mask, 1), B, T, D)                                              // [B, T, D]
		x = Add(x, LinearW(w, p+".self_attn.out_proj", a, c.EnableBias))                                // [B, T, D]
		if !c.DoLayerNormBefore {
			x = layerNormW(w, p+".self_attn_layer_norm", x, eps, affine) // [B, T, D]
		}
		h = x
		if c.DoLayerNormBefore {
			h = layerNormW(w, p+".final_layer_norm", h, eps, affine) // [B, T, D]
		}
		f := Activation(c.ActivationFunction, LinearW(w, p+".fc1", h, c.EnableBias)) // [B, T, F]
		x = Add(x, LinearW(w, p+".fc2", f, c.EnableBias))                            // [B, T, D]
		if !c.DoLayerNormBefore {
			x = layerNormW(w, p+".final_layer_norm", x, eps, affine) // [B, T, D]
		}
		if l < c.NumHiddenLayers-1 {
			out.Hidden = append(out.Hidden, x)
		}
	}
	if c.hasFinalNorm() {
		x = layerNormW(w, dec+".final_layer_norm", x, eps, affine) // [B, T, D]
	}
	if c.hasProjections() {
		x = LinearW(w, dec+".project_out", x, false) // [B, T, E]
	}
	out.Hidden = append(out.Hidden, x)
	decoderOutputs(out, task, head, x, w, headModule, b)
	return out
}
