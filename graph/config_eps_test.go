package graph

import "testing"

// TestNonPositiveEpsilonRefused: a norm epsilon or rotary base that is not > 0 is a config error naming the field
// (before, rms_norm_eps=-1 loaded and every logit came out NaN with exit 0).
func TestNonPositiveEpsilonRefused(t *testing.T) {
	const llama = `{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":64,"hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":4`
	const gpt2 = `{"architectures":["GPT2LMHeadModel"],"model_type":"gpt2","vocab_size":64,"n_positions":16,"n_layer":1,"n_embd":32,"n_head":4`
	const neo = `{"architectures":["GPTNeoForCausalLM"],"model_type":"gpt_neo","vocab_size":64,"max_position_embeddings":16,"hidden_size":32,"num_heads":4,"num_layers":2,"attention_types":[[["global","local"],1]]`
	const neox = `{"architectures":["GPTNeoXForCausalLM"],"model_type":"gpt_neox","vocab_size":64,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":64`
	for _, tc := range []struct{ config, want string }{
		{llama + `,"rms_norm_eps":-1}`, "rms_norm_eps=-1"},
		{llama + `,"rms_norm_eps":0}`, "rms_norm_eps=0"},
		{llama + `,"rope_theta":-10000}`, "rope_theta=-10000"},
		{gpt2 + `,"layer_norm_epsilon":-0.00001}`, "layer_norm_epsilon"},
		{neo + `,"layer_norm_epsilon":0}`, "layer_norm_epsilon=0"},
		{neox + `,"layer_norm_eps":-1}`, "layer_norm_eps=-1"},
	} {
		decCheckConfigError(t, tc.config, tc.want)
	}
}
