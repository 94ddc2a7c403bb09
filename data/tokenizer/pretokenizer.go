package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// piece is one split of the input on its way to the model.
type piece struct {
	s string
	// first is true when the piece begins at offset 0 of the original text (Metaspace prepend_scheme "first").
	first bool
}

// preTokenizer splits one piece into words, appending them to dst (HF `pre_tokenizers`).
type preTokenizer interface {
	preTokenize(dst []piece, p piece) []piece
}

const supportedPreTokenizers = "ByteLevel, Split, Metaspace, BertPreTokenizer, Whitespace, WhitespaceSplit, " +
	"Punctuation, Digits, CharDelimiterSplit, Sequence"

// Split behaviours (HF SplitDelimiterBehavior).
const (
	behRemoved = iota
	behIsolated
	behMergedWithPrevious
	behMergedWithNext
	behContiguous
)

func parseBehavior(s string) (int, error) {
	switch s {
	case "Removed":
		return behRemoved, nil
	case "Isolated":
		return behIsolated, nil
	case "MergedWithPrevious":
		return behMergedWithPrevious, nil
	case "MergedWithNext":
		return behMergedWithNext, nil
	case "Contiguous":
		return behContiguous, nil
	}
	return 0, fmt.Errorf("unknown split behavior %q (want Removed, Isolated, MergedWithPrevious, MergedWithNext "+
		"or Contiguous)", s)
}

