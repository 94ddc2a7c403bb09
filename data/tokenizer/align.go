package tokenizer

import (
	"bytes"
	"fmt"
)

// withSpecials applies the post-processor (or SentencePiece's BOS/EOS) to one encoded sequence.
func (t *Tokenizer) withSpecials(ids []int) []int {
	if t.sp != nil {
		out := make([]int, 0, len(ids)+2)
		if t.spBOS && t.bos >= 0 {
			out = append(out, t.bos)
		}
		out = append(out, ids...)
		if t.spEOS && t.eos >= 0 {
			out = append(out, t.eos)
		}
		return out
	}
	if t.post == nil {
		return ids
	}
	return t.post.process(append([]int(nil), ids...), nil, false)
}

// spread places body's per-token values inside the special-token frame of full (specials only prepend and
// append), marking special tokens with -1.
func spread(full, body, values []int) []int {
	out := make([]int, len(full))
	for i := range out {
		out[i] = -1
	}
	for p := 0; p+len(body) <= len(full); p++ {
		match := true
		for i := range body {
			if full[p+i] != body[i] {
				match = false
				break
			}
		}
		if match {
			copy(out[p:], values)
			return out
		}
	}
	return out
}

// EncodeWords encodes pre-split words as HF does with is_split_into_words=True and reports, per token, the
// index of the word it came from (-1 for special tokens; HF's word_ids()). Each word is encoded on its own;
// byte-level BPE words get a leading space (HF requires add_prefix_space for pre-split input), and
// SentencePiece-style tokenizers mark every word as a word start.
func (t *Tokenizer) EncodeWords(words []string, addSpecial bool) (ids, wordIDs []int, err error) {
	var body, wids []int
	for i, w := range words {
		text := w
		if t.family == FamilyByteLevelBPE {
			text = " " + w
		}
		wi, err := t.encodeOne(text)
		if err != nil {
			return nil, nil, fmt.Errorf("tokenizer %s: word %d: %w", t.path, i, err)
		}
		body = append(body, wi...)
		for range wi {
			wids = append(wids, i)
		}
	}
	if !addSpecial {
		return body, wids, nil
	}
	full := t.withSpecials(body)
	return full, spread(full, body, wids), nil
}

// EncodeWithOffsets encodes text and returns each token's byte span [start, end) in text (special tokens get
// [0, 0]). Offsets are exact for byte-level BPE tokenizers, whose tokens are the text's bytes; other families
// normalise the text (lower-casing, accents, ▁) and are refused.
func (t *Tokenizer) EncodeWithOffsets(text string, addSpecial bool) (ids []int, offsets [][2]int, err error) {
	if t.family != FamilyByteLevelBPE {
		return nil, nil, fmt.Errorf("tokenizer %s: character offsets are only available for byte-level BPE tokenizers (this one is %s)", t.path, t.family)
	}
	body, err := t.encodeOne(text)
	if err != nil {
		return nil, nil, err
	}
	raw := []byte(text)
	pos := 0
	starts, ends := make([]int, len(body)), make([]int, len(body))
	for i, id := range body {
		tok, _ := t.Token(id)
		b, ok := byteLevelDecode(tok)
		if !ok {
			b = []byte(tok) // an added token is matched verbatim
		}
		// A prefix space added by the pre-tokenizer is not in the text.
		if pos == 0 && len(b) > 0 && b[0] == ' ' && !bytes.HasPrefix(raw, []byte(" ")) {
			b = b[1:]
		}
		if !bytes.HasPrefix(raw[pos:], b) {
			return nil, nil, fmt.Errorf("tokenizer %s: token %d (%q) does not match the text at byte %d", t.path, i, tok, pos)
		}
		starts[i], ends[i] = pos, pos+len(b)
		pos += len(b)
	}
	full := body
	if addSpecial {
		full = t.withSpecials(body)
	}
	index := make([]int, len(body))
	for i := range index {
		index[i] = i
	}
	where := spread(full, body, index)
	offsets = make([][2]int, len(full))
	for i, k := range where {
		if k >= 0 {
			offsets[i] = [2]int{starts[k], ends[k]}
		}
	}
	return full, offsets, nil
}
