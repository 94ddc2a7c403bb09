package tokenizer

import (
	"fmt"
	"strings"
)

// ggufBPEVocab is a "gpt2" GGUF vocabulary as llama.cpp's loader (llama_vocab::impl::load) sees it.
type ggufBPEVocab struct {
	pre     string
	preType llamaPreType
	tokens  []string
	attrs   []int
	merges  []string
}

// readGGUFBPEVocab reads the tokenizer.ggml.* keys of a "gpt2" vocabulary and gives every token the attributes
// llama.cpp ends up with: its type's, then the overrides llama.cpp applies by token text (below).
func readGGUFBPEVocab(kv map[string]any, path string) (*ggufBPEVocab, error) {
	pre, _ := kv["tokenizer.ggml.pre"].(string)
	pt, err := lookupPreType(pre)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	toks, ok := kv["tokenizer.ggml.tokens"].([]any)
	if !ok || len(toks) == 0 {
		return nil, fmt.Errorf("tokenizer: %s: no tokenizer.ggml.tokens (a string array)", path)
	}
	v := &ggufBPEVocab{pre: pre, preType: pt, tokens: make([]string, len(toks)), attrs: make([]int, len(toks))}
	seen := make(map[string]int, len(toks))
	for id, t := range toks {
		s, ok := t.(string)
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: tokenizer.ggml.tokens[%d] is %T, not a string", path, id, t)
		}
		if s == "" {
			s = fmt.Sprintf("[EMPTY_%d]", id) // as llama.cpp renames empty tokens
		}
		if prev, dup := seen[s]; dup {
			return nil, fmt.Errorf("tokenizer: %s: tokens %d and %d are both %q (llama.cpp refuses duplicate tokens)", path, prev, id, s)
		}
		seen[s] = id
		v.tokens[id] = s
		v.attrs[id] = attrNormal
	}
	if raw, present := kv["tokenizer.ggml.token_type"]; present {
		types, ok := raw.([]any)
		if !ok || len(types) < len(toks) {
			return nil, fmt.Errorf("tokenizer: %s: tokenizer.ggml.token_type has fewer entries than the %d tokens", path, len(toks))
		}
		for id := range v.tokens {
			t, ok := types[id].(int32)
			if !ok {
				return nil, fmt.Errorf("tokenizer: %s: tokenizer.ggml.token_type[%d] is %T, not int32", path, id, types[id])
			}
			v.attrs[id] = attrOfType(t)
		}
	}
	merges, ok := kv["tokenizer.ggml.merges"].([]any)
	if !ok {
		return nil, fmt.Errorf("tokenizer: %s: no tokenizer.ggml.merges (a string array); llama.cpp cannot load a gpt2 vocabulary without merges", path)
	}
	v.merges = make([]string, len(merges))
	for i, m := range merges {
		s, ok := m.(string)
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: tokenizer.ggml.merges[%d] is %T, not a string", path, i, m)
		}
		v.merges[i] = s
	}
	if err := v.applyTextOverrides(kv); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return v, nil
}

func attrOfType(t int32) int {
	switch t {
	case ggufTypeUnknown:
		return attrUnknown
	case ggufTypeUnused:
		return attrUnused
	case ggufTypeNormal:
		return attrNormal
	case ggufTypeControl:
		return attrControl
	case ggufTypeUserDefined:
		return attrUserDefined
	case ggufTypeByte:
		return attrByte
	}
	return 0 // undefined
}

// Token texts llama.cpp makes control tokens whatever their type (llama-vocab.cpp, "control-looking token"):
// end-of-generation markers always, fill-in-the-middle markers when the file has no id key for that role.
var (
	llamaEOGTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
		"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
		"<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["}
	llamaFIMTexts = []struct {
		keys  []string
		texts []string
	}{
		{[]string{"tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"},
			[]string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"}},
		{[]string{"tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"},
			[]string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"}},
		{[]string{"tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"},
			[]string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"}},
		{[]string{"tokenizer.ggml.fim_pad_token_id"}, []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}},
		{[]string{"tokenizer.ggml.fim_rep_token_id"}, []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}},
		{[]string{"tokenizer.ggml.fim_sep_token_id"}, []string{"<|file_sep|>"}},
	}
)

