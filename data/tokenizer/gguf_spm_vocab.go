package tokenizer

import (
	"fmt"
	"slices"
	"strings"
)

// spmWPMVocab is a GGUF vocabulary as llama.cpp's llama_vocab::impl::load reads it for the "llama" (SPM) and
// "bert" (WPM) tokenizer models: tokens by id (an empty one is renamed "[EMPTY_<id>]"; a text twice is refused,
// as llama.cpp aborts on it), scores, per-token attributes from tokenizer.ggml.token_type plus llama.cpp's
// overrides by token text, the special-token cache (control, user-defined and unknown tokens, longest first)
// and the special ids with llama.cpp's defaults for the model. It implements model, so that a Tokenizer whose
// pre-tokenizer, normalizer and added-token matching are off hands it the whole text (see encode).
type spmWPMVocab struct {
	tokenTable
	wpm    bool // "bert" (WordPiece); else "llama" (SentencePiece)
	scores []float32
	attrs  []uint32
	maxLen int // longest token in bytes

	special []int // cache_special_tokens: control/user-defined/unknown ids, longest text first

	bos, eos, unk, sep, pad, mask int // -1: none
	addBOS, addEOS, addSep        bool
	addSpacePrefix                bool
	lowercase, stripAccents       bool // WordPiece normalizer options
}

// llama.cpp's token attributes (llama_token_attr).
const (
	lcAttrUnknown     = 1 << 0
	lcAttrUnused      = 1 << 1
	lcAttrNormal      = 1 << 2
	lcAttrControl     = 1 << 3
	lcAttrUserDefined = 1 << 4
	lcAttrByte        = 1 << 5
	lcAttrLStrip      = 1 << 7
	lcAttrRStrip      = 1 << 8
)

// GGUF token types (llama_token_type / SentencePiece piece types).
const (
	lcTypeNormal      = 1
	lcTypeUnknown     = 2
	lcTypeControl     = 3
	lcTypeUserDefined = 4
	lcTypeUnused      = 5
	lcTypeByte        = 6
)

func lcAttrOfType(typ int) uint32 {
	switch typ {
	case lcTypeNormal:
		return lcAttrNormal
	case lcTypeUnknown:
		return lcAttrUnknown
	case lcTypeControl:
		return lcAttrControl
	case lcTypeUserDefined:
		return lcAttrUserDefined
	case lcTypeUnused:
		return lcAttrUnused
	case lcTypeByte:
		return lcAttrByte
	}
	return 0 // undefined
}

// lcKVInt reads an integer GGUF value of any width.
func lcKVInt(kv map[string]any, key string) (int64, bool) {
	switch v := kv[key].(type) {
	case uint8:
		return int64(v), true
	case int8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case int16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case int32:
		return int64(v), true
	case uint64:
		return int64(v), true
	case int64:
		return v, true
	}
	return 0, false
}

func lcKVBool(kv map[string]any, key string, def bool) bool {
	if b, ok := kv[key].(bool); ok {
		return b
	}
	return def
}

// Texts llama.cpp turns into control tokens whatever their type says (llama-vocab.cpp, "control-looking
// token"): end-of-generation markers, and the fill-in-the-middle markers of each kind when the file sets no id
// for that kind.
var (
	lcEOGTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
		"<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
		"<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["}
	lcFIMTexts = []struct {
		key   string
		texts []string
	}{
		{"fim_pre_token_id", []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"}},
		{"fim_suf_token_id", []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"}},
		{"fim_mid_token_id", []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"}},
		{"fim_pad_token_id", []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}},
		{"fim_rep_token_id", []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}},
		{"fim_sep_token_id", []string{"<|file_sep|>"}},
	}
)

