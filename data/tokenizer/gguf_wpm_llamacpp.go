package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// llama.cpp's WordPiece tokenizer (llm_tokenizer_wpm_session), which is not HF's BertTokenizer:
//   - "NFD" maps each code point to the first code point of its NFD form (so a Hangul syllable becomes its
//     leading consonant jamo, "é" becomes "e"), only when accents are stripped;
//   - White_Space code points (also \v, \f, U+0085) end a word; NUL, U+FFFD and category C (Cc, Cf, Co, Cs)
//     code points are dropped without ending it; category M code points are dropped when stripping accents
//     (Mc and Me too, where HF drops only Mn);
//   - letters are lowercased by the simple one-code-point mapping;
//   - punctuation (P), ASCII symbols (S below U+007F) and CJK ideographs are words of their own;
//   - each word, prefixed with "▁", is matched greedily longest-first over bytes against the whole vocabulary;
//     a position with no match turns the whole word into the unknown token. There is no word-length limit.
// The tables come from Go's unicode and golang.org/x/text/unicode/norm (llama.cpp generates its own from
// UnicodeData.txt and Python's unicodedata; they agree except for code points assigned in newer Unicode
// versions than Go's).

// wpmNFDFirst is unicode_cpts_normalize_nfd for one code point.
func wpmNFDFirst(r rune) rune {
	if r < 0xC0 {
		return r
	}
	s := string(r)
	if norm.NFD.IsNormalString(s) {
		return r
	}
	first, _ := utf8.DecodeRuneInString(norm.NFD.String(s))
	return first
}

// wpmWhitespace is llama.cpp's unicode_set_whitespace (White_Space of PropList.txt).
func wpmWhitespace(r rune) bool {
	switch {
	case r >= 0x09 && r <= 0x0D, r >= 0x2000 && r <= 0x200A:
		return true
	}
	switch r {
	case 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return false
}

// wpmChinese is llama.cpp's is_chinese_char (HF's ranges, 0x2B920 as in HF).
func wpmChinese(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF || r >= 0x20000 && r <= 0x2A6DF ||
		r >= 0x2A700 && r <= 0x2B73F || r >= 0x2B740 && r <= 0x2B81F || r >= 0x2B920 && r <= 0x2CEAF ||
		r >= 0xF900 && r <= 0xFAFF || r >= 0x2F800 && r <= 0x2FA1F
}

// wpmPreprocess splits text into words as llama.cpp's WPM preprocess does.
func (v *spmWPMVocab) wpmPreprocess(text string) []string {
	var words []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	for _, r := range text { // invalid UTF-8 decodes to U+FFFD, which is dropped below
		if v.stripAccents {
			r = wpmNFDFirst(r)
		}
		if wpmWhitespace(r) {
			flush()
			continue
		}
		if r == 0 || r == utf8.RuneError || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) {
			continue
		}
		if v.stripAccents && unicode.Is(unicode.M, r) {
			continue
		}
		isolated := unicode.Is(unicode.P, r) || r < 0x7F && unicode.Is(unicode.S, r) || wpmChinese(r)
		if v.lowercase {
			r = unicode.ToLower(r)
		}
		if isolated {
			flush()
			words = append(words, string(r))
			continue
		}
		cur.WriteRune(r)
	}
	flush()
	return words
}

// wpmTokenize appends the ids of one raw fragment.
func (v *spmWPMVocab) wpmTokenize(text string, dst []int) []int {
	for _, word := range v.wpmPreprocess(text) {
		w := "\u2581" + word
		n := len(w)
		start := len(dst)
		for i := 0; i < n; i++ {
			matched := false
			for j := min(n, i+v.maxLen+1); j > i; j-- {
				if id, ok := v.ids[w[i:j]]; ok {
					dst = append(dst, id)
					matched = true
					i = j - 1
					break
				}
			}
			if !matched {
				dst = dst[:start]
				break
			}
		}
		if len(dst) == start {
			dst = append(dst, v.unk)
		}
	}
	return dst
}
