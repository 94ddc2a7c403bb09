package tokenizer

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"
)

// loadGGUFSPM reads a GGUF vocabulary of tokenizer.ggml.model "llama" (SentencePiece: pieces, scores, token
// types) into a Tokenizer that tokenizes as llama.cpp's SPM tokenizer does with that file: Encode(text, false)
// is llama_tokenize(text, add_special=false, parse_special=true), with addSpecial BOS/EOS are added as the
// file's add_bos_token/add_eos_token say (llama.cpp defaults: BOS yes, EOS no). Decoding and the id ↔ token
// maps come from the tokenizer.json tokenizerJSONFromGGUFSPM rebuilds.
func loadGGUFSPM(kv map[string]any, path string) (*Tokenizer, error) {
	v, err := newSPMWPMVocab(kv, path, false)
	if err != nil {
		return nil, err
	}
	tj, err := spmTokenizerJSON(v)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return ggufLlamaCppTokenizer(v, tj, path, nil)
}

// ggufLlamaCppTokenizer builds the Tokenizer of an HF tokenizer.json rebuilt from a GGUF vocabulary and puts
// llama.cpp's tokenization in place of HF's: the vocabulary gets the whole text (no added-token matching,
// normalizer or pre-tokenizer on hift's side) and partitions special tokens itself. The post-processor
// (BOS/EOS, [CLS]/[SEP]) and the decoder stay those of the tokenizer.json.
// wrap, if not nil, wraps the vocabulary given the tokenizer.json's own model.
func ggufLlamaCppTokenizer(v *spmWPMVocab, tj map[string]any, path string, wrap func(hf model) model) (*Tokenizer, error) {
	raw, err := json.Marshal(tj)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	tok, err := FromJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	if wrap != nil {
		tok.model = wrap(tok.model)
	} else {
		tok.model = v
	}
	tok.norm, tok.pre = nil, nil
	tok.added.raw, tok.added.norm = newTrie(), newTrie()
	tok.path = path
	tok.bos, tok.eos, tok.unk, tok.pad = v.bos, v.eos, v.unk, v.pad
	if v.wpm {
		tok.bos, tok.eos = v.bos, v.sep // [CLS], [SEP]
	}
	return tok, nil
}

// tokenizerJSONFromGGUFSPM rebuilds an HF tokenizer.json from a "llama" (SentencePiece) GGUF vocabulary.
func tokenizerJSONFromGGUFSPM(kv map[string]any, path string) ([]byte, error) {
	v, err := newSPMWPMVocab(kv, path, false)
	if err != nil {
		return nil, err
	}
	tj, err := spmTokenizerJSON(v)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return json.MarshalIndent(tj, "", "  ")
}

