package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hift-go/hift/io/gguf"
)

// GGUF metadata of a WordPiece tokenizer.json (BERT) as llama.cpp's converter (BertModel.set_vocab) writes
// it: tokenizer.ggml.model "bert", tokens in "phantom space" form ("##x" → "x", a word-initial "x" → "▁x",
// "[...]" kept), special added tokens as control tokens, and the [UNK]/[SEP]/[PAD]/[CLS]/[MASK] ids.
func (t *Tokenizer) ggufWordPiece() ([]gguf.KV, error) {
	path := t.path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "tokenizer.json")
	}
	raw, err := readMaybeGzip(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	var tj struct {
		Normalizer struct {
			Type         string `json:"type"`
			Lowercase    bool   `json:"lowercase"`
			StripAccents *bool  `json:"strip_accents"`
		} `json:"normalizer"`
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
	if tj.Normalizer.Type != "BertNormalizer" || !tj.Normalizer.Lowercase || (tj.Normalizer.StripAccents != nil && !*tj.Normalizer.StripAccents) {
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