// applyTextOverrides applies, in llama.cpp's order, the attribute changes its loader makes by token text and by
// model name. Where a file has several fill-in-the-middle candidates for one role and no id key, llama.cpp marks
// the first it meets in hash-map order; hift marks them all.
func (v *ggufBPEVocab) applyTextOverrides(kv map[string]any) error {
	ids := make(map[string]int, len(v.tokens))
	for id, t := range v.tokens {
		ids[t] = id
	}
	setControl := func(text string) {
		if id, ok := ids[text]; ok {
			v.attrs[id] |= attrControl
		}
	}
	for _, f := range llamaFIMTexts {
		if hasValidID(kv, f.keys, len(v.tokens)) {
			continue
		}
		for _, t := range f.texts {
			setControl(t)
		}
	}
	for _, t := range llamaEOGTexts {
		setControl(t)
	}
	for _, t := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} { // gpt-oss
		if id, ok := ids[t]; ok {
			v.attrs[id] = attrUserDefined
		}
	}
	_, hasReturn := ids["<|return|>"]
	_, hasCall := ids["<|call|>"]
	_, hasCalls := ids["<|calls|>"]
	_, hasFlush := ids["<|flush|>"]
	if end, ok := ids["<|end|>"]; ok && ((hasReturn && (hasCall || hasCalls)) || ((hasCall || hasCalls) && hasFlush)) {
		v.attrs[end] = attrUserDefined
	}
	if s, ok := ids["</s>"]; ok {
		if _, tr := ids["<|tool_response>"]; tr {
			v.attrs[s] = attrNormal
		}
	}
	name, _ := kv["general.name"].(string)
	name = strings.ToLower(name)
	arch, _ := kv["general.architecture"].(string)
	setAttr := func(text string, attr int, on bool) {
		if id, ok := ids[text]; ok {
			if on {
				v.attrs[id] |= attr
			} else {
				v.attrs[id] &^= attr
			}
		}
	}
	switch {
	case containsAny(v.pre, "jina-v2-de", "jina-v2-es", "jina-v2-code") || containsAny(arch, "nomic-bert-moe", "jina-bert-v3"):
		setAttr("<mask>", attrLStrip, true)
	case containsAny(name, "phi-3", "phi3"):
		for _, t := range []string{"</s>", "<unk>", "<s>", "<|endoftext|>"} {
			if _, ok := ids[t]; !ok {
				return fmt.Errorf("general.name %q is a Phi-3 name but the vocabulary has no %q (llama.cpp refuses to load it)", name, t)
			}
		}
		for id, a := range v.attrs {
			if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
				v.attrs[id] |= attrRStrip
			}
		}
		setAttr("</s>", attrRStrip, true)
		for _, t := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			setAttr(t, attrRStrip, false)
		}
	case containsAny(name, "modern-bert"):
		setAttr("[MASK]", attrLStrip, true)
	}
	return nil
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// hasValidID reports whether one of the keys holds a token id below n.
func hasValidID(kv map[string]any, keys []string, n int) bool {
	for _, k := range keys {
		if id, ok := kv[k].(uint32); ok && int(id) < n {
			return true
		}
	}
	return false
}

// loadGGUFBPE is LoadGGUF for a "gpt2" vocabulary: the Tokenizer of the rebuilt tokenizer.json (vocabulary,
// decoder, BOS/EOS post-processor) whose model is llama.cpp's pipeline (llamaBPE), which takes the whole text.
func loadGGUFBPE(kv map[string]any, path string) (*Tokenizer, error) {
	v, err := readGGUFBPEVocab(kv, path)
	if err != nil {
		return nil, err
	}
	tj, err := TokenizerJSONFromGGUF(kv, path)
	if err != nil {
		return nil, err
	}
	tok, err := FromJSON(tj)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	m, err := newLlamaBPE(v.tokens, v.attrs, v.merges, v.preType)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	tok.model, tok.pre, tok.norm = m, nil, nil
	// The added tokens stay known (Token, IsSpecial, Decode) but are no longer cut out before the model: llamaBPE
	// cuts them out itself, as llama.cpp does.
	tok.added = &addedVocab{byContent: tok.added.byContent, byID: tok.added.byID, special: tok.added.special, raw: newTrie(), norm: newTrie()}
	tok.path = path
	for _, s := range []struct {
		key string
		dst *int
	}{{"tokenizer.ggml.bos_token_id", &tok.bos}, {"tokenizer.ggml.eos_token_id", &tok.eos},
		{"tokenizer.ggml.padding_token_id", &tok.pad}, {"tokenizer.ggml.unknown_token_id", &tok.unk}} {
		if id, ok := kv[s.key].(uint32); ok && int(id) < len(v.tokens) {
			*s.dst = int(id)
		}
	}
	if ct, ok := kv["tokenizer.chat_template"].(string); ok {
		tok.chatTemplate = ct
	}
	return tok, nil
}
