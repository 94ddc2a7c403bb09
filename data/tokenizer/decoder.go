package tokenizer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decoder transforms the token strings of an id sequence (HF decoders' decode_chain); the results are joined.
type decoder interface {
	decodeChain(tokens []string) []string
}

const supportedDecoders = "ByteLevel, Metaspace, WordPiece, BPEDecoder, Replace, ByteFallback, Fuse, Strip, Sequence"

// byteLevelDec maps byte-level runes back to bytes; a token with a rune outside the alphabet keeps its UTF-8 bytes.
type byteLevelDec struct{}

func (byteLevelDec) decodeChain(tokens []string) []string {
	var buf []byte
	for _, t := range tokens {
		if raw, ok := byteLevelDecode(t); ok {
			buf = append(buf, raw...)
		} else {
			buf = append(buf, t...)
		}
	}
	return []string{lossyUTF8(buf)}
}

// metaspaceDec turns the replacement rune into spaces; in the first token it is dropped unless prepend is "never".
type metaspaceDec struct {
	replacement string
	prepend     string
}

func (d metaspaceDec) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		with := " "
		if i == 0 && d.prepend != "never" {
			with = ""
		}
		out[i] = strings.ReplaceAll(t, d.replacement, with)
	}
	return out
}

// wordPieceDec glues ## continuations and optionally cleans up spaces before punctuation and contractions.
type wordPieceDec struct {
	prefix  string
	cleanup bool
}

func (d wordPieceDec) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		if i != 0 {
			if strings.HasPrefix(t, d.prefix) {
				t = strings.Replace(t, d.prefix, "", 1)
			} else {
				t = " " + t
			}
		}
		if d.cleanup {
			t = cleanupSpaces(t)
		}
		out[i] = t
	}
	return out
}

// cleanupSpaces applies HF's cleanup replacements one after another, as the chained str::replace calls do.
func cleanupSpaces(s string) string {
	for _, p := range [][2]string{{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
		{" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}} {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return s
}

// bpeDec replaces the end-of-word suffix by a space (nothing after the last token).
type bpeDec struct{ suffix string }

func (d bpeDec) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		with := " "
		if i == len(tokens)-1 {
			with = ""
		}
		out[i] = strings.ReplaceAll(t, d.suffix, with)
	}
	return out
}

type replaceDec struct {
	pattern pattern
	content string
}

func (d replaceDec) decodeChain(tokens []string) []string {
	n := replace{pattern: d.pattern, content: d.content}
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = n.normalize(t)
	}
	return out
}

// byteFallbackDec turns runs of <0xXX> tokens into text; an invalid UTF-8 run becomes one U+FFFD per byte.
type byteFallbackDec struct{}

func (byteFallbackDec) decodeChain(tokens []string) []string {
	out := make([]string, 0, len(tokens))
	var pending []byte
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if utf8.Valid(pending) {
			out = append(out, string(pending))
		} else {
			for range pending {
				out = append(out, "\uFFFD")
			}
		}
		pending = pending[:0]
	}
	for _, t := range tokens {
		if len(t) == 6 && strings.HasPrefix(t, "<0x") && t[5] == '>' {
			if b, err := strconv.ParseUint(t[3:5], 16, 8); err == nil {
				pending = append(pending, byte(b))
				continue
			}
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

type fuseDec struct{}

func (fuseDec) decodeChain(tokens []string) []string { return []string{strings.Join(tokens, "")} }

// stripDec removes up to start (stop) copies of content from the beginning (end) of every token.
type stripDec struct {
	content     rune
	start, stop int
}

func (d stripDec) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		r := []rune(t)
		a := 0
		for a < d.start && a < len(r) && r[a] == d.content {
			a++
		}
		b := len(r)
		for k := 0; k < d.stop && b > a && r[b-1] == d.content; k++ {
			b--
		}
		out[i] = string(r[a:b])
	}
	return out
}

type decSequence []decoder

func (seq decSequence) decodeChain(tokens []string) []string {
	for _, d := range seq {
		tokens = d.decodeChain(tokens)
	}
	return tokens
}

func buildDecoder(raw json.RawMessage) (decoder, error) {
	c, ok, err := parseComponent(raw)
	if err != nil || !ok {
		return nil, err
	}
	switch t := c.typ(); t {
	case "ByteLevel":
		return byteLevelDec{}, nil
	case "Metaspace":
		p, err := buildMetaspace(c)
		if err != nil {
			return nil, err
		}
		m := p.(metaspacePre)
		return metaspaceDec{replacement: m.replacement, prepend: m.prepend}, nil
	case "WordPiece":
		d := wordPieceDec{prefix: "##", cleanup: true}
		if err := c.field("prefix", &d.prefix); err != nil {
			return nil, err
		}
		return d, c.field("cleanup", &d.cleanup)
	case "BPEDecoder":
		d := bpeDec{suffix: "</w>"}
		return d, c.field("suffix", &d.suffix)
	case "Replace":
		p, err := buildPattern(c["pattern"])
		if err != nil {
			return nil, fmt.Errorf("Replace decoder: %w", err)
		}
		d := replaceDec{pattern: p}
		return d, c.field("content", &d.content)
	case "ByteFallback":
		return byteFallbackDec{}, nil
	case "Fuse":
		return fuseDec{}, nil
	case "Strip":
		var content string
		d := stripDec{}
		for name, v := range map[string]any{"content": &content, "start": &d.start, "stop": &d.stop} {
			if err := c.field(name, v); err != nil {
				return nil, fmt.Errorf("Strip decoder: %w", err)
			}
		}
		if utf8.RuneCountInString(content) != 1 {
			return nil, fmt.Errorf("Strip decoder: content %q is not one character", content)
		}
		d.content, _ = utf8.DecodeRuneInString(content)
		return d, nil
	case "Sequence":
		var items []json.RawMessage
		if err := c.field("decoders", &items); err != nil {
			return nil, err
		}
		seq := decSequence{}
		for i, item := range items {
			d, err := buildDecoder(item)
			if err != nil {
				return nil, fmt.Errorf("Sequence[%d]: %w", i, err)
			}
			if d != nil {
				seq = append(seq, d)
			}
		}
		return seq, nil
	default:
		return nil, fmt.Errorf("unsupported decoder %q (supported: %s)", t, supportedDecoders)
	}
}
