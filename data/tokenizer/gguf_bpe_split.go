package tokenizer

import (
	"fmt"
	"unicode"

	"github.com/dlclark/regexp2"
)

// llama.cpp's word splitting for byte-level BPE (unicode.cpp, unicode_regex_split): the text becomes code points,
// then each regex of the pre type splits every current segment into its matches and the text between them (all
// kept); a regex never looks past the end of its segment. Seven regexes have hand-written splitters in llama.cpp
// (GPT-2's, LLaMA-3's, Qwen2's, Qwen3.5's, the newline split, the AFMoE digit grouper and Kimi-K2's); all others
// run through C++ std::regex (ECMAScript) on a transformed text: when the regex uses \p{..}, every code point
// above ASCII is collapsed to one byte standing for its category (and \p{X} to that byte plus the ASCII members
// of X); otherwise only non-ASCII whitespace is replaced by \v so that ECMAScript's ASCII \s sees it. hift does
// the same with regexp2 in ECMAScript mode (gguf_bpe_regex.go).

// cpFlags are llama.cpp's code point flags (unicode.h): one category bit, plus whitespace.
type cpFlags uint16

const (
	cfUndefined cpFlags = 1 << iota
	cfNumber
	cfLetter
	cfSeparator
	cfMark
	cfPunct
	cfSymbol
	cfControl
	cfWhitespace
)

const cfCategories = cfUndefined | cfNumber | cfLetter | cfSeparator | cfMark | cfPunct | cfSymbol | cfControl

// llamaFlags classifies r as llama.cpp's unicode tables do. They are Unicode 15.1, Go's are 15.0: 15.1 added
// U+2FFC–U+2FFF and U+31EF (symbols) and CJK Extension I (U+2EBF0–U+2EE5D, letters); every other code point has
// the same category in both (checked code point by code point against llama.cpp's unicode-data.cpp).
func llamaFlags(r rune) cpFlags {
	if r < 0 || r > unicode.MaxRune {
		return 0
	}
	if r < 0x80 {
		return asciiFlags[r]
	}
	var f cpFlags
	switch {
	case (r >= 0x2FFC && r <= 0x2FFF) || r == 0x31EF:
		f = cfSymbol
	case r >= 0x2EBF0 && r <= 0x2EE5D:
		f = cfLetter
	case unicode.IsLetter(r):
		f = cfLetter
	case unicode.IsNumber(r):
		f = cfNumber
	case unicode.IsMark(r):
		f = cfMark
	case unicode.IsPunct(r):
		f = cfPunct
	case unicode.IsSymbol(r):
		f = cfSymbol
	case unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp):
		f = cfSeparator
	case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs):
		f = cfControl
	default:
		f = cfUndefined
	}
	if unicode.IsSpace(r) { // White_Space: the same 25 code points as llama.cpp's unicode_set_whitespace
		f |= cfWhitespace
	}
	return f
}

var asciiFlags = func() (t [128]cpFlags) {
	for r := rune(0); r < 128; r++ {
		switch {
		case unicode.IsLetter(r):
			t[r] = cfLetter
		case unicode.IsNumber(r):
			t[r] = cfNumber
		case unicode.IsPunct(r):
			t[r] = cfPunct
		case unicode.IsSymbol(r):
			t[r] = cfSymbol
		case r == ' ':
			t[r] = cfSeparator
		default:
			t[r] = cfControl
		}
		if unicode.IsSpace(r) {
			t[r] |= cfWhitespace
		}
	}
	return t
}()

// llamaSplitter is the word splitter of one pre type.
type llamaSplitter struct {
	steps []splitStep
	// collapse is true when some step matches on the category-collapsed text.
	collapse bool
}

// splitStep splits every segment (lengths in code points, tiling the text) and returns the new lengths.
type splitStep interface {
	split(cps []rune, view *splitView, segs []int) []int
}

// splitView holds the transformed texts the regex steps match on, built once per text.
type splitView struct {
	collapsed, wide []rune
}

// Bytes llama.cpp collapses non-ASCII code points to, by category (unicode.cpp k_ucat_cpt).
const (
	collapsedOther  = 0xD0
	collapsedNumber = 0xD1
	collapsedLetter = 0xD2
	collapsedPunct  = 0xD3
	collapsedMark   = 0xD4
	collapsedSymbol = 0xD5
)

