package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Character classes as the Rust side of Hugging Face tokenizers sees them. The regex engine (Oniguruma) and Rust's
// char methods use the Unicode White_Space property for \s and is_whitespace; Go's unicode.IsSpace is the same set.

// isSpace reports the White_Space property (Oniguruma's \s, Rust's char::is_whitespace).
func isSpace(r rune) bool {
	if r < 0x80 {
		return asciiClass[r]&clsSpace != 0
	}
	return unicode.IsSpace(r)
}

// isLetter reports \p{L}.
func isLetter(r rune) bool {
	if r < 0x80 {
		return asciiClass[r]&clsLetter != 0
	}
	return unicode.IsLetter(r)
}

// isNumber reports \p{N} (Nd, Nl, No); Rust's char::is_numeric is the same set.
func isNumber(r rune) bool {
	if r < 0x80 {
		return asciiClass[r]&clsDigit != 0
	}
	return unicode.IsNumber(r)
}

// isWordChar reports Oniguruma's Unicode \w: letters, marks, decimal digits and connector punctuation.
func isWordChar(r rune) bool {
	if r < 0x80 {
		return asciiClass[r]&(clsLetter|clsDigit) != 0 || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r)
}

// isPunctuation reports ASCII punctuation (every printable non-alphanumeric) or a P* category of Unicode 8.0, as
// BertPreTokenizer and the Punctuation pre-tokenizer do (the Rust unicode_categories crate has 8.0 tables).
func isPunctuation(r rune) bool {
	if r < 0x80 {
		return asciiClass[r]&clsPunct != 0
	}
	return inRanges(r, bertPunct8)
}

// inRanges reports whether r lies in one of the sorted inclusive ranges.
func inRanges(r rune, ranges [][2]rune) bool {
	lo, hi := 0, len(ranges)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case r < ranges[m][0]:
			hi = m
		case r > ranges[m][1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

const (
	clsSpace = 1 << iota
	clsLetter
	clsDigit
	clsPunct
)

// asciiClass classifies the ASCII range once, so that the hot loops never call into the unicode tables for it.
var asciiClass = func() (t [128]uint8) {
	for r := rune(0); r < 128; r++ {
		switch {
		case r == ' ' || (r >= '\t' && r <= '\r'):
			t[r] = clsSpace
		case (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
			t[r] = clsLetter
		case r >= '0' && r <= '9':
			t[r] = clsDigit
		case r > ' ' && r < 0x7f:
			// Rust's is_ascii_punctuation: every printable non-alphanumeric ASCII character.
			t[r] = clsPunct
		}
	}
	return t
}()

// byteLevelChars maps each byte to the printable rune GPT-2's bytes_to_unicode assigns it: printable Latin-1
// bytes map to themselves, the other 68 to U+0100 onwards in byte order.
var byteLevelChars, byteLevelBytes = func() (chars [256]rune, bytes map[rune]byte) {
	bytes = make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			chars[b] = rune(b)
		} else {
			chars[b] = rune(256 + n)
			n++
		}
		bytes[chars[b]] = byte(b)
	}
	return chars, bytes
}()

// byteLevelEncode maps every byte of s to its byte-level rune.
func byteLevelEncode(s string) string {
	var sb strings.Builder
	sb.Grow(2 * len(s))
	for i := 0; i < len(s); i++ {
		sb.WriteRune(byteLevelChars[s[i]])
	}
	return sb.String()
}

// byteLevelDecode maps a byte-level string back to raw bytes; ok is false if some rune is outside the alphabet.
func byteLevelDecode(s string) (raw []byte, ok bool) {
	raw = make([]byte, 0, len(s))
	for _, r := range s {
		b, found := byteLevelBytes[r]
		if !found {
			return nil, false
		}
		raw = append(raw, b)
	}
	return raw, true
}

// lossyUTF8 converts b to a string the way Rust's String::from_utf8_lossy does: every maximal invalid subpart
// becomes one U+FFFD (Go's utf8.DecodeRune would report a truncated 3-byte sequence as two errors).
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return lossyUTF8Slow(b)
}

// validUTF8 returns s unchanged when it is valid UTF-8, else lossyUTF8 of it.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return lossyUTF8Slow([]byte(s))
}

func lossyUTF8Slow(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || n > 1 {
			sb.WriteString(string(b[i : i+n]))
			i += n
			continue
		}
		sb.WriteRune(utf8.RuneError)
		i += maximalSubpart(b[i:])
	}
	return sb.String()
}

// maximalSubpart returns the length (≥ 1) of the longest prefix of b that starts a well-formed UTF-8 sequence
// but does not complete one (Unicode §3.9, "maximal subpart of an ill-formed subsequence").
func maximalSubpart(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		x := b[n]
		if k == 0 {
			if x < lo || x > hi {
				return n
			}
		} else if x < 0x80 || x > 0xBF {
			return n
		}
		n++
	}
	return n
}

// lowerRune lowercases like Rust's char::to_lowercase, which maps U+0130 to two characters.
func appendLower(sb *strings.Builder, r rune) {
	if r == 'İ' {
		sb.WriteString("i\u0307")
		return
	}
	sb.WriteRune(unicode.ToLower(r))
}
