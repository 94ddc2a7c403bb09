package tokenizer

// TokenizerConfigFromGGUF is the HF tokenizer_config.json that goes beside the tokenizer.json
// TokenizerJSONFromGGUF rebuilds: the tokenizer class, add_bos_token, the chat template and the special
// tokens by their text. Per tokenizer.ggml.model:
//   - "gpt2": PreTrainedTokenizerFast with bos/eos/unk/pad (unk too, so a re-export writes unknown_token_id again);
//   - "llama": LlamaTokenizerFast with add_bos_token/add_eos_token as llama.cpp applies them (BOS by default),
//     legacy (the tokenizer.json's Prepend/Replace normalizer) and bos/eos/unk/pad; no add_prefix_space, which
//     would make transformers rebuild the tokenizer from a SentencePiece model the GGUF does not carry;
//   - "bert": BertTokenizerFast with do_lower_case/strip_accents from the normalizer keys, Chinese characters
//     split, and the [CLS]/[SEP]/[UNK]/[PAD]/[MASK] tokens (bos_token_id is llama.cpp's [CLS]).
func TokenizerConfigFromGGUF(kv map[string]any) map[string]any {
	toks, _ := kv["tokenizer.ggml.tokens"].([]any)
	tc := map[string]any{}
	if ct, ok := kv["tokenizer.chat_template"].(string); ok {
		tc["chat_template"] = ct
	}
	model, _ := kv["tokenizer.ggml.model"].(string)
	if model == "llama" || model == "bert" {
		v, err := newSPMWPMVocab(kv, "", model == "bert")
		if err == nil {
			return spmWPMConfig(v, tc)
		}
		// An unreadable vocabulary fails in TokenizerJSONFromGGUF with the reason; the generic config stays.
	}
	addBOS, _ := kv["tokenizer.ggml.add_bos_token"].(bool)
	tc["tokenizer_class"], tc["add_bos_token"] = "PreTrainedTokenizerFast", addBOS
	for _, k := range []struct{ gg, hf string }{{"bos_token_id", "bos_token"}, {"eos_token_id", "eos_token"}, {"unknown_token_id", "unk_token"}, {"padding_token_id", "pad_token"}} {
		if id, ok := kv["tokenizer.ggml."+k.gg].(uint32); ok && int(id) < len(toks) {
			tc[k.hf] = toks[id]
		}
	}
	return tc
}

func spmWPMConfig(v *spmWPMVocab, tc map[string]any) map[string]any {
	set := func(key string, id int) {
		if id >= 0 && id < len(v.tokens) {
			tc[key] = v.tokens[id]
			if v.wpm {
				tc[key] = v.wpmHFSpelling(id)
			}
		}
	}
	if v.wpm {
		tc["tokenizer_class"] = "BertTokenizerFast"
		tc["do_lower_case"] = v.lowercase
		tc["tokenize_chinese_chars"] = true
		if v.stripAccents != v.lowercase {
			tc["strip_accents"] = v.stripAccents
		} else {
			tc["strip_accents"] = nil // follows do_lower_case
		}
		tc["clean_up_tokenization_spaces"] = true
		tc["model_input_names"] = []string{"input_ids", "token_type_ids", "attention_mask"}
		for _, s := range []struct {
			key string
			id  int
		}{{"cls_token", v.bos}, {"sep_token", v.sep}, {"unk_token", v.unk}, {"pad_token", v.pad}, {"mask_token", v.mask}} {
			set(s.key, s.id)
		}
		return tc
	}
	tc["tokenizer_class"] = "LlamaTokenizerFast"
	tc["add_bos_token"], tc["add_eos_token"] = v.addBOS, v.addEOS
	tc["legacy"] = true
	tc["clean_up_tokenization_spaces"] = false
	for _, s := range []struct {
		key string
		id  int
	}{{"bos_token", v.bos}, {"eos_token", v.eos}, {"unk_token", v.unk}, {"pad_token", v.pad}} {
		set(s.key, s.id)
	}
	return tc
}
