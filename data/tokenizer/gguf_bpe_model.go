package tokenizer

import (
	"container/heap"
	"fmt"
	"sort"
	"strings"
)

// llama.cpp token types (tokenizer.ggml.token_type) and the attributes its loader gives them.
const (
	ggufTypeUndefined   = 0
	ggufTypeNormal      = 1
	ggufTypeUnknown     = 2
	ggufTypeControl     = 3
	ggufTypeUserDefined = 4
	ggufTypeUnused      = 5
	ggufTypeByte        = 6

	attrUnknown     = 1 << 1
	attrUnused      = 1 << 2
	attrNormal      = 1 << 3
	attrControl     = 1 << 4
	attrUserDefined = 1 << 5
	attrByte        = 1 << 6
	attrLStrip      = 1 << 8
	attrRStrip      = 1 << 9
)

// llamaBPE tokenizes as llama.cpp does with a "gpt2" GGUF vocabulary (llama_vocab::tokenize with
// parse_special): control, user-defined and unknown tokens are cut out of the text longest token first, each
// remaining fragment is split into words by the pre type's regexes, byte-encoded (GPT-2's byte-to-rune map) and
// merged by rank; a final symbol that is not a token becomes the tokens of its single bytes, where they exist.
// It is the model of a Tokenizer read by LoadGGUF, which then has no separate added tokens or pre-tokenizer.
type llamaBPE struct {
	tokenTable
	attrs    []int
	ranks    map[[2]string]int
	split    *llamaSplitter
	pre      llamaPreType
	specials []int // ids cut out of the text, longest text first
}

// newLlamaBPE builds the model from the vocabulary as llama.cpp's loader reads it (readGGUFBPEVocab). Special
// tokens of equal length keep id order (llama.cpp's sort leaves their order unspecified; it matters only when two
// of them overlap in a text).
func newLlamaBPE(tokens []string, attrs []int, merges []string, pre llamaPreType) (*llamaBPE, error) {
	sp, err := newLlamaSplitter(pre.regexes)
	if err != nil {
		return nil, fmt.Errorf("pre type %s: %w", pre.name, err)
	}
	m := &llamaBPE{tokenTable: tokenTable{tokens: tokens, ids: make(map[string]int, len(tokens))}, attrs: attrs, ranks: make(map[[2]string]int, len(merges)), split: sp, pre: pre}
	for id, t := range tokens {
		m.ids[t] = id
		if attrs[id]&(attrControl|attrUserDefined|attrUnknown) != 0 {
			m.specials = append(m.specials, id)
		}
	}
	sort.SliceStable(m.specials, func(a, b int) bool { return len(tokens[m.specials[a]]) > len(tokens[m.specials[b]]) })
	for i, s := range merges {
		// llama.cpp splits at the first space after the first byte; a merge without one is the pair ("", "").
		var a, b string
		if j := strings.IndexByte(s[min(1, len(s)):], ' '); j >= 0 {
			a, b = s[:j+1], s[j+2:]
		}
		if _, dup := m.ranks[[2]string{a, b}]; !dup {
			m.ranks[[2]string{a, b}] = i
		}
	}
	return m, nil
}

// tokenize encodes a whole text (the Tokenizer hands it over unsplit) with special-token parsing.
func (m *llamaBPE) tokenize(text string, dst []int) ([]int, error) {
	return m.encode(text, true, dst), nil
}

// encode is llama_tokenize without BOS/EOS; without parseSpecial only user-defined tokens are cut out of the
// text (control and unknown tokens are read as text).
func (m *llamaBPE) encode(text string, parseSpecial bool, dst []int) []int {
	for _, f := range m.partition(text, parseSpecial) {
		if f.id >= 0 {
			dst = append(dst, f.id)
			continue
		}
		for _, w := range m.split.words(f.s) {
			dst = m.word(byteLevelEncode(w), dst)
		}
	}
	return dst
}

// fragment is raw text (id -1) or a special token.
type fragment struct {
	s  string
	id int
}

