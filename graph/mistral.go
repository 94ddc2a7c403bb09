package graph

// Mistral. Reference: transformers/models/mistral/modeling_mistral.py and configuration_mistral.py (v4.34, the
// release that added Mistral). The layout is LLaMA's (same tensor names under model.), without attention or MLP
// biases, plus a sliding-window causal mask.
//
// Sliding-window semantics: a query at position q attends to a key at k when 0 <= q − k < sliding_window, as in
// current transformers (masking_utils.sliding_window_overlay: kv_idx > q_idx − sliding_window) and the 4.36–4.39
// AttentionMaskConverter. v4.34's eager mask (_make_sliding_window_causal_mask: triu(diagonal=−sliding_window),
// copied from Mistral's reference one_file_ref.py) admits one more key, q − k <= sliding_window. The two differ
// only for sequences longer than sliding_window (4096 in Mistral-7B-v0.1; null from v0.2 on).

import "fmt"

func init() {
	Register(Arch{
		ModelType: "mistral",
		Classes: map[string]Task{
			"MistralForCausalLM":               TaskCausalLM,
			"MistralForSequenceClassification": TaskSeqCls,
		},
		Build: buildMistral,
	})
}

// mistralDefaultSlidingWindow is MistralConfig's sliding_window default, used when config.json has no such key.
const mistralDefaultSlidingWindow = 4096

// DecodeMistralConfig reads a Mistral config.json into the LLaMA layout with MistralConfig's defaults:
// num_key_value_heads 8 when absent (num_attention_heads when null), max_position_embeddings 4096·32,
// sliding_window 4096 when absent (no window when null), no attention or MLP biases.
func DecodeMistralConfig(cfg *Config) (*LlamaConfig, error) {
	c, err := decodeLlamaLayout(cfg, LlamaConfig{RMSNormEps: 1e-6, RopeTheta: 10000, HiddenAct: "silu",
		MaxPositionEmbeddings: 4096 * 32, NumKeyValueHeads: 8})
	if err != nil {
		return nil, err
	}
	// MistralAttention and MistralMLP have no biases; MistralConfig has no attention_bias or mlp_bias.
	c.AttentionBias, c.MLPBias = false, false
	var raw struct {
		SlidingWindow *int `json:"sliding_window"`
	}
	if err := cfg.Decode(&raw); err != nil {
		return nil, err
	}
	switch _, present := cfg.Raw["sliding_window"]; {
	case !present:
		c.SlidingWindow = mistralDefaultSlidingWindow
	case raw.SlidingWindow != nil:
		if *raw.SlidingWindow <= 0 {
			return nil, fmt.Errorf("config: %s: sliding_window must be positive or null, got %d", cfg.Path, *raw.SlidingWindow)
		}
		c.SlidingWindow = *raw.SlidingWindow
	}
	return c, nil
}

func buildMistral(cfg *Config, task Task) (*Model, error) {
	c, err := DecodeMistralConfig(cfg)
	if err != nil {
		return nil, err
	}
	return LlamaModel(cfg, c, task)
}
