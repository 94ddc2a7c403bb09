package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hift-go/hift/io/gguf"
)

// GGUF metadata of a WordPiece tokenizer.json (BERT) as llama.cpp's converter (BertModel.set_vocab) writes
// it: tokenizer.ggml.model "bert", tokens in "phantom space" form ("##x" → "x", a word-initial "x" → "▁x",
// "[...]" kept), special added tokens as control tokens, and the [UNK]/[SEP]/[PAD]/[CLS]/[MASK] ids.
func (t *Tokenizer) ggufWordPiece() ([]gguf.KV, error) {
	raw, path, err := t.sourceFile("tokenizer.json")
	if err != nil {
		return nil, err
	}
	var tj struct {
		Normalizer  json.RawMessage `json:"normalizer"`
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
			Special bool   `json:"special"`
		} `json:"added_tokens"`
		Model struct {
			Vocab  map[string]int `json:"vocab"`
			Prefix string         `json:"continuing_subword_prefix"`
		} `json:"model"`
	}
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	if !wpmLlamaNormalizer(tj.Normalizer) {
		return nil, fmt.Errorf("tokenizer %s: llama.cpp's WordPiece always lowercases and strips accents (BertNormalizer lowercase); this tokenizer's normalizer differs", path)
	}
	if tj.Model.Prefix != "##" {
		return nil, fmt.Errorf("tokenizer %s: continuing_subword_prefix %q (llama.cpp's WordPiece uses ##)", path, tj.Model.Prefix)
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
			tokens[a.ID], types[a.ID] = a.Content, 4
			if a.Special {
				types[a.ID] = 3
			}
		}
	}
	for id, tok := range tokens {
		switch {
		case tok == "":
			tokens[id], types[id] = fmt.Sprintf("[PAD%d]", id), 5
		case strings.HasPrefix(tok, "[") && strings.HasSuffix(tok, "]"):
		case strings.HasPrefix(tok, "##"):
			tokens[id] = tok[2:]
		default:
			tokens[id] = "\u2581" + tok
		}
	}
	kvs := []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: "bert"},
		{Key: "tokenizer.ggml.pre", Value: "default"},
		{Key: "tokenizer.ggml.tokens", Value: tokens},
		{Key: "tokenizer.ggml.token_type", Value: types},
	}
	for _, s := range []struct{ key, tok string }{{"unknown_token_id", "[UNK]"}, {"seperator_token_id", "[SEP]"},
		{"padding_token_id", "[PAD]"}, {"cls_token_id", "[CLS]"}, {"mask_token_id", "[MASK]"}} {
		if id, ok := t.TokenID(s.tok); ok && id < n {
			kvs = append(kvs, gguf.KV{Key: "tokenizer.ggml." + s.key, Value: uint32(id)})
		}
	}
	return kvs, nil
}

// wpmLlamaNormalizer says whether a tokenizer.json normalizer is what llama.cpp's WordPiece does: a
// BertNormalizer that lowercases and strips accents, alone or in the Sequence hift import writes
// (wpmNormalizer: Replace steps that bring HF's preprocessing to llama.cpp's, which llama.cpp does itself).
func wpmLlamaNormalizer(raw json.RawMessage) bool {
	type step struct {
		Type         string            `json:"type"`
		Lowercase    bool              `json:"lowercase"`
		StripAccents *bool             `json:"strip_accents"`
		Normalizers  []json.RawMessage `json:"normalizers"`
		Pattern      struct {
			Regex string `json:"Regex"`
		} `json:"pattern"`
	}
	bert := func(st step) bool {
		return st.Type == "BertNormalizer" && st.Lowercase && (st.StripAccents == nil || *st.StripAccents)
	}
	var top step
	if json.Unmarshal(raw, &top) != nil {
		return false
	}
	if top.Type != "Sequence" {
		return bert(top)
	}
	llamaSteps := map[string]bool{"[\u000b\u000c\u0085]": true, `[\p{Mc}\p{Me}]`: true, "[\u1160-\u11ff]": true}
	berts := 0
	for _, r := range top.Normalizers {
		var st step
		if json.Unmarshal(r, &st) != nil {
			return false
		}
		switch {
		case bert(st):
			berts++
		case st.Type == "Replace" && llamaSteps[st.Pattern.Regex]:
		default:
			return false
		}
	}
	return berts == 1
}
