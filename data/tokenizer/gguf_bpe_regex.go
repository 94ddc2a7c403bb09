package tokenizer

import (
	"fmt"
	"strings"

	"github.com/dlclark/regexp2"
)

// regexStep is a regex llama.cpp hands to std::regex.
type regexStep struct {
	re        *regexp2.Regexp
	collapsed bool
}

func (s regexStep) split(cps []rune, view *splitView, segs []int) []int {
	text := view.wideOf(cps)
	if s.collapsed {
		text = view.collapsedOf(cps)
	}
	out := make([]int, 0, len(segs)*2)
	start := 0
	for _, n := range segs {
		seg := text[start : start+n]
		prev := 0
		m, _ := s.re.FindRunesMatch(seg)
		for m != nil { // an empty match (a look-ahead) still ends the text before it
			if m.Index > prev {
				out = append(out, m.Index-prev)
			}
			if m.Length > 0 {
				out = append(out, m.Length)
			}
			prev = m.Index + m.Length
			m, _ = s.re.FindNextMatch(m)
		}
		if prev < n {
			out = append(out, n-prev)
		}
		start += n
	}
	return out
}

// llamaCategories are the \p{..} classes llama.cpp collapses and the byte and ASCII members each becomes.
var llamaCategories = map[string]string{
	`\p{N}`:  string(rune(collapsedNumber)) + `0-9`,
	`\p{L}`:  string(rune(collapsedLetter)) + `A-Za-z`,
	`\p{Lu}`: string(rune(collapsedLetter)) + `A-Za-z`,
	`\p{Ll}`: string(rune(collapsedLetter)) + `A-Za-z`,
	`\p{Lt}`: string(rune(collapsedLetter)) + `A-Za-z`,
	`\p{Lm}`: string(rune(collapsedLetter)) + `A-Za-z`,
	`\p{Lo}`: string(rune(collapsedLetter)) + `A-Za-z`,
	`\p{P}`:  string(rune(collapsedPunct)) + `!-#%-*,-/:-;?-@\[-\]_\{\}`,
	`\p{M}`:  string(rune(collapsedMark)),
	`\p{S}`:  string(rune(collapsedSymbol)) + `\$\+<->\^` + "`" + `\|\~`,
}

func usesCategories(e string) bool {
	for c := range llamaCategories {
		if strings.Contains(e, c) {
			return true
		}
	}
	return false
}

// collapseRegex rewrites \p{X} as llama.cpp does for its collapsed text: a bracket of X's byte and ASCII members
// (inside a bracket, just the members). Such a regex must be ASCII otherwise, as llama.cpp requires.
func collapseRegex(e string) (string, error) {
	for _, r := range e {
		if r >= 0x80 {
			return "", fmt.Errorf("regex %q mixes unicode categories and non-ASCII characters (llama.cpp refuses it too)", e)
		}
	}
	var b strings.Builder
	inside := false
	for i := 0; i < len(e); i++ {
		c := e[i]
		if c == '[' && (i == 0 || e[i-1] != '\\') {
			b.WriteByte('[')
			inside = true
			continue
		}
		if inside && c == ']' && e[i-1] != '\\' {
			b.WriteByte(']')
			inside = false
			continue
		}
		if c == '\\' && i+3 < len(e) && e[i+1] == 'p' && e[i+2] == '{' {
			if j := strings.IndexByte(e[i+3:], '}'); j >= 0 && i+3+j <= i+10 {
				if members, ok := llamaCategories[e[i:i+3+j+1]]; ok {
					if !inside {
						b.WriteByte('[')
					}
					b.WriteString(members)
					if !inside {
						b.WriteByte(']')
					}
					i += 3 + j
					continue
				}
			}
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// asciiSpaceRegex makes \s, \S and $ mean what they mean to C++ std::regex in the "C" locale: \s is
// [ \t\n\v\f\r] (regexp2's ECMAScript \s is JavaScript's, with U+FEFF and the Unicode spaces), $ is the very end
// (regexp2's also matches before a final \n).
func asciiSpaceRegex(e string) string {
	const space = `\t\n\v\f\r `
	var b strings.Builder
	inside := false
	rs := []rune(e)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '\\' && i+1 < len(rs):
			switch n := rs[i+1]; {
			case n == 's' && inside:
				b.WriteString(space)
			case n == 's':
				b.WriteString("[" + space + "]")
			case n == 'S' && !inside:
				b.WriteString("[^" + space + "]")
			default:
				b.WriteRune(c)
				b.WriteRune(n)
			}
			i++
			continue
		case c == '[' && !inside:
			inside = true
		case c == ']' && inside:
			inside = false
		case c == '$' && !inside:
			b.WriteString(`\z`)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