// spmTokenizerJSON is the tokenizer.json transformers' LlamaConverter (SpmConverter, legacy) writes for a
// SentencePiece BPE model: a BPE model with byte_fallback over every piece, merges derived from the scores
// (every split of a piece into two pieces, highest-scoring result first, as generate_merges orders them), a
// Prepend("▁") + Replace(" ", "▁") normalizer (Replace only without add_space_prefix), no pre-tokenizer,
// BOS/EOS by add_bos_token/add_eos_token, and the Replace/ByteFallback/Fuse/Strip decoder. The tokens
// llama.cpp cuts out before tokenizing (control, unknown: special; user-defined: not) are added tokens
// matched on the raw text, with llama.cpp's lstrip/rstrip.
func spmTokenizerJSON(v *spmWPMVocab) (map[string]any, error) {
	vocab := maps.Clone(v.ids) // token texts are unique (newSPMWPMVocab)
	type merge struct {
		l, r       string
		score      float32
		id, li, ri int
	}
	var merges []merge
	for s, id := range vocab {
		for i := 1; i < len(s); i++ {
			if !utf8.RuneStart(s[i]) {
				continue
			}
			li, okL := vocab[s[:i]]
			ri, okR := vocab[s[i:]]
			if okL && okR {
				merges = append(merges, merge{s[:i], s[i:], v.scores[id], id, li, ri})
			}
		}
	}
	slices.SortFunc(merges, func(a, b merge) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.id, b.id); c != 0 {
			return c
		}
		if c := cmp.Compare(a.li, b.li); c != 0 {
			return c
		}
		return cmp.Compare(a.ri, b.ri)
	})
	ms := make([][2]string, len(merges))
	for i, m := range merges {
		ms[i] = [2]string{m.l, m.r}
	}
	var norm any = map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "\u2581"}
	decoders := []any{
		map[string]any{"type": "Replace", "pattern": map[string]any{"String": "\u2581"}, "content": " "},
		map[string]any{"type": "ByteFallback"},
		map[string]any{"type": "Fuse"},
	}
	if v.addSpacePrefix {
		norm = map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Prepend", "prepend": "\u2581"}, norm}}
		decoders = append(decoders, map[string]any{"type": "Strip", "content": " ", "start": 1, "stop": 0})
	}
	var unk any
	if v.unk >= 0 {
		unk = v.tokens[v.unk]
	}
	var post any
	if (v.addBOS && v.bos >= 0) || (v.addEOS && v.eos >= 0) {
		post = lcTemplatePost(v, v.addBOS, v.bos, v.addEOS, v.eos, false)
	}
	return map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil,
		"added_tokens":   lcAddedTokens(v, func(s string) string { return s }),
		"normalizer":     norm,
		"pre_tokenizer":  nil,
		"post_processor": post,
		"decoder":        map[string]any{"type": "Sequence", "decoders": decoders},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": unk, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
			"vocab": vocab, "merges": ms},
	}, nil
}

// lcAddedTokens are the tokens llama.cpp partitions out of the text (its special-token cache), in id
// order: special for control and unknown tokens, matched on the raw text (normalized false), lstrip/rstrip as
// llama.cpp sets them. content maps the GGUF text to the tokenizer.json spelling.
func lcAddedTokens(v *spmWPMVocab, content func(string) string) []any {
	ids := slices.Clone(v.special)
	slices.Sort(ids)
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		a := v.attrs[id]
		out = append(out, map[string]any{"id": id, "content": content(v.tokens[id]), "single_word": false,
			"lstrip": a&lcAttrLStrip != 0, "rstrip": a&lcAttrRStrip != 0, "normalized": false,
			"special": a&(lcAttrControl|lcAttrUnknown) != 0})
	}
	return out
}

// lcTemplatePost is a TemplateProcessing post-processor: [first] $A [last] (and, for pairs, $B:1 [last]:1 when
// pairLast, else [first] $A [last] $B:1, as LlamaTokenizerFast's template).
func lcTemplatePost(v *spmWPMVocab, addFirst bool, first int, addLast bool, last int, bert bool) map[string]any {
	special := map[string]any{}
	piece := func(id, typ int) any {
		s := v.tokens[id]
		special[s] = map[string]any{"id": s, "ids": []int{id}, "tokens": []string{s}}
		return map[string]any{"SpecialToken": map[string]any{"id": s, "type_id": typ}}
	}
	seq := func(name string, typ int) any {
		return map[string]any{"Sequence": map[string]any{"id": name, "type_id": typ}}
	}
	var single, pair []any
	if addFirst && first >= 0 {
		single = append(single, piece(first, 0))
	}
	single = append(single, seq("A", 0))
	if addLast && last >= 0 {
		single = append(single, piece(last, 0))
	}
	pair = slices.Clone(single)
	if bert {
		pair = append(pair, seq("B", 1))
		if addLast && last >= 0 {
			pair = append(pair, piece(last, 1))
		}
	} else {
		if addFirst && first >= 0 {
			pair = append(pair, piece(first, 1))
		}
		pair = append(pair, seq("B", 1))
		if addLast && last >= 0 {
			pair = append(pair, piece(last, 1))
		}
	}
	return map[string]any{"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": special}
}