func collapseRune(r rune) rune {
	if r < 0x80 {
		return r
	}
	f := llamaFlags(r)
	switch {
	case f&cfWhitespace != 0:
		return '\v'
	case f&cfNumber != 0:
		return collapsedNumber
	case f&cfLetter != 0:
		return collapsedLetter
	case f&cfPunct != 0:
		return collapsedPunct
	case f&cfMark != 0:
		return collapsedMark
	case f&cfSymbol != 0:
		return collapsedSymbol
	}
	return collapsedOther
}

// words splits text into llama.cpp's words (UTF-8, not yet byte-encoded).
func (s *llamaSplitter) words(text string) []string {
	cps := []rune(text)
	if len(cps) == 0 {
		return nil
	}
	view := &splitView{}
	segs := []int{len(cps)}
	for _, st := range s.steps {
		segs = st.split(cps, view, segs)
	}
	out := make([]string, 0, len(segs))
	start := 0
	for _, n := range segs {
		if n > 0 {
			out = append(out, string(cps[start:start+n]))
		}
		start += n
	}
	return out
}

func (v *splitView) collapsedOf(cps []rune) []rune {
	if v.collapsed == nil {
		v.collapsed = make([]rune, len(cps))
		for i, r := range cps {
			v.collapsed[i] = collapseRune(r)
		}
	}
	return v.collapsed
}

func (v *splitView) wideOf(cps []rune) []rune {
	if v.wide == nil {
		v.wide = make([]rune, len(cps))
		for i, r := range cps {
			if r >= 0x80 && llamaFlags(r)&cfWhitespace != 0 {
				r = '\v'
			}
			v.wide[i] = r
		}
	}
	return v.wide
}

// segment is one segment being split by a hand-written splitter: accessors return 0 / -1 outside it, as
// llama.cpp's _get_flags / _get_cpt do.
type segment struct {
	cps      []rune
	ini, end int
	prev     int
	out      []int
}

func (g *segment) cpt(pos int) rune {
	if pos >= g.ini && pos < g.end {
		return g.cps[pos]
	}
	return -1
}

func (g *segment) flags(pos int) cpFlags {
	if pos >= g.ini && pos < g.end {
		return llamaFlags(g.cps[pos])
	}
	return 0
}

// add ends the current word at end and returns its length.
func (g *segment) add(end int) int {
	n := end - g.prev
	if n > 0 {
		g.out = append(g.out, n)
	}
	g.prev = end
	return n
}

// contractionLen is the length of 's|'t|'re|'ve|'m|'ll|'d at pos (an apostrophe), 0 if none; fold lowercases
// the letters first (only ASCII letters lowercase to s, t, r, e, v, m, l, d in Unicode's simple mapping).
func (g *segment) contractionLen(pos int, fold bool) int {
	if g.cpt(pos) != '\'' || pos+1 >= g.end {
		return 0
	}
	low := func(r rune) rune {
		if fold && r >= 'A' && r <= 'Z' {
			return r + 32
		}
		return r
	}
	a := low(g.cpt(pos + 1))
	if a == 's' || a == 't' || a == 'm' || a == 'd' {
		return 2
	}
	if pos+2 < g.end {
		b := low(g.cpt(pos + 2))
		if (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') {
			return 3
		}
	}
	return 0
}

// spacesOrNewlines matches \s*[\r\n]+ at pos (up to the last newline of the whitespace run there), or else
// \s+(?!\S)|\s+ (see whitespace), and returns where the next piece starts.
func (g *segment) spacesOrNewlines(pos int) int {
	n, lastNL := 0, -1
	for g.flags(pos+n)&cfWhitespace != 0 {
		if c := g.cpt(pos + n); c == '\r' || c == '\n' {
			lastNL = pos + n + 1
		}
		n++
	}
	if lastNL >= 0 {
		g.add(lastNL)
		return lastNL
	}
	return g.whitespace(pos)
}

// whitespace ends the word for `\s+(?!\S)|\s+` at pos, or for a code point no alternative matches.
func (g *segment) whitespace(pos int) int {
	n := 0
	for g.flags(pos+n)&cfWhitespace != 0 {
		n++
	}
	switch {
	case n > 1 && g.cpt(pos+n) != -1:
		pos += n - 1
	case n > 0:
		pos += n
	default:
		pos++
	}
	g.add(pos)
	return pos
}

// customStep is one of llama.cpp's hand-written splitters, run segment by segment.
type customStep func(g *segment)

