package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
)

// loadGGUFWPM reads a GGUF vocabulary of tokenizer.ggml.model "bert" (WordPiece in llama.cpp's phantom-space
// form) into a Tokenizer that tokenizes as llama.cpp's WPM tokenizer does with that file (gguf_wpm_llamacpp.go):
// Encode(text, false) is llama_tokenize(text, add_special=false, parse_special=true); with addSpecial the ids
// are framed by [CLS] (tokenizer.ggml.bos_token_id, default 101) and [SEP] (seperator_token_id, default 102).
// Token/TokenID and decoding use the HF spelling ("##x" for a continuation, "x" for a word start).
func loadGGUFWPM(kv map[string]any, path string) (*Tokenizer, error) {
	v, err := newSPMWPMVocab(kv, path, true)
	if err != nil {
		return nil, err
	}
	tj, err := wpmTokenizerJSON(v)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return ggufLlamaCppTokenizer(v, tj, path, func(hf model) model { return &llamaWPMModel{spmWPMVocab: v, hf: hf} })
}

// llamaWPMModel tokenizes with llama.cpp's WPM and names tokens in HF's WordPiece spelling.
type llamaWPMModel struct {
	*spmWPMVocab
	hf model
}

func (m *llamaWPMModel) tokenToID(tok string) (int, bool) {
	if id, ok := m.hf.tokenToID(tok); ok {
		return id, true
	}
	return m.spmWPMVocab.tokenToID(tok)
}

func (m *llamaWPMModel) idToToken(id int) (string, bool) {
	if s, ok := m.hf.idToToken(id); ok {
		return s, true
	}
	return m.spmWPMVocab.idToToken(id)
}

// tokenizerJSONFromGGUFWPM rebuilds an HF tokenizer.json (WordPiece) from a "bert" GGUF vocabulary.
func tokenizerJSONFromGGUFWPM(kv map[string]any, path string) ([]byte, error) {
	v, err := newSPMWPMVocab(kv, path, true)
	if err != nil {
		return nil, err
	}
	tj, err := wpmTokenizerJSON(v)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return json.MarshalIndent(tj, "", "  ")
}

// wpmUnphantom turns a GGUF "bert" token back into its WordPiece spelling, inverting the converter's phantom
// space: "[...]" stays, "▁x" is the word-initial "x", any other "x" the continuation "##x".
func wpmUnphantom(s string) string {
	switch {
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		return s
	case strings.HasPrefix(s, "\u2581") && len(s) > len("\u2581"):
		return s[len("\u2581"):]
	}
	return "##" + s
}

// wpmNormalizer is BertNormalizer with Replace steps around it that bring HF's preprocessing to llama.cpp's
// where a regex can: \v, \f and U+0085 become spaces first (llama.cpp splits words there, BertNormalizer
// would delete them); when accents are stripped, spacing and enclosing marks (Mc, Me) are removed after it
// (llama.cpp strips every M, BertNormalizer only Mn) and so are Hangul vowel and final jamo (llama.cpp keeps
// only the first code point of a syllable's decomposition). What stays different: code points unassigned in
// Unicode (BertNormalizer deletes them, llama.cpp keeps them), conjoining jamo U+1160-U+11FF typed as such,
// and characters whose lowercase is longer than one code point (İ).
func wpmNormalizer(v *spmWPMVocab) map[string]any {
	replace := func(re, with string) any {
		return map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": re}, "content": with}
	}
	steps := []any{replace("[\u000b\u000c\u0085]", " "),
		map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
			"strip_accents": v.stripAccents, "lowercase": v.lowercase}}
	if v.stripAccents {
		steps = append(steps, replace("[\\p{Mc}\\p{Me}]", ""), replace("[\u1160-\u11ff]", ""))
	}
	return map[string]any{"type": "Sequence", "normalizers": steps}
}

// wpmHFSpelling is the tokenizer.json spelling of a GGUF "bert" token: the GGUF text for the tokens llama.cpp
// partitions out of the raw text (added tokens, matched as written), else wpmUnphantom's.
func (v *spmWPMVocab) wpmHFSpelling(id int) string {
	if v.attrs[id]&(lcAttrControl|lcAttrUserDefined|lcAttrUnknown) != 0 {
		return v.tokens[id]
	}
	return wpmUnphantom(v.tokens[id])
}

// wpmTokenizerJSON is a BERT tokenizer.json over the un-phantomed vocabulary: BertNormalizer (lowercase and
// strip_accents as the file's normalizer keys say, llama.cpp's defaults true) wrapped as wpmNormalizer says,
// BertPreTokenizer, WordPiece with "##" and no word-length limit (llama.cpp has none), [CLS] $A [SEP] (pair:
// $B:1 [SEP]:1), the WordPiece decoder.
func wpmTokenizerJSON(v *spmWPMVocab) (map[string]any, error) {
	vocab := make(map[string]int, len(v.tokens))
	for id := range v.tokens {
		hf := v.wpmHFSpelling(id)
		if old, dup := vocab[hf]; dup && old != id {
			continue // two GGUF spellings of one WordPiece token: the first id keeps it
		}
		vocab[hf] = id
	}
	if v.unk < 0 {
		return nil, fmt.Errorf("a WordPiece vocabulary needs an unknown token")
	}
	if v.bos < 0 || v.sep < 0 {
		return nil, fmt.Errorf("a WordPiece vocabulary needs [CLS] (bos_token_id) and [SEP] (seperator_token_id)")
	}
	return map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil,
		"added_tokens":   lcAddedTokens(v, func(s string) string { return s }),
		"normalizer":     wpmNormalizer(v),
		"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
		"post_processor": lcTemplatePost(v, true, v.bos, true, v.sep, true),
		"decoder":        map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model": map[string]any{"type": "WordPiece", "unk_token": v.wpmHFSpelling(v.unk),
			"continuing_subword_prefix": "##", "max_input_chars_per_word": 1 << 30, "vocab": vocab},
	}, nil
}
