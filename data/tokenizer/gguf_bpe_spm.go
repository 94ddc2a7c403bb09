package tokenizer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/hift-go/hift/io/gguf"
)

// GGUF metadata of a SentencePiece-style BPE tokenizer.json (byte_fallback, "▁" for spaces: Mistral, LLaMA-2
// HF files) in llama.cpp's "llama" (SPM) form. llama.cpp's SPM tokenizer merges the adjacent pair whose
// result has the highest score; giving each token the score -rank of the merge that makes it reproduces BPE's
// lowest-rank-first order (tokens no merge makes get scores below every merge). <0xXX> pieces are byte
// tokens, special added tokens control tokens.

var bytePiece = regexp.MustCompile(`^<0x[0-9A-Fa-f]{2}>$`)

func (t *Tokenizer) ggufSPMFromBPE() ([]gguf.KV, error) {
	raw, path, err := t.sourceFile("tokenizer.json")
	if err != nil {
		return nil, err
	}
	var tj struct {
		Normalizer   json.RawMessage `json:"normalizer"`
		PreTokenizer json.RawMessage `json:"pre_tokenizer"`
		AddedTokens  []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
			Special bool   `json:"special"`
		} `json:"added_tokens"`
		Model struct {
			Vocab        map[string]int    `json:"vocab"`
			Merges       []json.RawMessage `json:"merges"`
			ByteFallback bool              `json:"byte_fallback"`
			UnkToken     string            `json:"unk_token"`
		} `json:"model"`
	}
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	norm := string(tj.Normalizer)
	if !tj.Model.ByteFallback || !strings.Contains(norm, `"Prepend"`) || !strings.Contains(norm, "\u2581") && !strings.Contains(norm, `\u2581`) {
		return nil, fmt.Errorf("tokenizer %s: BPE tokenizer.json without byte_fallback and a Prepend(\"▁\")/Replace(\" \", \"▁\") normalizer has no llama.cpp form hift can write", path)
	}
	if len(tj.PreTokenizer) > 0 && string(tj.PreTokenizer) != "null" {
		return nil, fmt.Errorf("tokenizer %s: SentencePiece-style BPE with a pre_tokenizer (%s) has no llama.cpp form hift can write", path, truncateJSON(tj.PreTokenizer))
	}
	n := t.VocabSize()
	tokens := make([]string, n)
	scores := make([]float32, n)
	types := make([]int32, n)
	for tok, id := range tj.Model.Vocab {
		if id >= 0 && id < n {
			tokens[id], types[id], scores[id] = tok, 1, float32(-1e6-float64(id))
			if bytePiece.MatchString(tok) {
				types[id] = 6
			}
		}
	}
	for rank, m := range tj.Model.Merges {
		a, b, err := parseMerge(m)
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: merge: %w", path, err)
		}
		if id, ok := tj.Model.Vocab[a+b]; ok && id < n && scores[id] <= -1e6 {
			scores[id] = float32(-rank)
		}
	}
	if id, ok := tj.Model.Vocab[tj.Model.UnkToken]; ok && id < n {
		types[id] = 2
	}
	for _, a := range tj.AddedTokens {
		if a.ID >= 0 && a.ID < n {
			tokens[a.ID] = a.Content
			if a.Special {
				types[a.ID] = 3
			} else {
				types[a.ID] = 4
			}
			if a.Content == tj.Model.UnkToken {
				types[a.ID] = 2
			}
		}
	}
	for id := range tokens {
		if tokens[id] == "" {
			tokens[id], types[id] = fmt.Sprintf("[PAD%d]", id), 5
		}
	}
	kvs := []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: "llama"},
		{Key: "tokenizer.ggml.pre", Value: "default"},
		{Key: "tokenizer.ggml.tokens", Value: tokens},
		{Key: "tokenizer.ggml.scores", Value: scores},
		{Key: "tokenizer.ggml.token_type", Value: types},
		{Key: "tokenizer.ggml.add_space_prefix", Value: true},
	}
	return append(kvs, t.ggufSpecialKVs(n, t.BOS(), t.EOS(), t.unk, t.PAD())...), nil
}
