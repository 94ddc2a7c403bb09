package tokenizer

// TokenizerConfigFromGGUF is the HF tokenizer_config.json that goes beside the tokenizer.json
// TokenizerJSONFromGGUF rebuilds: the tokenizer class, add_bos_token, the chat template and the special
// tokens (bos, eos, pad) by their text.
func TokenizerConfigFromGGUF(kv map[string]any) map[string]any {
	addBOS, _ := kv["tokenizer.ggml.add_bos_token"].(bool)
	tc := map[string]any{"tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": addBOS}
	if ct, ok := kv["tokenizer.chat_template"].(string); ok {
		tc["chat_template"] = ct
	}
	toks, _ := kv["tokenizer.ggml.tokens"].([]any)
	for _, k := range []struct{ gg, hf string }{{"bos_token_id", "bos_token"}, {"eos_token_id", "eos_token"}, {"padding_token_id", "pad_token"}} {
		if id, ok := kv["tokenizer.ggml."+k.gg].(uint32); ok && int(id) < len(toks) {
			tc[k.hf] = toks[id]
		}
	}
	return tc
}
