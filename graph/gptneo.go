package graph

// GPT-Neo. Reference: transformers/models/gpt_neo/modeling_gpt_neo.py and configuration_gpt_neo.py (v4.34).

import (
	"encoding/json"
	"fmt"
	"slices"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

func init() {
	Register(Arch{
		ModelType: "gpt_neo",
		Classes: map[string]Task{
			"GPTNeoForCausalLM":               TaskCausalLM,
			"GPTNeoForSequenceClassification": TaskSeqCls,
			"GPTNeoForTokenClassification":    TaskTokenCls,
			"GPTNeoForQuestionAnswering":      TaskQA,
		},
		Build: buildGPTNeo,
	})
}

// GPTNeoConfig is config.json of a GPT-Neo model (GPTNeoConfig; defaults as in transformers 4.34).
type GPTNeoConfig struct {
	VocabSize             int               `json:"vocab_size"`
	MaxPositionEmbeddings int               `json:"max_position_embeddings"`
	HiddenSize            int               `json:"hidden_size"`
	NumLayers             int               `json:"num_layers"`
	NumHeads              int               `json:"num_heads"`
	IntermediateSize      *int              `json:"intermediate_size"`
	AttentionTypes        []json.RawMessage `json:"attention_types"`
	AttentionLayersRaw    []string          `json:"attention_layers"`
	WindowSize            int               `json:"window_size"`
	ActivationFunction    string            `json:"activation_function"`
	LayerNormEpsilon      float64           `json:"layer_norm_epsilon"`
	TieWordEmbeddings     bool              `json:"tie_word_embeddings"`
	PadTokenID            *int              `json:"pad_token_id"`
	// AttentionLayers is "global" or "local" per layer, expanded from attention_types.
	AttentionLayers []string `json:"-"`
	inner           int      // MLP width: intermediate_size, or 4·hidden_size when null
}

// DecodeGPTNeoConfig reads a GPT-Neo config with GPTNeoConfig's defaults and expands attention_types
// ([[["global", "local"], 12]] = 12 repetitions of the pair) into one attention kind per layer.
func DecodeGPTNeoConfig(cfg *Config) (*GPTNeoConfig, error) {
	c := &GPTNeoConfig{WindowSize: 256, ActivationFunction: "gelu_new", LayerNormEpsilon: 1e-5, TieWordEmbeddings: true}
	if err := cfg.Decode(c, "vocab_size", "max_position_embeddings", "hidden_size", "num_layers", "num_heads"); err != nil {
		return nil, err
	}
	if err := positive(cfg.Path, map[string]int{"vocab_size": c.VocabSize, "max_position_embeddings": c.MaxPositionEmbeddings,
		"hidden_size": c.HiddenSize, "num_layers": c.NumLayers, "num_heads": c.NumHeads, "window_size": c.WindowSize}); err != nil {
		return nil, err
	}
	if err := positiveFloat(cfg.Path, map[string]float64{"layer_norm_epsilon": c.LayerNormEpsilon}); err != nil {
		return nil, err
	}
	if c.HiddenSize%c.NumHeads != 0 {
		return nil, fmt.Errorf("config: %s: hidden_size %d is not divisible by num_heads %d", cfg.Path, c.HiddenSize, c.NumHeads)
	}
	c.inner = 4 * c.HiddenSize
	if c.IntermediateSize != nil {
		if *c.IntermediateSize <= 0 {
			return nil, fmt.Errorf("config: %s: intermediate_size must be positive or null, got %d", cfg.Path, *c.IntermediateSize)
		}
		c.inner = *c.IntermediateSize
	}
	if !KnownActivation(c.ActivationFunction) {
		return nil, fmt.Errorf("config: %s: unsupported activation_function %q", cfg.Path, c.ActivationFunction)
	}
	types := c.AttentionTypes
	if !cfg.Has("attention_types") {
		types = []json.RawMessage{json.RawMessage(`[["global","local"],12]`)}
	}
	for i, item := range types {
		var pair []json.RawMessage
		var kinds []string
		var reps int
		if json.Unmarshal(item, &pair) != nil || len(pair) != 2 || json.Unmarshal(pair[0], &kinds) != nil || json.Unmarshal(pair[1], &reps) != nil {
			return nil, fmt.Errorf("config: %s: attention_types[%d] = %s, want [[\"global\"|\"local\", ...], repetitions]", cfg.Path, i, item)
		}
		for _, k := range kinds {
			if k != "global" && k != "local" {
				return nil, fmt.Errorf("config: %s: attention_types[%d]: unknown attention kind %q (want global or local)", cfg.Path, i, k)
			}
		}
		for r := 0; r < reps; r++ {
			c.AttentionLayers = append(c.AttentionLayers, kinds...)
		}
	}
	// HF sets attention_layers from attention_types, then overwrites it with a saved attention_layers entry.
	if len(c.AttentionLayersRaw) > 0 && !slices.Equal(c.AttentionLayersRaw, c.AttentionLayers) {
		return nil, fmt.Errorf("config: %s: attention_layers %v disagrees with attention_types (expanded: %v)", cfg.Path, c.AttentionLayersRaw, c.AttentionLayers)
	}
	if len(c.AttentionLayers) != c.NumLayers {
		return nil, fmt.Errorf("config: %s: attention_types expand to %d layers, num_layers is %d", cfg.Path, len(c.AttentionLayers), c.NumLayers)
	}
	return c, nil
}

func buildGPTNeo(cfg *Config, task Task) (*Model, error) {
	c, err := DecodeGPTNeoConfig(cfg)
	if err != nil {
		return nil, err
	}
	head, err := decoderHead(cfg, task, "GPT-Neo", c.PadTokenID)
	if err != nil {
		return nil, err
	}
	D, V, I := c.HiddenSize, c.VocabSize, c.inner
	m := &Model{Tied: map[string]string{}, BasePrefix: "transformer.",
		// GPTNeoSelfAttention's mask buffers, saved by old checkpoints, non-persistent now.
		IgnoreKeys: ignoreKeys(`transformer\.h\.\d+\.attn\.attention\.(bias|masked_bias)`)}
	add := paramAdder(m)
	emb := Unit{Name: "transformer.wte+transformer.wpe"}
	add(&emb, "transformer.wte.weight", false, V, D)
	add(&emb, "transformer.wpe.weight", false, c.MaxPositionEmbeddings, D)
	m.Units = append(m.Units, emb)
	for l := 0; l < c.NumLayers; l++ {
		p := fmt.Sprintf("transformer.h.%d", l)
		u := Unit{Name: p}
		add(&u, p+".ln_1.weight", true, D)
		add(&u, p+".ln_1.bias", true, D)
		// GPTNeoSelfAttention registers k, v, q (no bias) before out_proj.
		add(&u, p+".attn.attention.k_proj.weight", false, D, D)
		add(&u, p+".attn.attention.v_proj.weight", false, D, D)
		add(&u, p+".attn.attention.q_proj.weight", false, D, D)
		add(&u, p+".attn.attention.out_proj.weight", false, D, D)
		add(&u, p+".attn.attention.out_proj.bias", true, D)
		add(&u, p+".ln_2.weight", true, D)
		add(&u, p+".ln_2.bias", true, D)
		add(&u, p+".mlp.c_fc.weight", false, I, D) // nn.Linear [out, in], unlike GPT-2's Conv1D
		add(&u, p+".mlp.c_fc.bias", true, I)
		add(&u, p+".mlp.c_proj.weight", false, D, I)
		add(&u, p+".mlp.c_proj.bias", true, D)
		m.Units = append(m.Units, u)
	}
	lnf := Unit{Name: "transformer.ln_f"}
	add(&lnf, "transformer.ln_f.weight", true, D)
	add(&lnf, "transformer.ln_f.bias", true, D)
	m.Units = append(m.Units, lnf)
	headModule := "lm_head"
	switch task {
	case TaskCausalLM:
		if c.TieWordEmbeddings {
			m.Tied["lm_head.weight"] = "transformer.wte.weight"
		} else {
			u := Unit{Name: "lm_head"}
			add(&u, "lm_head.weight", false, V, D)
			m.Units = append(m.Units, u)
		}
	default:
		headModule = decoderTaskHead(m, task, head, D)
	}
	m.Forward = func(w Weights, b *Batch) *Outputs {
		return gptNeoForward(c, task, head, headModule, w, b)
	}
	return m, nil
}

func gptNeoForward(c *GPTNeoConfig, task Task, head HeadConfig, headModule string, w Weights, b *Batch) *Outputs {
	decoderCheckInputs(b, "GPT-Neo", true)
	g := b.InputIDs.Graph()
	dims := b.InputIDs.Shape().Dimensions
	B, T := dims[0], dims[1]
	H, D := c.NumHeads, c.HiddenSize
	Dh := D / H
	eps := c.LayerNormEpsilon

	tok := Embedding(w.Get("transformer.wte.weight"), b.InputIDs, -1) // [B, T, D]
	x := Add(tok, positionRows(w.Get("transformer.wpe.weight"), T))   // [B, T, D]
	if b.TokenTypeIDs != nil {
		// GPTNeoModel embeds token types with the token table, as GPT-2 does.
		x = Add(x, Embedding(w.Get("transformer.wte.weight"), b.TokenTypeIDs, -1)) // [B, T, D]
	}
	out := &Outputs{Hidden: []*Node{x}}
	globalMask := AttentionMask(g, b.AttentionMask, B, T, true, 0) // [B, 1, T, T]
	// HF local: tril(ones) XOR tril(ones, -window): query i sees keys j with i-window < j <= i.
	localMask := AttentionMask(g, b.AttentionMask, B, T, true, c.WindowSize) // [B, 1, T, T]
	for l := 0; l < c.NumLayers; l++ {
		p := fmt.Sprintf("transformer.h.%d", l)
		a := p + ".attn.attention"
		mask := globalMask
		if c.AttentionLayers[l] == "local" {
			mask = localMask
		}
		h := layerNormW(w, p+".ln_1", x, eps, true)                  // [B, T, D]
		q := Reshape(LinearW(w, a+".q_proj", h, false), B, T, H, Dh) // [B, T, H, Dh]
		k := Reshape(LinearW(w, a+".k_proj", h, false), B, T, H, Dh) // [B, T, H, Dh]
		v := Reshape(LinearW(w, a+".v_proj", h, false), B, T, H, Dh) // [B, T, H, Dh]
		// GPT-Neo does not scale the scores by 1/sqrt(head_dim).
		o := Reshape(Attention(q, k, v, mask, 1), B, T, D)                        // [B, T, D]
		x = Add(x, LinearW(w, a+".out_proj", o, true))                            // [B, T, D]
		h = layerNormW(w, p+".ln_2", x, eps, true)                                // [B, T, D]
		f := Activation(c.ActivationFunction, LinearW(w, p+".mlp.c_fc", h, true)) // [B, T, I]
		x = Add(x, LinearW(w, p+".mlp.c_proj", f, true))                          // [B, T, D]
		if l < c.NumLayers-1 {
			out.Hidden = append(out.Hidden, x)
		}
	}
	x = layerNormW(w, "transformer.ln_f", x, eps, true) // [B, T, D]
	out.Hidden = append(out.Hidden, x)
	decoderOutputs(out, task, head, x, w, headModule, b)
	return out
}
