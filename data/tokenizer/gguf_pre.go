package tokenizer

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hift-go/hift/io/gguf"
)

// llama.cpp's byte-level BPE pre-tokenizer types (tokenizer.ggml.pre), identified by the Split regex of
// tokenizer.json as llama.cpp's converter identifies the model families (convert_hf_to_gguf.py's
// get_vocab_base_pre hashes a tokenization; the regex is what that hash tells apart here). Each entry is
// the regex HF writes and the llama.cpp type whose regexes (llama-vocab.cpp) split text the same way.
var ggufPreByRegex = map[string]string{
	// LLaMA-3 (also Smaug-bpe's and others'): digits in groups of up to 3.
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`: "llama-bpe",
	// Qwen2 / Qwen2.5 / Qwen3: single digits.
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`: "qwen2",
	// GPT-2's regex written out as a Split (some converted GPT-2-style tokenizers).
	`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`: "gpt-2",
}

// ggufPre returns tokenizer.ggml.pre for a byte-level BPE tokenizer.json's pre_tokenizer (and its model's
// ignore_merges), or an error naming a pre-tokenizer llama.cpp would split differently (never a file that
// tokenizes otherwise). Besides HF's own regexes it knows every pre type in the form hift's GGUF import writes
// (hfPreTokenizer), so a GGUF imported by hift exports again (round trip twice) under an equivalent type.
func ggufPre(raw json.RawMessage, ignoreMerges bool) (string, error) {
	var pt struct {
		Type          string            `json:"type"`
		UseRegex      *bool             `json:"use_regex"`
		AddPrefix     bool              `json:"add_prefix_space"`
		Pretokenizers []json.RawMessage `json:"pretokenizers"`
		Pattern       struct {
			Regex string `json:"Regex"`
		} `json:"pattern"`
	}
	if err := json.Unmarshal(raw, &pt); err != nil {
		return "", err
	}
	switch pt.Type {
	case "ByteLevel":
		if pt.AddPrefix {
			return "", fmt.Errorf("ByteLevel add_prefix_space: llama.cpp's BPE never adds a prefix space")
		}
		if pt.UseRegex == nil || *pt.UseRegex {
			return "gpt-2", nil
		}
		return "", fmt.Errorf("ByteLevel without a regex: no llama.cpp pre-tokenizer type splits that way")
	case "Sequence":
		if regexes, ok := isolatingSplits(pt.Pretokenizers); ok {
			if len(regexes) == 1 {
				if pre, ok := ggufPreByRegex[regexes[0]]; ok {
					return pre, nil
				}
			}
			if pre, ok := ggufPreBySplits(regexes, ignoreMerges); ok {
				return pre, nil
			}
			return "", fmt.Errorf("Split regexes %s are none of the llama.cpp pre-tokenizer types hift knows (HF's llama-bpe, qwen2 and gpt-2 regexes, or any type as hift's GGUF import writes it)", truncateJSON(mustJSON(regexes)))
		}
	}
	return "", fmt.Errorf("pre_tokenizer %s has no llama.cpp pre-tokenizer type hift knows", truncateJSON(raw))
}

func truncateJSON(raw json.RawMessage) string {
	if len(raw) > 200 {
		return string(raw[:200]) + "…"
	}
	return string(raw)
}

// ggufAddSpecial reports whether Encode(text, true) puts BOS first and EOS last, which is what
// tokenizer.ggml.add_bos_token / add_eos_token tell llama.cpp to do.
func (t *Tokenizer) ggufAddSpecial() (bos, eos bool) {
	with, err1 := t.Encode("a", true)
	without, err2 := t.Encode("a", false)
	if err1 != nil || err2 != nil || len(with) <= len(without) {
		return false, false
	}
	bos = t.bos >= 0 && with[0] == t.bos && (len(without) == 0 || without[0] != t.bos)
	eos = t.eos >= 0 && with[len(with)-1] == t.eos && (len(without) == 0 || without[len(without)-1] != t.eos)
	return bos, eos
}

