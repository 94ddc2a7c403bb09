package graph

// Qwen2 (Qwen1.5, Qwen2, Qwen2.5). Reference: transformers/models/qwen2/modeling_qwen2.py and
// configuration_qwen2.py (added in v4.37, after the fixtures' 4.34; the sliding-window layer choice follows the
// current Qwen2Config: layer_types, else max_window_layers). The layout is LLaMA's (same tensor names under
// model.) with biases on q_proj, k_proj and v_proj only.

import (
	"fmt"
	"slices"
)

func init() {
	Register(Arch{
		ModelType: "qwen2",
		Classes: map[string]Task{
			"Qwen2ForCausalLM":               TaskCausalLM,
			"Qwen2ForSequenceClassification": TaskSeqCls,
		},
		Build: buildQwen2,
	})
}

// DecodeQwen2Config reads a Qwen2 config.json into the LLaMA layout with Qwen2Config's defaults:
// num_key_value_heads 32 when absent (num_attention_heads when null), max_position_embeddings 32768,
// tie_word_embeddings false, q/k/v biases. The sliding window (sliding_window, default 4096) applies only when
// use_sliding_window is true, and then to the layers layer_types marks "sliding_attention", or when config.json
// has no layer_types, to the layers with index >= max_window_layers (default 28).
func DecodeQwen2Config(cfg *Config) (*LlamaConfig, error) {
	c, err := decodeLlamaLayout(cfg, LlamaConfig{RMSNormEps: 1e-6, RopeTheta: 10000, HiddenAct: "silu",
		MaxPositionEmbeddings: 32768, NumKeyValueHeads: 32})
	if err != nil {
		return nil, err
	}
	// Qwen2Attention: q/k/v with bias, o_proj without; Qwen2MLP without. Qwen2Config has no attention_bias.
	c.QKVBias, c.AttentionBias, c.MLPBias = true, false, false
	window := 4096
	raw := struct {
		UseSlidingWindow bool     `json:"use_sliding_window"`
		SlidingWindow    *int     `json:"sliding_window"`
		MaxWindowLayers  int      `json:"max_window_layers"`
		LayerTypes       []string `json:"layer_types"`
	}{SlidingWindow: &window, MaxWindowLayers: 28} // a JSON null sets SlidingWindow to nil
	if err := cfg.Decode(&raw); err != nil {
		return nil, err
	}
	if raw.LayerTypes != nil {
		if len(raw.LayerTypes) != c.NumHiddenLayers {
			return nil, fmt.Errorf("config: %s: layer_types has %d entries, num_hidden_layers is %d", cfg.Path, len(raw.LayerTypes), c.NumHiddenLayers)
		}
		for i, lt := range raw.LayerTypes {
			if lt != "full_attention" && lt != "sliding_attention" {
				return nil, fmt.Errorf("config: %s: layer_types[%d] = %q (want full_attention or sliding_attention)", cfg.Path, i, lt)
			}
		}
	}
	if !raw.UseSlidingWindow || raw.SlidingWindow == nil {
		if slices.Contains(raw.LayerTypes, "sliding_attention") {
			return nil, fmt.Errorf("config: %s: layer_types has sliding_attention layers but use_sliding_window is false or sliding_window is null", cfg.Path)
		}
		return c, nil
	}
	if *raw.SlidingWindow <= 0 {
		return nil, fmt.Errorf("config: %s: sliding_window must be positive or null, got %d", cfg.Path, *raw.SlidingWindow)
	}
	c.SlidingWindow = *raw.SlidingWindow
	c.SlidingLayers = make([]bool, c.NumHiddenLayers)
	for l := range c.SlidingLayers {
		if raw.LayerTypes != nil {
			c.SlidingLayers[l] = raw.LayerTypes[l] == "sliding_attention"
		} else {
			c.SlidingLayers[l] = l >= raw.MaxWindowLayers
		}
	}
	return c, nil
}

func buildQwen2(cfg *Config, task Task) (*Model, error) {
	c, err := DecodeQwen2Config(cfg)
	if err != nil {
		return nil, err
	}
	return LlamaModel(cfg, c, task)
}