func (c customStep) split(cps []rune, _ *splitView, segs []int) []int {
	g := &segment{cps: cps, out: make([]int, 0, len(segs)*2)}
	start := 0
	for _, n := range segs {
		g.ini, g.end, g.prev = start, start+n, start
		c(g)
		start += n
	}
	return g.out
}

// gpt2Split: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func gpt2Split(g *segment) {
	for pos := g.ini; pos < g.end; {
		if k := g.contractionLen(pos, false); k > 0 {
			pos += g.add(pos + k)
			continue
		}
		cpt := g.cpt(pos)
		f2 := g.flags(pos)
		if cpt == ' ' {
			f2 = g.flags(pos + 1)
		}
		var class cpFlags
		switch {
		case f2&cfLetter != 0:
			class = cfLetter
		case f2&cfNumber != 0:
			class = cfNumber
		case f2&(cfWhitespace|cfLetter|cfNumber) == 0 && f2 != 0:
			class = 0 // [^\s\p{L}\p{N}]
		default:
			pos = g.whitespace(pos)
			continue
		}
		if cpt == ' ' {
			pos++
		}
		for {
			f := g.flags(pos)
			if class != 0 && f&class == 0 || class == 0 && (f == 0 || f&(cfWhitespace|cfLetter|cfNumber) != 0) {
				break
			}
			pos++
		}
		g.add(pos)
	}
}

// llama3Split is LLaMA-3's regex (maxDigits 3), Qwen2's (maxDigits 1) and, with marks, Qwen3.5's:
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func llama3Split(maxDigits int, marks bool) customStep {
	word := cfLetter
	if marks {
		word |= cfMark
	}
	return func(g *segment) {
		for pos := g.ini; pos < g.end; {
			if k := g.contractionLen(pos, true); k > 0 {
				pos += g.add(pos + k)
				continue
			}
			cpt, f := g.cpt(pos), g.flags(pos)
			if !(cpt == '\r' || cpt == '\n' || f&cfNumber != 0) && (f&word != 0 || g.flags(pos+1)&word != 0) {
				pos++
				for g.flags(pos)&word != 0 {
					pos++
				}
				g.add(pos)
				continue
			}
			if f&cfNumber != 0 {
				ini := pos
				for g.flags(pos)&cfNumber != 0 {
					pos++
					if pos-ini >= maxDigits {
						g.add(pos)
						ini = pos
					}
				}
				g.add(pos)
				continue
			}
			f2 := f
			if cpt == ' ' {
				f2 = g.flags(pos + 1)
			}
			notWord := cfWhitespace | word | cfNumber
			if f2&notWord == 0 && f != 0 {
				if cpt == ' ' {
					pos++
				}
				for f2&notWord == 0 && f2 != 0 {
					pos++
					f2 = g.flags(pos)
				}
				for c := g.cpt(pos); c == '\r' || c == '\n'; c = g.cpt(pos) {
					pos++
				}
				g.add(pos)
				continue
			}
			pos = g.spacesOrNewlines(pos)
		}
	}
}

// newlineSplit: [^\n]+|[\n]+
func newlineSplit(g *segment) {
	for pos := g.ini; pos < g.end; {
		nl := g.cps[pos] == '\n'
		for pos < g.end && (g.cps[pos] == '\n') == nl {
			pos++
		}
		g.add(pos)
	}
}

// isHan is llama.cpp's unicode_cpt_is_han: the CJK Unified Ideographs blocks and extensions A–F and the
// compatibility ideographs (by block, assigned or not).
func isHan(r rune) bool {
	for _, b := range hanBlocks {
		if r >= b[0] && r <= b[1] {
			return true
		}
	}
	return false
}

var hanBlocks = [][2]rune{{0x4E00, 0x9FFF}, {0x3400, 0x4DBF}, {0x20000, 0x2A6DF}, {0x2A700, 0x2B73F}, {0x2B740, 0x2B81F},
	{0x2B820, 0x2CEAF}, {0x2CEB0, 0x2EBEF}, {0xF900, 0xFAFF}, {0x2F800, 0x2FA1F}}

