package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// pattern finds the non-overlapping, leftmost-first matches of a Split/Replace pattern, as byte ranges.
type pattern interface {
	findAll(s string) [][2]int
}

// The three pre-tokenizer regexes of the byte-level BPE families are matched by hand-written scanners: they are
// exact transcriptions of the leftmost-first backtracking semantics and about 20× faster than a backtracking
// engine. Any other regex goes to regexp2, which (like Oniguruma in HF) supports look-around and uses Unicode
// classes for \s, \w and \d. pattern_test.go checks the scanners against regexp2 on the parity corpus.
const (
	// gpt2Regex is GPT-2's pattern, used by the ByteLevel pre-tokenizer (use_regex) and GPT-2/RoBERTa/OPT files.
	gpt2Regex = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// llama3Regex is the LLaMA-3 (tiktoken cl100k-style) pattern.
	llama3Regex = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// qwen2Regex is LLaMA-3's pattern with single digits (Qwen2, Qwen2.5, Qwen3).
	qwen2Regex = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// buildPattern decodes an HF pattern: {"String": "..."} or {"Regex": "..."}.
func buildPattern(raw json.RawMessage) (pattern, error) {
	var p struct {
		String *string
		Regex  *string
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("pattern: %w", err)
	}
	switch {
	case p.String != nil:
		return literalPattern(*p.String), nil
	case p.Regex != nil:
		return compileRegex(*p.Regex)
	default:
		return nil, fmt.Errorf("pattern: want {\"String\": ...} or {\"Regex\": ...}, got %s", raw)
	}
}

func compileRegex(expr string) (pattern, error) {
	switch expr {
	case gpt2Regex:
		return scanner{gpt2Next}, nil
	case llama3Regex:
		return scanner{func(s string, i int) int { return llamaNext(s, i, 3) }}, nil
	case qwen2Regex:
		return scanner{func(s string, i int) int { return llamaNext(s, i, 1) }}, nil
	}
	return newRegexp2Pattern(expr)
}

func newRegexp2Pattern(expr string) (pattern, error) {
	re, err := regexp2.Compile(expr, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", expr, err)
	}
	return regexp2Pattern{re}, nil
}

// literalPattern matches a fixed string.
type literalPattern string

func (p literalPattern) findAll(s string) [][2]int {
	if p == "" {
		return nil
	}
	var out [][2]int
	for off := 0; ; {
		i := strings.Index(s[off:], string(p))
		if i < 0 {
			return out
		}
		out = append(out, [2]int{off + i, off + i + len(p)})
		off += i + len(p)
	}
}

// regexp2Pattern runs any regex through regexp2, converting its rune offsets to byte offsets.
type regexp2Pattern struct{ re *regexp2.Regexp }

func (p regexp2Pattern) findAll(s string) [][2]int {
	runes := []rune(s)
	byteOff := make([]int, len(runes)+1)
	for i, r := range runes {
		byteOff[i+1] = byteOff[i] + utf8.RuneLen(r)
	}
	if !utf8.ValidString(s) {
		// []rune replaced invalid bytes by U+FFFD; fall back to one rune per original byte sequence.
		off := 0
		for i := range runes {
			_, n := utf8.DecodeRuneInString(s[off:])
			off += n
			byteOff[i+1] = off
		}
	}
	var out [][2]int
	m, err := p.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		out = append(out, [2]int{byteOff[m.Index], byteOff[m.Index+m.Length]})
		m, err = p.re.FindNextMatch(m)
	}
	return out
}

// scanner tiles s with matches: next(s, i) returns the end (> i) of the match that starts at i.
type scanner struct{ next func(s string, i int) int }

func (p scanner) findAll(s string) [][2]int {
	out := make([][2]int, 0, len(s)/4+1)
	for i := 0; i < len(s); {
		j := p.next(s, i)
		out = append(out, [2]int{i, j})
		i = j
	}
	return out
}

// appendPieces appends the matches as pieces: the Isolated split of a tiling pattern, without building ranges.
func (p scanner) appendPieces(dst []piece, in piece) []piece {
	for i := 0; i < len(in.s); {
		j := p.next(in.s, i)
		dst = append(dst, piece{s: in.s[i:j], first: in.first && i == 0})
		i = j
	}
	return dst
}