// splitRanges applies an HF split behaviour to the matches of a pattern in a string of length n and returns the
// kept ranges (empty ones dropped), mirroring NormalizedString::split.
func splitRanges(n int, matches [][2]int, behavior int, invert bool) [][2]int {
	type seg struct {
		a, b  int
		match bool
	}
	segs := make([]seg, 0, 2*len(matches)+1)
	prev := 0
	for _, m := range matches {
		if m[0] > prev {
			segs = append(segs, seg{prev, m[0], invert})
		}
		segs = append(segs, seg{m[0], m[1], !invert})
		prev = m[1]
	}
	if prev < n {
		segs = append(segs, seg{prev, n, invert})
	}
	var out [][2]int
	push := func(a, b int) { out = append(out, [2]int{a, b}) }
	switch behavior {
	case behRemoved:
		for _, s := range segs {
			if !s.match {
				push(s.a, s.b)
			}
		}
	case behIsolated:
		for _, s := range segs {
			push(s.a, s.b)
		}
	case behMergedWithPrevious:
		prevMatch := false
		for _, s := range segs {
			if s.match && !prevMatch && len(out) > 0 {
				out[len(out)-1][1] = s.b
			} else {
				push(s.a, s.b)
			}
			prevMatch = s.match
		}
	case behMergedWithNext:
		prevMatch := false
		for i := len(segs) - 1; i >= 0; i-- {
			s := segs[i]
			if s.match && !prevMatch && len(out) > 0 {
				out[len(out)-1][0] = s.a
			} else {
				push(s.a, s.b)
			}
			prevMatch = s.match
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	case behContiguous:
		prevMatch := false
		for _, s := range segs {
			if s.match == prevMatch && len(out) > 0 {
				out[len(out)-1][1] = s.b
			} else {
				push(s.a, s.b)
			}
			prevMatch = s.match
		}
	}
	kept := out[:0]
	for _, r := range out {
		if r[1] > r[0] {
			kept = append(kept, r)
		}
	}
	return kept
}

// appendRanges appends the sub-pieces of p for the given ranges.
func appendRanges(dst []piece, p piece, ranges [][2]int) []piece {
	for _, r := range ranges {
		dst = append(dst, piece{s: p.s[r[0]:r[1]], first: p.first && r[0] == 0})
	}
	return dst
}

// runeMatches returns one match per rune satisfying pred (HF's char-predicate patterns).
func runeMatches(s string, pred func(rune) bool) [][2]int {
	var out [][2]int
	for i, r := range s {
		if pred(r) {
			out = append(out, [2]int{i, i + utf8.RuneLen(r)})
		}
	}
	return out
}

// splitPre is HF's Split pre-tokenizer.
type splitPre struct {
	pattern  pattern
	behavior int
	invert   bool
}

func (p splitPre) preTokenize(dst []piece, in piece) []piece {
	if sc, ok := p.pattern.(scanner); ok && p.behavior == behIsolated && !p.invert {
		return sc.appendPieces(dst, in)
	}
	return appendRanges(dst, in, splitRanges(len(in.s), p.pattern.findAll(in.s), p.behavior, p.invert))
}

// byteLevelPre is HF's ByteLevel pre-tokenizer. mapBytes is false when the BPE model consumes raw bytes directly
// (the byte-to-rune mapping and the model's inverse mapping cancel out).
type byteLevelPre struct {
	addPrefixSpace, useRegex, mapBytes bool
}

var gpt2Scanner = scanner{gpt2Next}

func (p byteLevelPre) preTokenize(dst []piece, in piece) []piece {
	if p.addPrefixSpace && !strings.HasPrefix(in.s, " ") {
		in.s = " " + in.s
	}
	start := len(dst)
	if p.useRegex {
		dst = gpt2Scanner.appendPieces(dst, in)
	} else {
		dst = append(dst, in)
	}
	if p.mapBytes {
		for i := start; i < len(dst); i++ {
			dst[i].s = byteLevelEncode(dst[i].s)
		}
	}
	return dst
}

// metaspacePre is HF's Metaspace pre-tokenizer: spaces become the replacement rune, which is prepended per the
// prepend scheme and then splits words (MergedWithNext).
type metaspacePre struct {
	replacement string
	prepend     string // "always", "never" or "first"
	split       bool
}

func (p metaspacePre) preTokenize(dst []piece, in piece) []piece {
	s := strings.ReplaceAll(in.s, " ", p.replacement)
	if !strings.HasPrefix(s, p.replacement) && (p.prepend == "always" || (p.prepend == "first" && in.first)) {
		s = p.replacement + s
	}
	in.s = s
	if !p.split {
		return append(dst, in)
	}
	return appendRanges(dst, in, splitRanges(len(s), literalPattern(p.replacement).findAll(s), behMergedWithNext, false))
}

// bertPre is BertPreTokenizer: split on whitespace (removed), then isolate every punctuation character.
type bertPre struct{}

func (bertPre) preTokenize(dst []piece, in piece) []piece {
	for _, r := range splitRanges(len(in.s), runeMatches(in.s, isSpace), behRemoved, false) {
		w := piece{s: in.s[r[0]:r[1]], first: in.first && r[0] == 0}
		dst = appendRanges(dst, w, splitRanges(len(w.s), runeMatches(w.s, isPunctuation), behIsolated, false))
	}
	return dst
}

// runePre splits on runes satisfying pred with a behaviour (Punctuation, Digits, WhitespaceSplit,
// CharDelimiterSplit).
type runePre struct {
	pred     func(rune) bool
	behavior int
}

func (p runePre) preTokenize(dst []piece, in piece) []piece {
	return appendRanges(dst, in, splitRanges(len(in.s), runeMatches(in.s, p.pred), p.behavior, false))
}

// whitespacePre is HF's Whitespace pre-tokenizer, the regex \w+|[^\w\s]+ keeping only the matches.
type whitespacePre struct{}

func (whitespacePre) preTokenize(dst []piece, in piece) []piece {
	s := in.s
	var ranges [][2]int
	for i := 0; i < len(s); {
		r, w := decodeAt(s, i)
		if isSpace(r) {
			i += w
			continue
		}
		word := isWordChar(r)
		j := i + w
		for j < len(s) {
			r2, w2 := decodeAt(s, j)
			if isSpace(r2) || isWordChar(r2) != word {
				break
			}
			j += w2
		}
		ranges = append(ranges, [2]int{i, j})
		i = j
	}
	return appendRanges(dst, in, ranges)
}

type preSequence []preTokenizer

func (seq preSequence) preTokenize(dst []piece, in piece) []piece {
	cur := []piece{in}
	var next []piece
	for _, p := range seq {
		next = next[:0]
		for _, c := range cur {
			next = p.preTokenize(next, c)
		}
		cur, next = next, cur
	}
	return append(dst, cur...)
}

// buildPreTokenizer turns a tokenizer.json "pre_tokenizer" into a preTokenizer (nil when absent).
func buildPreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	c, ok, err := parseComponent(raw)
	if err != nil || !ok {
		return nil, err
	}
	switch t := c.typ(); t {
	case "ByteLevel":
		p := byteLevelPre{addPrefixSpace: true, useRegex: true, mapBytes: true}
		if err := c.field("add_prefix_space", &p.addPrefixSpace); err != nil {
			return nil, err
		}
		return p, c.field("use_regex", &p.useRegex)
	case "Split":
		pat, err := buildPattern(c["pattern"])
		if err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		var behavior string
		p := splitPre{pattern: pat}
		if err := c.field("behavior", &behavior); err != nil {
			return nil, err
		}
		if p.behavior, err = parseBehavior(behavior); err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		return p, c.field("invert", &p.invert)
	case "Metaspace":
		return buildMetaspace(c)
	case "BertPreTokenizer":
		return bertPre{}, nil
	case "Whitespace":
		return whitespacePre{}, nil
	case "WhitespaceSplit":
		return runePre{isSpace, behRemoved}, nil
	case "Punctuation":
		behavior := "Isolated"
		if err := c.field("behavior", &behavior); err != nil {
			return nil, err
		}
		b, err := parseBehavior(behavior)
		return runePre{isPunctuation, b}, err
	case "Digits":
		individual := false
		if err := c.field("individual_digits", &individual); err != nil {
			return nil, err
		}
		if individual {
			return runePre{isNumber, behIsolated}, nil
		}
		return runePre{isNumber, behContiguous}, nil
	case "CharDelimiterSplit":
		var d string
		if err := c.field("delimiter", &d); err != nil {
			return nil, err
		}
		if utf8.RuneCountInString(d) != 1 {
			return nil, fmt.Errorf("CharDelimiterSplit: delimiter %q is not one character", d)
		}
		r, _ := utf8.DecodeRuneInString(d)
		return runePre{func(x rune) bool { return x == r }, behRemoved}, nil
	case "Sequence":
		var items []json.RawMessage
		if err := c.field("pretokenizers", &items); err != nil {
			return nil, err
		}
		seq := preSequence{}
		for i, item := range items {
			p, err := buildPreTokenizer(item)
			if err != nil {
				return nil, fmt.Errorf("Sequence[%d]: %w", i, err)
			}
			if p != nil {
				seq = append(seq, p)
			}
		}
		return seq, nil
	default:
		return nil, fmt.Errorf("unsupported pre_tokenizer %q (supported: %s)", t, supportedPreTokenizers)
	}
}

// buildMetaspace reads both the current (prepend_scheme, split) and the legacy (add_prefix_space) layouts.
func buildMetaspace(c rawComponent) (preTokenizer, error) {
	p := metaspacePre{replacement: "▁", prepend: "always", split: true}
	if err := c.field("replacement", &p.replacement); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(p.replacement) != 1 {
		return nil, fmt.Errorf("Metaspace: replacement %q is not one character", p.replacement)
	}
	if _, ok := c["prepend_scheme"]; ok {
		if err := c.field("prepend_scheme", &p.prepend); err != nil {
			return nil, err
		}
	} else {
		add := true
		if err := c.field("add_prefix_space", &add); err != nil {
			return nil, err
		}
		if !add {
			p.prepend = "never"
		}
	}
	switch p.prepend {
	case "always", "never", "first":
	default:
		return nil, fmt.Errorf("Metaspace: unknown prepend_scheme %q (want always, never or first)", p.prepend)
	}
	return p, c.field("split", &p.split)
}