// kimiK2Split is llama.cpp's Kimi-K2 splitter (pre type kimi-k2, triggered by the regex \p{Han}+): runs of Han,
// then LLaMA-3's alternatives with letter runs that exclude Han (marks are not letters here) and the
// contraction only as a suffix of a letter run.
func kimiK2Split(g *segment) {
	letter := func(pos int) bool { return g.flags(pos)&cfLetter != 0 && !isHan(g.cpt(pos)) }
	for pos := g.ini; pos < g.end; {
		cpt, f := g.cpt(pos), g.flags(pos)
		if isHan(cpt) {
			for isHan(g.cpt(pos)) {
				pos++
			}
			g.add(pos)
			continue
		}
		lead := !(cpt == '\r' || cpt == '\n' || f&(cfLetter|cfNumber) != 0)
		if letter(pos) || (lead && letter(pos+1)) {
			if lead {
				pos++
			}
			for letter(pos) {
				pos++
			}
			pos += g.contractionLen(pos, true) // 0 when none follows
			g.add(pos)
			continue
		}
		if f&cfNumber != 0 {
			ini := pos
			for g.flags(pos)&cfNumber != 0 {
				pos++
				if pos-ini >= 3 {
					g.add(pos)
					ini = pos
				}
			}
			g.add(pos)
			continue
		}
		f2 := f
		if cpt == ' ' {
			f2 = g.flags(pos + 1)
		}
		if f2&(cfWhitespace|cfLetter|cfNumber) == 0 && f2 != 0 {
			if cpt == ' ' {
				pos++
			}
			for f2&(cfWhitespace|cfLetter|cfNumber) == 0 && f2 != 0 {
				pos++
				f2 = g.flags(pos)
			}
			for c := g.cpt(pos); c == '\r' || c == '\n'; c = g.cpt(pos) {
				pos++
			}
			g.add(pos)
			continue
		}
		pos = g.spacesOrNewlines(pos)
	}
}

// afmoeDigits is llama.cpp's digit grouper for \p{AFMoE_digits} and tiny_aya's \d{1,3}(?=(?:\d{3})*\b): a run of
// \p{N} is cut into groups of three from the right; the text before the run stays joined to its first group, as
// llama.cpp's splitter emits it.
func afmoeDigits(g *segment) {
	for pos := g.ini; pos < g.end; {
		if g.flags(pos)&cfNumber == 0 {
			pos++
			continue
		}
		start := pos
		for pos < g.end && g.flags(pos)&cfNumber != 0 {
			pos++
		}
		cur := start
		if r := (pos - start) % 3; r > 0 {
			cur += r
			g.add(cur)
		}
		for cur < pos {
			cur += 3
			g.add(cur)
		}
	}
	if g.prev < g.end {
		g.add(g.end)
	}
}

// The regexes llama.cpp splits with its own code (unicode.cpp unicode_regex_split_custom), keyed by the exact
// string of llm_tokenizer_bpe's regex_exprs.
const (
	llamaGPT2Regex   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
	llamaLlama3Regex = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	llamaQwen2Regex  = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	llamaQwen35Regex = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	llamaNewlines    = `[^\n]+|[\n]+`
	llamaAFMoEDigits = `\p{AFMoE_digits}`
	llamaAyaDigits   = `\d{1,3}(?=(?:\d{3})*\b)`
	llamaKimiK2      = `\p{Han}+`
)

// newLlamaSplitter compiles the regexes of a pre type as llama.cpp runs them.
func newLlamaSplitter(exprs []string) (*llamaSplitter, error) {
	s := &llamaSplitter{}
	for _, e := range exprs {
		switch e {
		case llamaGPT2Regex:
			s.steps = append(s.steps, customStep(gpt2Split))
			continue
		case llamaLlama3Regex:
			s.steps = append(s.steps, llama3Split(3, false))
			continue
		case llamaQwen2Regex:
			s.steps = append(s.steps, llama3Split(1, false))
			continue
		case llamaQwen35Regex:
			s.steps = append(s.steps, llama3Split(1, true))
			continue
		case llamaNewlines:
			s.steps = append(s.steps, customStep(newlineSplit))
			continue
		case llamaAFMoEDigits, llamaAyaDigits:
			s.steps = append(s.steps, customStep(afmoeDigits))
			continue
		case llamaKimiK2:
			s.steps = append(s.steps, customStep(kimiK2Split))
			continue
		}
		collapsed := usesCategories(e)
		pat := e
		if collapsed {
			var err error
			if pat, err = collapseRegex(e); err != nil {
				return nil, err
			}
		}
		re, err := regexp2.Compile(asciiSpaceRegex(pat), regexp2.ECMAScript)
		if err != nil {
			return nil, fmt.Errorf("regex %q: %w", e, err)
		}
		s.steps = append(s.steps, regexStep{re: re, collapsed: collapsed})
	}
	return s, nil
}