// ggufSpecialKVs are the keys every GGUF vocabulary ends with: the special token ids that exist among its n
// tokens (bos, eos, unk, pad; -1 = none), add_bos_token/add_eos_token as Encode applies them, and the chat
// template when the tokenizer has one.
func (t *Tokenizer) ggufSpecialKVs(n, bos, eos, unk, pad int) []gguf.KV {
	var kvs []gguf.KV
	for _, s := range []struct {
		key string
		id  int
	}{{"tokenizer.ggml.bos_token_id", bos}, {"tokenizer.ggml.eos_token_id", eos}, {"tokenizer.ggml.unknown_token_id", unk}, {"tokenizer.ggml.padding_token_id", pad}} {
		if s.id >= 0 && s.id < n {
			kvs = append(kvs, gguf.KV{Key: s.key, Value: uint32(s.id)})
		}
	}
	addBOS, addEOS := t.ggufAddSpecial()
	kvs = append(kvs, gguf.KV{Key: "tokenizer.ggml.add_bos_token", Value: addBOS}, gguf.KV{Key: "tokenizer.ggml.add_eos_token", Value: addEOS})
	if t.chatTemplate != "" {
		kvs = append(kvs, gguf.KV{Key: "tokenizer.chat_template", Value: t.chatTemplate})
	}
	return kvs
}