// newSPMWPMVocab reads the tokenizer.ggml.* keys of a "llama" or "bert" GGUF vocabulary.
func newSPMWPMVocab(kv map[string]any, path string, wpm bool) (*spmWPMVocab, error) {
	toks, _ := kv["tokenizer.ggml.tokens"].([]any)
	if len(toks) == 0 {
		return nil, fmt.Errorf("tokenizer: %s: no tokenizer.ggml.tokens", path)
	}
	n := len(toks)
	v := &spmWPMVocab{tokenTable: tokenTable{tokens: make([]string, n), ids: make(map[string]int, n)}, wpm: wpm,
		scores: make([]float32, n), attrs: make([]uint32, n), lowercase: true}
	scores, hasScores := kv["tokenizer.ggml.scores"].([]any)
	if hasScores && len(scores) < n {
		return nil, fmt.Errorf("tokenizer: %s: %d tokenizer.ggml.scores for %d tokens", path, len(scores), n)
	}
	types, hasTypes := kv["tokenizer.ggml.token_type"].([]any)
	if hasTypes && len(types) < n {
		return nil, fmt.Errorf("tokenizer: %s: %d tokenizer.ggml.token_type for %d tokens", path, len(types), n)
	}
	for i, t := range toks {
		s, ok := t.(string)
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: tokenizer.ggml.tokens[%d] is %T, not a string", path, i, t)
		}
		if s == "" {
			s = fmt.Sprintf("[EMPTY_%d]", i)
		}
		if j, dup := v.ids[s]; dup {
			// llama.cpp aborts on such a file (GGML_ASSERT id_to_token.size() == token_to_id.size()).
			return nil, fmt.Errorf("tokenizer: %s: token %q appears twice in tokenizer.ggml.tokens (ids %d and %d); llama.cpp cannot load this vocabulary", path, s, j, i)
		}
		v.tokens[i] = s
		v.ids[s] = i
		v.maxLen = max(v.maxLen, len(s))
		if hasScores {
			switch x := scores[i].(type) {
			case float32:
				v.scores[i] = x
			case int32:
				v.scores[i] = float32(x)
			default:
				return nil, fmt.Errorf("tokenizer: %s: tokenizer.ggml.scores[%d] is %T", path, i, x)
			}
		}
		v.attrs[i] = lcAttrNormal
		if hasTypes {
			typ, ok := types[i].(int32)
			if !ok {
				return nil, fmt.Errorf("tokenizer: %s: tokenizer.ggml.token_type[%d] is %T, not int32", path, i, types[i])
			}
			v.attrs[i] = lcAttrOfType(int(typ))
		}
	}

	// Defaults of llama.cpp for the model, then the file's keys.
	if wpm {
		v.bos, v.eos, v.unk, v.sep, v.pad, v.mask = 101, -1, 100, 102, 0, 103
		v.addBOS, v.addSep = true, true
	} else {
		v.bos, v.eos, v.unk, v.sep, v.pad, v.mask = 1, 2, 0, -1, -1, -1
		v.addBOS, v.addSpacePrefix = true, true
	}
	for _, s := range []struct {
		key string
		id  *int
	}{{"bos_token_id", &v.bos}, {"eos_token_id", &v.eos}, {"unknown_token_id", &v.unk}, {"seperator_token_id", &v.sep},
		{"padding_token_id", &v.pad}, {"mask_token_id", &v.mask}} {
		if *s.id >= n {
			*s.id = -1
		}
		if id, ok := lcKVInt(kv, "tokenizer.ggml."+s.key); ok && id >= 0 && id < int64(n) {
			*s.id = int(id)
		}
	}
	v.addSpacePrefix = lcKVBool(kv, "tokenizer.ggml.add_space_prefix", v.addSpacePrefix)
	v.addBOS = lcKVBool(kv, "tokenizer.ggml.add_bos_token", v.addBOS)
	v.addEOS = lcKVBool(kv, "tokenizer.ggml.add_eos_token", v.addEOS)
	v.addSep = lcKVBool(kv, "tokenizer.ggml.add_sep_token", v.addSep)
	v.lowercase = lcKVBool(kv, "tokenizer.ggml.normalizer.lowercase", true)
	v.stripAccents = lcKVBool(kv, "tokenizer.ggml.normalizer.strip_accents", v.lowercase)
	if wpm && v.unk < 0 {
		return nil, fmt.Errorf("tokenizer: %s: a WordPiece (bert) vocabulary needs an unknown token (tokenizer.ggml.unknown_token_id, default 100)", path)
	}
	if wpm && (v.bos < 0 || v.sep < 0) {
		return nil, fmt.Errorf("tokenizer: %s: a WordPiece (bert) vocabulary needs [CLS] and [SEP] (tokenizer.ggml.bos_token_id and seperator_token_id, defaults 101 and 102)", path)
	}
	if v.addBOS && v.bos < 0 {
		return nil, fmt.Errorf("tokenizer: %s: add_bos_token is true but there is no BOS token", path)
	}
	if v.addEOS && v.eos < 0 {
		return nil, fmt.Errorf("tokenizer: %s: add_eos_token is true but there is no EOS token", path)
	}
	v.overrideAttrs(kv)
	return v, nil
}