// partition is llama.cpp's tokenizer_st_partition: for each special token, longest text first, every occurrence
// in every remaining text fragment is cut out, left to right; lstrip/rstrip tokens eat the ASCII whitespace
// beside them.
func (m *llamaBPE) partition(text string, parseSpecial bool) []fragment {
	frags := []fragment{{s: text, id: -1}}
	for _, id := range m.specials {
		tok := m.tokens[id]
		if !parseSpecial && m.attrs[id]&(attrControl|attrUnknown) != 0 || !strings.Contains(text, tok) {
			continue
		}
		var next []fragment
		for _, f := range frags {
			if f.id >= 0 {
				next = append(next, f)
				continue
			}
			s := f.s
			for {
				i := strings.Index(s, tok)
				if i < 0 {
					break
				}
				left := s[:i]
				if m.attrs[id]&attrLStrip != 0 {
					left = strings.TrimRight(left, " \t\n\v\f\r")
				}
				if left != "" {
					next = append(next, fragment{s: left, id: -1})
				}
				next = append(next, fragment{id: id})
				s = s[i+len(tok):]
				if m.attrs[id]&attrRStrip != 0 {
					s = strings.TrimLeft(s, " \t\n\v\f\r")
				}
			}
			if s != "" {
				next = append(next, fragment{s: s, id: -1})
			}
		}
		frags = next
	}
	return frags
}

// word merges one byte-encoded word (llm_tokenizer_bpe_session::tokenize) and appends its ids.
func (m *llamaBPE) word(w string, dst []int) []int {
	if m.pre.ignoreMerges {
		if id, ok := m.ids[w]; ok {
			return append(dst, id)
		}
	}
	syms := make([]bpeSym, 0, len(w))
	for i := 0; i < len(w); {
		n := min(len(w)-i, utf8Len(w[i]))
		syms = append(syms, bpeSym{text: w[i : i+n], prev: len(syms) - 1, next: len(syms) + 1})
		i += n
	}
	if len(syms) == 0 {
		return dst
	}
	syms[len(syms)-1].next = -1
	q := &bigramQueue{}
	push := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		if rank, ok := m.ranks[[2]string{syms[l].text, syms[r].text}]; ok {
			heap.Push(q, bigram{left: l, right: r, rank: rank, text: syms[l].text + syms[r].text})
		}
	}
	for i := 1; i < len(syms); i++ {
		push(i-1, i)
	}
	for q.Len() > 0 {
		b := heap.Pop(q).(bigram)
		l, r := &syms[b.left], &syms[b.right]
		if l.text == "" || r.text == "" || l.text+r.text != b.text {
			continue // outdated
		}
		l.text = b.text
		r.text = ""
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		push(l.prev, b.left)
		push(b.left, l.next)
	}
	for i := 0; i >= 0; i = syms[i].next {
		s := syms[i].text
		if id, ok := m.ids[s]; ok {
			dst = append(dst, id)
			continue
		}
		for j := 0; j < len(s); j++ { // llama.cpp looks each byte of the encoded symbol up as a one-byte token
			if id, ok := m.ids[s[j:j+1]]; ok {
				dst = append(dst, id)
			}
		}
	}
	return dst
}

// utf8Len is llama.cpp's unicode_len_utf8: the sequence length a lead byte announces (1 for a stray
// continuation byte).
func utf8Len(c byte) int {
	switch c >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

type bpeSym struct {
	text       string
	prev, next int
}

type bigram struct {
	left, right, rank int
	text              string
}

// bigramQueue pops the lowest rank first, the leftmost among equal ranks (llm_bigram_bpe::comparator).
type bigramQueue []bigram

func (q bigramQueue) Len() int { return len(q) }
func (q bigramQueue) Less(i, j int) bool {
	return q[i].rank < q[j].rank || (q[i].rank == q[j].rank && q[i].left < q[j].left)
}
func (q bigramQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *bigramQueue) Push(x any)   { *q = append(*q, x.(bigram)) }
func (q *bigramQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