// hfPreTokenizer is the tokenizer.json pre_tokenizer that splits as a llama.cpp pre type does: GPT-2's
// ByteLevel regex for the types that use GPT-2's regex alone, otherwise one isolating Split per llama.cpp regex,
// in llama.cpp's order, then ByteLevel without a regex. llama.cpp's GPT-2 splitter also keeps the whitespace its
// regex leaves over as words, which is GPT-2's full regex; the other regexes are written as llama.cpp runs them
// (its case-insensitive contractions spelled out as [sS], ...). HF's Oniguruma and llama.cpp's std::regex agree
// on them except for \d and \w, which are ASCII in llama.cpp (superbpe's \d only), and for non-ASCII whitespace,
// which llama.cpp turns into \v before a regex without \p{..} sees it (hfWideRegex).
func hfPreTokenizer(pt llamaPreType) (map[string]any, error) {
	if len(pt.regexes) == 1 && pt.regexes[0] == llamaGPT2Regex {
		return map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}, nil
	}
	var seq []any
	for _, re := range pt.regexes {
		switch re {
		case llamaGPT2Regex:
			re = gpt2Regex
		case llamaAFMoEDigits, llamaAyaDigits:
			// llama.cpp's digit grouper: every run of \p{N} in threes from the right (tiny_aya's own regex would
			// not group digits followed by a letter, as in "1314151天")
			re = `\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N}))`
		case llamaKimiK2: // what llama.cpp's Kimi-K2 splitter does, with its Han blocks
			han := "["
			for _, b := range hanBlocks {
				han += string(b[0]) + "-" + string(b[1])
			}
			han += "]"
			re = han + `+|[^\r\n\p{L}\p{N}]?(?:(?!` + han + `)\p{L})+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
		}
		seq = append(seq, map[string]any{"type": "Split", "pattern": map[string]any{"Regex": hfWideRegex(re)}, "behavior": "Isolated", "invert": false})
	}
	seq = append(seq, map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false})
	return map[string]any{"type": "Sequence", "pretokenizers": seq}, nil
}

// nonASCIISpace is the non-ASCII whitespace llama.cpp replaces by \v before matching a regex without \p{..}.
const nonASCIISpace = "\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"

// hfWideRegex makes a regex llama.cpp runs on its whitespace-replaced text (non-ASCII, no \p{..}) match the same
// in HF: a bracket class with non-ASCII ranges no longer matches non-ASCII whitespace (deepseek's [一-龥ࠀ-一가-퟿]
// spans U+2000–U+3000, but llama.cpp sees those spaces as \v).
func hfWideRegex(e string) string {
	if usesCategories(e) || !hasNonASCII(e) {
		return e
	}
	var b strings.Builder
	rs := []rune(e)
	for i := 0; i < len(rs); i++ {
		if rs[i] == '\\' && i+1 < len(rs) {
			b.WriteRune(rs[i])
			b.WriteRune(rs[i+1])
			i++
			continue
		}
		if rs[i] != '[' {
			b.WriteRune(rs[i])
			continue
		}
		j := i + 1
		for j < len(rs) && rs[j] != ']' {
			if rs[j] == '\\' {
				j++
			}
			j++
		}
		class := string(rs[i:min(j+1, len(rs))])
		if strings.HasPrefix(class, "[^") || !hasNonASCII(class) {
			b.WriteString(class)
		} else {
			b.WriteString("(?:(?![" + nonASCIISpace + "])" + class + ")")
		}
		i = j
	}
	return b.String()
}

func hasNonASCII(s string) bool {
	for _, r := range s {
		if r >= 0x80 {
			return true
		}
	}
	return false
}

// isolatingSplits returns the regexes of a Sequence pre_tokenizer made of isolating Splits and a final ByteLevel
// without regex or prefix space: the form llama.cpp's splitting takes in a tokenizer.json.
func isolatingSplits(pretoks []json.RawMessage) ([]string, bool) {
	if len(pretoks) < 2 {
		return nil, false
	}
	var bl struct {
		Type     string `json:"type"`
		UseRegex bool   `json:"use_regex"`
		AddPfx   bool   `json:"add_prefix_space"`
	}
	if json.Unmarshal(pretoks[len(pretoks)-1], &bl) != nil || bl.Type != "ByteLevel" || bl.UseRegex || bl.AddPfx {
		return nil, false
	}
	var regexes []string
	for _, raw := range pretoks[:len(pretoks)-1] {
		var split struct {
			Type     string `json:"type"`
			Behavior string `json:"behavior"`
			Invert   bool   `json:"invert"`
			Pattern  struct {
				Regex *string `json:"Regex"`
			} `json:"pattern"`
		}
		if json.Unmarshal(raw, &split) != nil || split.Type != "Split" || split.Behavior != "Isolated" || split.Invert || split.Pattern.Regex == nil {
			return nil, false
		}
		regexes = append(regexes, *split.Pattern.Regex)
	}
	return regexes, true
}

// ggufPrePreferred is the pre name written for a llama.cpp type several names share (the one HF's regexes
// map to, for the same file either way); other types take their alphabetically first name.
var ggufPrePreferred = map[string]string{"LLAMA3": "llama-bpe", "QWEN2": "qwen2", "GPT2": "gpt-2", "SMAUG": "smaug-bpe", "STARCODER": "starcoder"}

// ggufPreBySplits finds the pre type whose pre_tokenizer, as hfPreTokenizer writes it, has exactly these Split
// regexes and whose ignore_merges agrees; types that clear the BOS id (chatglm) only when nothing else fits.
func ggufPreBySplits(regexes []string, ignoreMerges bool) (string, bool) {
	best := ""
	rank := func(name string) int {
		pt := llamaPreTypes[name]
		switch {
		case ggufPrePreferred[pt.name] == name:
			return 0
		case !pt.noBOS:
			return 1
		}
		return 2
	}
	for name, pt := range llamaPreTypes {
		if name == "" || pt.ignoreMerges != ignoreMerges {
			continue
		}
		hf, err := hfPreTokenizer(pt)
		if err != nil || !slices.Equal(hfSplitRegexes(hf), regexes) {
			continue
		}
		if best == "" || rank(name) < rank(best) || (rank(name) == rank(best) && name < best) {
			best = name
		}
	}
	return best, best != ""
}

// hfSplitRegexes lists the Split regexes of a pre_tokenizer map hfPreTokenizer built.
func hfSplitRegexes(pt map[string]any) []string {
	seq, _ := pt["pretokenizers"].([]any)
	var out []string
	for _, p := range seq {
		m, _ := p.(map[string]any)
		if m["type"] != "Split" {
			continue
		}
		pat, _ := m["pattern"].(map[string]any)
		re, _ := pat["Regex"].(string)
		out = append(out, re)
	}
	return out
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