// overrideAttrs applies llama.cpp's attribute fix-ups by token text and model name, in its order.
func (v *spmWPMVocab) overrideAttrs(kv map[string]any) {
	id := func(s string) int {
		if i, ok := v.ids[s]; ok {
			return i
		}
		return -1
	}
	for _, f := range lcFIMTexts {
		if _, set := lcKVInt(kv, "tokenizer.ggml."+f.key); set {
			continue
		}
		// llama.cpp takes the first candidate its hash map yields; with several in one vocabulary that is
		// unspecified, hift takes the lowest id.
		best := -1
		for _, s := range f.texts {
			if i := id(s); i >= 0 && (best < 0 || i < best) {
				best = i
			}
		}
		if best >= 0 {
			v.attrs[best] |= lcAttrControl
		}
	}
	eog := map[string]int{}
	for _, s := range lcEOGTexts {
		if i := id(s); i >= 0 {
			v.attrs[i] |= lcAttrControl
			eog[s] = i
		}
	}
	for _, s := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} {
		if i := id(s); i >= 0 {
			v.attrs[i] = lcAttrUserDefined
		}
	}
	_, ret := eog["<|return|>"]
	_, call := eog["<|call|>"]
	_, calls := eog["<|calls|>"]
	_, flush := eog["<|flush|>"]
	if end, ok := eog["<|end|>"]; ok && (ret && (call || calls) || (call || calls) && flush) {
		v.attrs[end] = lcAttrUserDefined
	}
	if s, ok := eog["</s>"]; ok {
		if _, tr := eog["<|tool_response>"]; tr {
			v.attrs[s] = lcAttrNormal
		}
	}

	for i, a := range v.attrs {
		if a&(lcAttrControl|lcAttrUserDefined|lcAttrUnknown) != 0 {
			v.special = append(v.special, i)
		}
	}
	slices.SortStableFunc(v.special, func(a, b int) int { return len(v.tokens[b]) - len(v.tokens[a]) })

	name, _ := kv["general.name"].(string)
	name = strings.ToLower(name)
	pre, _ := kv["tokenizer.ggml.pre"].(string)
	arch, _ := kv["general.architecture"].(string)
	switch {
	case lcContainsAny(pre, "jina-v2-de", "jina-v2-es", "jina-v2-code") || lcContainsAny(arch, "nomic-bert-moe", "jina-bert-v3"):
		if i := id("<mask>"); i >= 0 {
			v.attrs[i] |= lcAttrLStrip
		}
	case lcContainsAny(name, "phi-3", "phi3"):
		for _, i := range v.special {
			v.attrs[i] |= lcAttrRStrip
		}
		if i := id("</s>"); i >= 0 {
			v.attrs[i] |= lcAttrRStrip
		}
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			if i := id(s); i >= 0 {
				v.attrs[i] &^= lcAttrRStrip
			}
		}
	case lcContainsAny(name, "modern-bert"):
		if i := id("[MASK]"); i >= 0 {
			v.attrs[i] |= lcAttrLStrip
		}
	}
}

func lcContainsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// lcFragment is a piece of the text: raw text, or a special token (id >= 0).
type lcFragment struct {
	s  string
	id int
}

// partition cuts the special tokens out of text as llama.cpp's tokenizer_st_partition does: each cached
// special token in turn (longest first; control and unknown ones only when parseSpecial), at every leftmost
// non-overlapping occurrence in the raw fragments, trimming ASCII whitespace on the left/right of the token
// where it has the lstrip/rstrip attribute.
func (v *spmWPMVocab) partition(text string, parseSpecial bool) []lcFragment {
	if text == "" {
		return nil
	}
	frags := []lcFragment{{s: text, id: -1}}
	for _, sid := range v.special {
		a := v.attrs[sid]
		if !parseSpecial && a&(lcAttrControl|lcAttrUnknown) != 0 {
			continue
		}
		tok := v.tokens[sid]
		var out []lcFragment
		for _, f := range frags {
			if f.id >= 0 || !strings.Contains(f.s, tok) {
				out = append(out, f)
				continue
			}
			s := f.s
			for {
				i := strings.Index(s, tok)
				if i < 0 {
					out = append(out, lcFragment{s: s, id: -1})
					break
				}
				left := s[:i]
				if a&lcAttrLStrip != 0 {
					left = strings.TrimRight(left, lcCSpace)
				}
				if left != "" {
					out = append(out, lcFragment{s: left, id: -1})
				}
				out = append(out, lcFragment{id: sid})
				s = s[i+len(tok):]
				if a&lcAttrRStrip != 0 {
					s = strings.TrimLeft(s, lcCSpace)
				}
				if s == "" {
					break
				}
			}
		}
		frags = out
	}
	return frags
}

// lcCSpace is what C's isspace accepts.
const lcCSpace = " \t\n\v\f\r"

// encode tokenizes text as llama.cpp's llama_tokenize does, without BOS/EOS/SEP (add_special false).
func (v *spmWPMVocab) encode(text string, parseSpecial bool, dst []int) ([]int, error) {
	prevSpecial := true
	var err error
	for _, f := range v.partition(text, parseSpecial) {
		if f.id >= 0 {
			dst = append(dst, f.id)
			prevSpecial = true
			continue
		}
		if v.wpm {
			dst = v.wpmTokenize(f.s, dst)
			continue
		}
		s := f.s
		if v.addSpacePrefix && prevSpecial {
			s = " " + s
		}
		if dst, err = v.spmTokenize(strings.ReplaceAll(s, " ", "\u2581"), dst); err != nil {
			return nil, err
		}
		prevSpecial = false
	}
	return dst, nil
}

// model interface: the Tokenizer hands over the whole text (no pre-tokenizer); special tokens are parsed.
func (v *spmWPMVocab) tokenize(text string, dst []int) ([]int, error) {
	return v.encode(text, true, dst)
}

func (v *spmWPMVocab) tokenText(id int) string {
	if id < 0 || id >= len(v.tokens) {
		return ""
	}
	return v.tokens[id]
}
