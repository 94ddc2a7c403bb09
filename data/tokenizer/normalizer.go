package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites the text of one split before pre-tokenization (HF `normalizers`). Offsets are not tracked:
// hift only needs ids.
type normalizer interface {
	normalize(s string) string
}

// supportedNormalizers is listed in errors.
const supportedNormalizers = "BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend, " +
	"ByteLevel, Sequence"

type unicodeNorm struct{ form norm.Form }

func (n unicodeNorm) normalize(s string) string { return n.form.String(s) }

type lowercase struct{}

func (lowercase) normalize(s string) string { return toLower(s) }

// toLower lowercases rune by rune (HF NormalizedString::lowercase; no final-sigma rule).
func toLower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		appendLower(&sb, r)
	}
	return sb.String()
}

type strip struct{ left, right bool }

func (n strip) normalize(s string) string {
	if n.left {
		s = strings.TrimLeftFunc(s, isSpace)
	}
	if n.right {
		s = strings.TrimRightFunc(s, isSpace)
	}
	return s
}

// stripAccents removes combining marks (Mn, Mc, Me), as HF's StripAccents does.
type stripAccents struct{}

func (stripAccents) normalize(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsMark(r) {
			return -1
		}
		return r
	}, s)
}

type prepend struct{ prefix string }

func (n prepend) normalize(s string) string {
	if s == "" {
		return s
	}
	return n.prefix + s
}

// replace substitutes a literal string or every regex match.
type replace struct {
	pattern pattern
	content string
}

func (n replace) normalize(s string) string {
	if lit, ok := n.pattern.(literalPattern); ok {
		return strings.ReplaceAll(s, string(lit), n.content)
	}
	var sb strings.Builder
	prev := 0
	for _, m := range n.pattern.findAll(s) {
		sb.WriteString(s[prev:m[0]])
		sb.WriteString(n.content)
		prev = m[1]
	}
	sb.WriteString(s[prev:])
	return sb.String()
}

type byteLevelNorm struct{}

func (byteLevelNorm) normalize(s string) string { return byteLevelEncode(s) }

type normSequence []normalizer

func (seq normSequence) normalize(s string) string {
	for _, n := range seq {
		s = n.normalize(s)
	}
	return s
}

// bertNormalizer is HF's BertNormalizer: clean_text drops NUL, U+FFFD and control characters and maps whitespace
// to ' '; handle_chinese_chars surrounds CJK ideographs with spaces; strip_accents (NFD, then drop Mn) defaults to
// lowercase when unset. Categories are Unicode 8.0's, as in HF (bert_unicode8.go).
type bertNormalizer struct {
	cleanText, chinese, stripAccents, lowercase bool
}

func (n bertNormalizer) normalize(s string) string {
	if n.cleanText || n.chinese {
		var sb strings.Builder
		sb.Grow(len(s) + 8)
		for _, r := range s {
			if n.cleanText {
				if r == 0 || r == utf8.RuneError || isBertControl(r) {
					continue
				}
				if r == '\t' || r == '\n' || r == '\r' || isSpace(r) {
					r = ' '
				}
			}
			if n.chinese && isChineseChar(r) {
				sb.WriteByte(' ')
				sb.WriteRune(r)
				sb.WriteByte(' ')
				continue
			}
			sb.WriteRune(r)
		}
		s = sb.String()
	}
	if n.stripAccents && !isASCII(s) {
		s = strings.Map(func(r rune) rune {
			if inRanges(r, bertMn8) {
				return -1
			}
			return r
		}, norm.NFD.String(s))
	}
	if n.lowercase {
		s = toLower(s)
	}
	return s
}

// isBertControl is unicode_categories' is_other (Cc, Cf, Co in Unicode 8.0) minus tab, newline and carriage return.
func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return inRanges(r, bertOther8)
}

// isChineseChar uses the exact ranges of HF's bert.rs (including its 0x2B920 lower bound).
func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) || (r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// rawComponent is the common shape of every typed tokenizer.json component.
type rawComponent map[string]json.RawMessage

func (c rawComponent) typ() string {
	var t string
	_ = json.Unmarshal(c["type"], &t)
	return t
}

// field decodes one field into v; a missing or null field leaves v unchanged.
func (c rawComponent) field(name string, v any) error {
	raw, ok := c[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("field %q: %w", name, err)
	}
	return nil
}

// parseComponent decodes raw into a rawComponent; ok is false for an absent or null component.
func parseComponent(raw json.RawMessage) (c rawComponent, ok bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false, nil
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, false, err
	}
	return c, true, nil
}

// buildNormalizer turns a tokenizer.json "normalizer" into a normalizer (nil when absent).
func buildNormalizer(raw json.RawMessage) (normalizer, error) {
	c, ok, err := parseComponent(raw)
	if err != nil || !ok {
		return nil, err
	}
	switch t := c.typ(); t {
	case "NFC":
		return unicodeNorm{norm.NFC}, nil
	case "NFD":
		return unicodeNorm{norm.NFD}, nil
	case "NFKC":
		return unicodeNorm{norm.NFKC}, nil
	case "NFKD":
		return unicodeNorm{norm.NFKD}, nil
	case "Lowercase":
		return lowercase{}, nil
	case "StripAccents":
		return stripAccents{}, nil
	case "ByteLevel":
		return byteLevelNorm{}, nil
	case "Strip":
		n := strip{}
		if err := c.field("strip_left", &n.left); err != nil {
			return nil, err
		}
		return n, c.field("strip_right", &n.right)
	case "Prepend":
		n := prepend{}
		return n, c.field("prepend", &n.prefix)
	case "Replace":
		p, err := buildPattern(c["pattern"])
		if err != nil {
			return nil, fmt.Errorf("Replace: %w", err)
		}
		n := replace{pattern: p}
		return n, c.field("content", &n.content)
	case "BertNormalizer":
		n := bertNormalizer{cleanText: true, chinese: true, lowercase: true}
		var accents *bool
		for name, v := range map[string]any{"clean_text": &n.cleanText, "handle_chinese_chars": &n.chinese,
			"lowercase": &n.lowercase, "strip_accents": &accents} {
			if err := c.field(name, v); err != nil {
				return nil, err
			}
		}
		n.stripAccents = n.lowercase
		if accents != nil {
			n.stripAccents = *accents
		}
		return n, nil
	case "Sequence":
		var items []json.RawMessage
		if err := c.field("normalizers", &items); err != nil {
			return nil, err
		}
		seq := normSequence{}
		for i, item := range items {
			n, err := buildNormalizer(item)
			if err != nil {
				return nil, fmt.Errorf("Sequence[%d]: %w", i, err)
			}
			if n != nil {
				seq = append(seq, n)
			}
		}
		return seq, nil
	default:
		return nil, fmt.Errorf("unsupported normalizer %q (supported: %s)", t, supportedNormalizers)
	}
}
