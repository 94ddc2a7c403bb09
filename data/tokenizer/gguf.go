package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hift-go/hift/io/gguf"
)

// GGUFMetadata returns the tokenizer.ggml.* keys llama.cpp reads, for a byte-level BPE tokenizer.json
// (model "gpt2"): the pre-tokenizer type of the family (gpt-2, llama-bpe, qwen2; see gguf_pre.go), every token
// by id, its type (1 normal, 3 control for special added tokens, 4 user-defined for other added tokens),
// the merges, BOS/EOS/UNK/PAD ids, add_bos_token/add_eos_token as Encode(text, true) adds them, and the chat
// template.
func (t *Tokenizer) GGUFMetadata() ([]gguf.KV, error) {
	kvs, err := t.ggufMetadata()
	if err != nil {
		return nil, err
	}
	if err := checkUniqueTokens(kvs, t.path); err != nil {
		return nil, err
	}
	return kvs, nil
}

// checkUniqueTokens refuses a vocabulary that holds one token text twice (as a tokenizer.json whose added token
// repeats a vocabulary entry does): llama.cpp's loader aborts the process on it (GGML_ASSERT in
// llama-vocab.cpp), so such a GGUF must not be written.
func checkUniqueTokens(kvs []gguf.KV, path string) error {
	for _, kv := range kvs {
		toks, ok := kv.Value.([]string)
		if kv.Key != "tokenizer.ggml.tokens" || !ok {
			continue
		}
		seen := make(map[string]int, len(toks))
		for id, s := range toks {
			if prev, dup := seen[s]; dup {
				return fmt.Errorf("tokenizer %s: tokens %d and %d are both %q, and llama.cpp aborts loading a vocabulary that repeats a token; remove the repeated added token from tokenizer.json (or give it its own text)", path, prev, id, s)
			}
			seen[s] = id
		}
	}
	return nil
}

