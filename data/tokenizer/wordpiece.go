package tokenizer

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// wordPiece is HF's WordPiece model: greedy longest-match-first over the word, continuation pieces spelled with
// the prefix (##); a word with an unmatchable remainder, or longer than max_input_chars_per_word characters,
// becomes the single unk token.
type wordPiece struct {
	vocab    map[string]int
	vocabR   reverseVocab
	unkID    int
	prefix   string
	maxChars int
	maxLen   int // longest vocabulary entry in bytes, bounds the longest-match search
}

type wordPieceJSON struct {
	Vocab                   map[string]int `json:"vocab"`
	UnkToken                string         `json:"unk_token"`
	ContinuingSubwordPrefix *string        `json:"continuing_subword_prefix"`
	MaxInputCharsPerWord    *int           `json:"max_input_chars_per_word"`
}

func newWordPiece(raw json.RawMessage) (*wordPiece, error) {
	var j wordPieceJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("WordPiece model: %w", err)
	}
	m := &wordPiece{vocab: j.Vocab, prefix: "##", maxChars: 100}
	if j.ContinuingSubwordPrefix != nil {
		m.prefix = *j.ContinuingSubwordPrefix
	}
	if j.MaxInputCharsPerWord != nil {
		m.maxChars = *j.MaxInputCharsPerWord
	}
	if j.UnkToken == "" {
		j.UnkToken = "[UNK]"
	}
	id, ok := m.vocab[j.UnkToken]
	if !ok {
		return nil, fmt.Errorf("WordPiece model: unk_token %q is not in the vocabulary", j.UnkToken)
	}
	m.unkID = id
	for tok := range m.vocab {
		m.maxLen = max(m.maxLen, len(tok))
	}
	var err error
	if m.vocabR, err = newReverseVocab(m.vocab); err != nil {
		return nil, fmt.Errorf("WordPiece model: %w", err)
	}
	return m, nil
}

func (m *wordPiece) tokenize(word string, dst []int) ([]int, error) {
	if utf8.RuneCountInString(word) > m.maxChars {
		return append(dst, m.unkID), nil
	}
	start0 := len(dst)
	buf := make([]byte, 0, len(m.prefix)+len(word))
	for start := 0; start < len(word); {
		end := len(word)
		if lim := start + m.maxLen; lim < end {
			end = lim
			for end > start && !utf8.RuneStart(word[end]) {
				end--
			}
		}
		found := -1
		for end > start {
			var key []byte
			if start > 0 {
				key = append(append(buf[:0], m.prefix...), word[start:end]...)
			} else {
				key = append(buf[:0], word[start:end]...)
			}
			if id, ok := m.vocab[string(key)]; ok {
				found = id
				break
			}
			_, w := utf8.DecodeLastRuneInString(word[start:end])
			end -= w
		}
		if found < 0 {
			return append(dst[:start0], m.unkID), nil
		}
		dst = append(dst, found)
		start = end
	}
	return dst, nil
}

func (m *wordPiece) tokenToID(tok string) (int, bool) {
	id, ok := m.vocab[tok]
	return id, ok
}

func (m *wordPiece) idToToken(id int) (string, bool) { return m.vocabR.get(id) }

func (m *wordPiece) maxID() int { return m.vocabR.max }

func (m *wordPiece) size() int { return len(m.vocab) }