// Rune classes of the three regexes: whitespace, \p{L}, \p{N}, everything else.
const (
	rcSpace = iota
	rcLetter
	rcNumber
	rcOther
)

func runeClass(r rune) int {
	switch {
	case isLetter(r):
		return rcLetter
	case isNumber(r):
		return rcNumber
	case isSpace(r):
		return rcSpace
	default:
		return rcOther
	}
}

func decodeAt(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// classRunEnd returns the end of the run of runes of class cls starting at i, at most max runes (max < 0: no limit).
func classRunEnd(s string, i, cls, max int) int {
	for n := 0; i < len(s) && n != max; n++ {
		r, w := decodeAt(s, i)
		if runeClass(r) != cls {
			break
		}
		i += w
	}
	return i
}

// contraction returns the length of 's|'t|'re|'ve|'m|'ll|'d at the start of s (which begins after the
// apostrophe), or 0. With fold, letters match case-insensitively under Unicode simple case folding (ſ folds to s).
func contraction(s string, fold bool) int {
	if s == "" {
		return 0
	}
	low := func(c byte) byte {
		if fold && c >= 'A' && c <= 'Z' {
			return c + 32
		}
		return c
	}
	switch c := low(s[0]); c {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v', 'l':
		want := byte('e')
		if c == 'l' {
			want = 'l'
		}
		if len(s) > 1 && low(s[1]) == want {
			return 2
		}
	}
	if fold && strings.HasPrefix(s, "ſ") {
		return len("ſ")
	}
	return 0
}

// whitespaceEnd resolves `\s+(?!\S)|\s+` at i (s[i] is whitespace): the whole run if it reaches the end of s,
// otherwise the run minus its last rune, or the single rune when the run has only one.
func whitespaceEnd(s string, i int) int {
	j, last := i, i
	for j < len(s) {
		r, w := decodeAt(s, j)
		if !isSpace(r) {
			break
		}
		last = j
		j += w
	}
	if j == len(s) || last == i {
		return j
	}
	return last
}

// gpt2Next matches gpt2Regex at i.
func gpt2Next(s string, i int) int {
	r, w := decodeAt(s, i)
	if r == '\'' {
		if k := contraction(s[i+1:], false); k > 0 {
			return i + 1 + k
		}
	}
	cls := runeClass(r)
	if r == ' ' && i+1 < len(s) {
		r2, _ := decodeAt(s, i+1)
		if c2 := runeClass(r2); c2 != rcSpace {
			return classRunEnd(s, i+1, c2, -1)
		}
	}
	if cls != rcSpace {
		return classRunEnd(s, i+w, cls, -1)
	}
	return whitespaceEnd(s, i)
}

// llamaNext matches llama3Regex (maxDigits 3) or qwen2Regex (maxDigits 1) at i.
func llamaNext(s string, i int, maxDigits int) int {
	r, w := decodeAt(s, i)
	if r == '\'' {
		if k := contraction(s[i+1:], true); k > 0 {
			return i + 1 + k
		}
	}
	cls := runeClass(r)
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if cls == rcLetter {
		return classRunEnd(s, i, rcLetter, -1)
	}
	if cls != rcNumber && r != '\r' && r != '\n' && i+w < len(s) {
		if r2, _ := decodeAt(s, i+w); isLetter(r2) {
			return classRunEnd(s, i+w, rcLetter, -1)
		}
	}
	// \p{N}{1,maxDigits}
	if cls == rcNumber {
		return classRunEnd(s, i, rcNumber, maxDigits)
	}
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	start := -1
	if cls == rcOther {
		start = i
	} else if r == ' ' && i+1 < len(s) {
		if r2, _ := decodeAt(s, i+1); runeClass(r2) == rcOther {
			start = i + 1
		}
	}
	if start >= 0 {
		j := classRunEnd(s, start, rcOther, -1)
		for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
			j++
		}
		return j
	}
	// \s*[\r\n]+ : up to and including the last \r or \n of the whitespace run.
	end, lastNL := i, -1
	for end < len(s) {
		r, w := decodeAt(s, end)
		if !isSpace(r) {
			break
		}
		if r == '\r' || r == '\n' {
			lastNL = end
		}
		end += w
	}
	if lastNL >= 0 {
		return lastNL + 1
	}
	return whitespaceEnd(s, i)
}