func (t *Tokenizer) ggufMetadata() ([]gguf.KV, error) {
	switch t.family {
	case FamilySentencePiece:
		return t.ggufSentencePiece()
	case FamilyBPE:
		return t.ggufSPMFromBPE()
	case FamilyWordPiece:
		return t.ggufWordPiece()
	}
	if t.family != FamilyByteLevelBPE {
		return nil, fmt.Errorf("tokenizer %s: GGUF export supports byte-level BPE and SentencePiece-style BPE tokenizer.json and SentencePiece tokenizer.model, not %s", t.path, t.family)
	}
	raw, path, err := t.sourceFile("tokenizer.json")
	if err != nil {
		return nil, err
	}
	var tj struct {
		PreTokenizer json.RawMessage `json:"pre_tokenizer"`
		AddedTokens  []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
			Special bool   `json:"special"`
		} `json:"added_tokens"`
		Model struct {
			Vocab        map[string]int    `json:"vocab"`
			Merges       []json.RawMessage `json:"merges"`
			IgnoreMerges bool              `json:"ignore_merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	pre, err := ggufPre(tj.PreTokenizer, tj.Model.IgnoreMerges)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	if pre == "llama-bpe" && !tj.Model.IgnoreMerges {
		pre = "smaug-bpe" // llama.cpp's llama-bpe ignores merges; smaug-bpe splits the same way and merges
	}
	n := t.VocabSize()
	tokens := make([]string, n)
	types := make([]int32, n)
	for tok, id := range tj.Model.Vocab {
		if id >= 0 && id < n {
			tokens[id], types[id] = tok, 1
		}
	}
	for _, a := range tj.AddedTokens {
		if a.ID >= 0 && a.ID < n {
			tokens[a.ID] = a.Content
			types[a.ID] = 4
			if a.Special {
				types[a.ID] = 3
			}
		}
	}
	for id := range tokens {
		if tokens[id] == "" {
			tokens[id], types[id] = fmt.Sprintf("[PAD%d]", id), 5 // unused id
		}
	}
	merges := make([]string, 0, len(tj.Model.Merges))
	for _, m := range tj.Model.Merges {
		a, b, err := parseMerge(m)
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: merge: %w", path, err)
		}
		merges = append(merges, a+" "+b)
	}
	kvs := []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: "gpt2"},
		{Key: "tokenizer.ggml.pre", Value: pre},
		{Key: "tokenizer.ggml.tokens", Value: tokens},
		{Key: "tokenizer.ggml.token_type", Value: types},
		{Key: "tokenizer.ggml.merges", Value: merges},
	}
	return append(kvs, t.ggufSpecialKVs(n, t.BOS(), t.EOS(), t.unk, t.PAD())...), nil
}

// TokenizerJSONFromGGUF rebuilds an HF tokenizer.json (byte-level BPE) from a GGUF file's tokenizer.ggml.*
// metadata (model "gpt2"): the pre-tokenizer splits as llama.cpp's pre type does (a Sequence of isolating Splits
// with llama.cpp's regexes, then ByteLevel; see hfPreTokenizer), the tokens llama.cpp cuts out of text before
// splitting (control, user-defined and unknown types, plus the ones it makes control by their text) are added
// tokens, special for control, and a BOS/EOS post-processor is added when add_bos_token/add_eos_token say so.
// A pre type hift cannot split as llama.cpp does is refused by name.
func TokenizerJSONFromGGUF(kv map[string]any, path string) ([]byte, error) {
	switch model, _ := kv["tokenizer.ggml.model"].(string); model {
	case "gpt2":
	case "llama":
		return tokenizerJSONFromGGUFSPM(kv, path)
	case "bert":
		return tokenizerJSONFromGGUFWPM(kv, path)
	case "":
		return nil, fmt.Errorf("tokenizer: %s holds no tokenizer (no tokenizer.ggml.model key%s)", path, ggufNoTokenizerHint(kv))
	default:
		return nil, fmt.Errorf("tokenizer: %s: tokenizer.ggml.model %q cannot be imported (gpt2 byte-level BPE, llama SentencePiece and bert WordPiece can)", path, model)
	}
	v, err := readGGUFBPEVocab(kv, path)
	if err != nil {
		return nil, err
	}
	pretok, err := hfPreTokenizer(v.preType)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	vocab := make(map[string]int, len(v.tokens))
	var added []map[string]any
	for id, s := range v.tokens {
		vocab[s] = id
		if a := v.attrs[id]; a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			added = append(added, map[string]any{"id": id, "content": s, "single_word": false, "lstrip": a&attrLStrip != 0,
				"rstrip": a&attrRStrip != 0, "normalized": false, "special": a&attrControl != 0})
		}
	}
	tj := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": added, "normalizer": nil,
		"pre_tokenizer":  pretok,
		"post_processor": ggufPostProcessor(kv, v),
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "",
			"end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false,
			"ignore_merges": v.preType.ignoreMerges, "vocab": vocab, "merges": v.merges},
	}
	return json.MarshalIndent(tj, "", "  ")
}

// ggufPostProcessor adds BOS/EOS as llama.cpp does with add_special: add_bos_token/add_eos_token, else the pre
// type's default (BOS for llama3, tekken, chameleon), with the ids of bos_token_id/eos_token_id.
func ggufPostProcessor(kv map[string]any, v *ggufBPEVocab) map[string]any {
	addBOS, ok := kv["tokenizer.ggml.add_bos_token"].(bool)
	if !ok {
		addBOS = v.preType.addBOS
	}
	addEOS, _ := kv["tokenizer.ggml.add_eos_token"].(bool)
	tokenOf := func(key string) (string, int, bool) {
		id, ok := kv[key].(uint32)
		if !ok || int(id) >= len(v.tokens) {
			return "", 0, false
		}
		return v.tokens[id], int(id), true
	}
	bos, bosID, okB := tokenOf("tokenizer.ggml.bos_token_id")
	eos, eosID, okE := tokenOf("tokenizer.ggml.eos_token_id")
	if v.preType.noBOS {
		okB = false
	}
	if !(addBOS && okB) && !(addEOS && okE) {
		return map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true}
	}
	var single []any
	special := map[string]any{}
	if addBOS && okB {
		single = append(single, map[string]any{"SpecialToken": map[string]any{"id": bos, "type_id": 0}})
		special[bos] = map[string]any{"id": bos, "ids": []int{bosID}, "tokens": []string{bos}}
	}
	single = append(single, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}})
	if addEOS && okE {
		single = append(single, map[string]any{"SpecialToken": map[string]any{"id": eos, "type_id": 0}})
		special[eos] = map[string]any{"id": eos, "ids": []int{eosID}, "tokens": []string{eos}}
	}
	pair := append(append([]any{}, single...), map[string]any{"Sequence": map[string]any{"id": "B", "type_id": 1}})
	return map[string]any{"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": special}
}

// LoadGGUF reads the tokenizer a GGUF file carries (also vocab-only files) into a Tokenizer that tokenizes as
// llama.cpp does with that file.
func LoadGGUF(path string) (*Tokenizer, error) {
	g, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	switch model, _ := g.KV["tokenizer.ggml.model"].(string); model {
	case "llama":
		return loadGGUFSPM(g.KV, path)
	case "bert":
		return loadGGUFWPM(g.KV, path)
	}
	if model, _ := g.KV["tokenizer.ggml.model"].(string); model != "gpt2" {
		_, err := TokenizerJSONFromGGUF(g.KV, path) // the error naming the model
		return nil, err
	}
	return loadGGUFBPE(g.KV, path)
}

// ggufNoTokenizerHint says why a GGUF may lack a tokenizer: LoRA adapters and later parts of a split file
// carry none.
func ggufNoTokenizerHint(kv map[string]any) string {
	if t, _ := kv["general.type"].(string); t == "adapter" {
		return "; it is a LoRA adapter: use its base model's GGUF or tokenizer"
	}
	if _, ok := kv["split.count"]; ok {
		return "; it is part of a split GGUF: use the first part"
	}
	return ""
}

// sourceFile reads the file the tokenizer was loaded from (name inside it when that was a folder), gzipped or
// not, for the GGUF writers that copy its vocabulary; it returns the bytes and the file's path.
func (t *Tokenizer) sourceFile(name string) ([]byte, string, error) {
	path := t.path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, name)
	}
	raw, err := readMaybeGzip(path)
	if err != nil {
		return nil, path, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	return raw, path, nil
}
