package tokenizer

import (
	"strings"
	"unicode"
)

// addedToken is an entry of tokenizer.json "added_tokens" (HF AddedToken).
type addedToken struct {
	Content    string `json:"content"`
	ID         int    `json:"id"`
	Special    bool   `json:"special"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	SingleWord bool   `json:"single_word"`
	Normalized bool   `json:"normalized"`
}

// addedVocab mirrors HF's AddedVocabulary: tokens with normalized=false are cut out of the raw text first, the
// others out of the normalized text of what is left; matching is leftmost-longest, then single_word, lstrip and
// rstrip are applied exactly as in added_vocabulary.rs (find_matches).
type addedVocab struct {
	byContent map[string]int // content → id
	byID      map[int]*addedToken
	special   map[string]bool
	raw, norm *trie
}

// newAddedVocab assigns ids the way HF's add_tokens does: an existing added or model token keeps its id, a new one
// gets max(added)+1 or the model's vocabulary size. (The "id" field of tokenizer.json is not consulted by HF.)
func newAddedVocab(tokens []addedToken, m model, n normalizer) *addedVocab {
	v := &addedVocab{byContent: map[string]int{}, byID: map[int]*addedToken{}, special: map[string]bool{}}
	var order []*addedToken
	for i := range tokens {
		t := tokens[i]
		if t.Special && t.Content != "" {
			v.special[t.Content] = true
		}
		if t.Content == "" {
			continue
		}
		duplicate := false
		for _, old := range v.byID {
			if sameFlags(*old, t) {
				duplicate = true
			}
		}
		if duplicate {
			continue
		}
		id, ok := v.byContent[t.Content]
		if !ok {
			id, ok = m.tokenToID(t.Content)
		}
		if !ok {
			id = m.size()
			maxAdded := -1
			for _, a := range v.byContent {
				maxAdded = max(maxAdded, a)
			}
			if maxAdded >= 0 && (maxAdded >= m.size() || m.size() == 0) {
				id = maxAdded + 1
			}
		}
		t.ID = id
		v.byContent[t.Content] = id
		v.byID[id] = &t
		order = append(order, &t)
	}
	v.raw, v.norm = newTrie(), newTrie()
	for _, t := range order {
		if v.byID[t.ID] != t {
			continue // superseded by a later token with the same id
		}
		if t.Normalized {
			content := t.Content
			if n != nil {
				content = n.normalize(content)
			}
			v.norm.add(content, t.ID)
		} else {
			v.raw.add(t.Content, t.ID)
		}
	}
	return v
}

func sameFlags(a, b addedToken) bool {
	a.ID, b.ID = 0, 0
	return a == b
}

// split is a piece of text, or an added token when id ≥ 0.
type split struct {
	piece
	id int
}

// extract cuts the added tokens of tr out of every text split.
func (v *addedVocab) extract(splits []split, tr *trie) []split {
	if tr.empty() {
		return splits
	}
	out := make([]split, 0, len(splits)+2)
	for _, sp := range splits {
		if sp.id >= 0 {
			out = append(out, sp)
			continue
		}
		out = v.findMatches(out, sp.piece, tr)
	}
	return out
}

// findMatches is HF's find_matches followed by the split: it appends the text and token splits of p.
func (v *addedVocab) findMatches(dst []split, p piece, tr *trie) []split {
	s := p.s
	emit := func(a, b, id int) {
		if b > a {
			dst = append(dst, split{piece{s: s[a:b], first: p.first && a == 0}, id})
		}
	}
	startOffset := 0
	for pos := 0; pos < len(s); {
		start, stop, id := tr.find(s, pos)
		if id < 0 {
			break
		}
		pos = stop
		tok := v.byID[id]
		if tok.SingleWord {
			startSpace := start == 0 || !endsWithWord(s[:start])
			stopSpace := stop == len(s) || !startsWithWord(s[stop:])
			if !startSpace || !stopSpace {
				continue
			}
		}
		if tok.LStrip {
			start = max(len(strings.TrimRightFunc(s[:start], isSpace)), startOffset)
		}
		if tok.RStrip {
			stop = len(s) - len(strings.TrimLeftFunc(s[stop:], isSpace))
		}
		start = max(start, startOffset)
		emit(startOffset, start, -1)
		emit(start, stop, id)
		startOffset = stop
	}
	emit(startOffset, len(s), -1)
	return dst
}

// isRustWord is \w of Rust's regex crate (Alphabetic, marks, decimal digits, connector punctuation, joiners).
func isRustWord(r rune) bool {
	return isWordChar(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r) ||
		r == 0x200C || r == 0x200D
}

func endsWithWord(s string) bool {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < 0x80 || s[i] >= 0xC0 {
			r, _ := decodeAt(s, i)
			return isRustWord(r)
		}
	}
	return false
}

func startsWithWord(s string) bool {
	if s == "" {
		return false
	}
	r, _ := decodeAt(s, 0)
	return isRustWord(r)
}

// trie is a byte trie for leftmost-longest matching of added tokens.
type trie struct {
	next  map[uint64]int32 // node<<8 | byte → child
	final []int            // node → token id, -1 if none
	first [256]bool        // bytes that start some token
}

func newTrie() *trie { return &trie{next: map[uint64]int32{}, final: []int{-1}} }

func (t *trie) empty() bool { return len(t.final) == 1 }

func (t *trie) add(s string, id int) {
	if s == "" {
		return
	}
	t.first[s[0]] = true
	node := int32(0)
	for i := 0; i < len(s); i++ {
		k := uint64(node)<<8 | uint64(s[i])
		child, ok := t.next[k]
		if !ok {
			child = int32(len(t.final))
			t.final = append(t.final, -1)
			t.next[k] = child
		}
		node = child
	}
	if t.final[node] < 0 {
		t.final[node] = id
	}
}

// find returns the leftmost-longest match at or after pos, or id -1.
func (t *trie) find(s string, pos int) (start, stop, id int) {
	for i := pos; i < len(s); i++ {
		if !t.first[s[i]] {
			continue
		}
		node, best, bestEnd := int32(0), -1, -1
		for j := i; j < len(s); j++ {
			child, ok := t.next[uint64(node)<<8|uint64(s[j])]
			if !ok {
				break
			}
			node = child
			if t.final[node] >= 0 {
				best, bestEnd = t.final[node], j+1
			}
		}
		if best >= 0 {
			return i, bestEnd, best
		}
	}
	return -1, -1, -1
}
