package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// model turns one pre-tokenized word into ids (HF `models`).
type model interface {
	tokenize(word string, dst []int) ([]int, error)
	tokenToID(tok string) (int, bool)
	idToToken(id int) (string, bool)
	// maxID is the largest id of the model's vocabulary (-1 if empty).
	maxID() int
	// size is the number of vocabulary entries (HF get_vocab_size).
	size() int
}

// bpe is HF's BPE model. Merges are applied lowest rank first, leftmost first among equal ranks, exactly as
// models/bpe/word.rs does; characters missing from the vocabulary go to byte_fallback (<0xXX>) or to unk_token
// (fused when fuse_unk). With ignore_merges a word that is itself in the vocabulary is emitted whole.
//
// In raw mode (byte-level files) the model works on raw bytes: vocabulary strings were mapped back through the
// byte-level alphabet at load time, so the pre-tokenizer does not have to map each word to byte-level runes.
type bpe struct {
	vocab        map[string]int // as written in the file
	vocabR       reverseVocab
	merges       map[uint64]uint64
	unkID        int // -1 when no unk_token
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	prefix       string   // continuing_subword_prefix
	suffix       string   // end_of_word_suffix
	bytes        [256]int // <0xXX> ids for byte_fallback, -1 if missing

	raw      bool
	rawVocab map[string]int // raw-byte strings (raw mode)
	rawByte  [256]int       // id of each single byte (raw mode), -1 if missing

	cache     sync.Map // word → []int
	cacheSize atomic.Int64
}

// Cache limits follow HF (DEFAULT_CACHE_CAPACITY, MAX_LENGTH).
const (
	bpeCacheCapacity = 10000
	bpeCacheMaxLen   = 256
)

type bpeJSON struct {
	Vocab                   map[string]int    `json:"vocab"`
	Merges                  []json.RawMessage `json:"merges"`
	UnkToken                *string           `json:"unk_token"`
	ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
	FuseUnk                 bool              `json:"fuse_unk"`
	ByteFallback            bool              `json:"byte_fallback"`
	IgnoreMerges            bool              `json:"ignore_merges"`
	Dropout                 *float64          `json:"dropout"`
}

// newBPE builds the model from the "model" object of tokenizer.json.
func newBPE(raw json.RawMessage) (*bpe, error) {
	var j bpeJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("BPE model: %w", err)
	}
	if j.Dropout != nil && *j.Dropout > 0 {
		return nil, fmt.Errorf("BPE model: dropout %g is not supported (tokenization would be random)", *j.Dropout)
	}
	m := &bpe{vocab: j.Vocab, unkID: -1, fuseUnk: j.FuseUnk, byteFallback: j.ByteFallback,
		ignoreMerges: j.IgnoreMerges}
	if j.ContinuingSubwordPrefix != nil {
		m.prefix = *j.ContinuingSubwordPrefix
	}
	if j.EndOfWordSuffix != nil {
		m.suffix = *j.EndOfWordSuffix
	}
	var err error
	if m.vocabR, err = newReverseVocab(m.vocab); err != nil {
		return nil, fmt.Errorf("BPE model: %w", err)
	}
	if j.UnkToken != nil {
		id, ok := m.vocab[*j.UnkToken]
		if !ok {
			return nil, fmt.Errorf("BPE model: unk_token %q is not in the vocabulary", *j.UnkToken)
		}
		m.unkID = id
	}
	for b := 0; b < 256; b++ {
		m.bytes[b] = -1
		if id, ok := m.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.bytes[b] = id
		}
	}
	m.merges = make(map[uint64]uint64, len(j.Merges))
	for rank, rawMerge := range j.Merges {
		a, b, err := parseMerge(rawMerge)
		if err != nil {
			return nil, fmt.Errorf("BPE model: merges[%d]: %w", rank, err)
		}
		aID, okA := m.vocab[a]
		bID, okB := m.vocab[b]
		if !okA || !okB {
			return nil, fmt.Errorf("BPE model: merges[%d] %q %q: token not in the vocabulary", rank, a, b)
		}
		if len(b) < len(m.prefix) {
			return nil, fmt.Errorf("BPE model: merges[%d] %q %q: shorter than continuing_subword_prefix", rank, a, b)
		}
		merged := a + b[len(m.prefix):] // HF strips len(prefix) bytes whether or not b starts with it
		newID, ok := m.vocab[merged]
		if !ok {
			return nil, fmt.Errorf("BPE model: merges[%d] %q %q: result %q not in the vocabulary", rank, a, b, merged)
		}
		// A repeated pair keeps the last rank, as HF's HashMap insert does.
		m.merges[pairKey(aID, bID)] = uint64(rank)<<32 | uint64(newID)
	}
	return m, nil
}

// parseMerge reads "a b" (legacy) or ["a", "b"].
func parseMerge(raw json.RawMessage) (string, string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		a, b, ok := strings.Cut(s, " ")
		if !ok {
			return "", "", fmt.Errorf("%q is not two space-separated tokens", s)
		}
		return a, b, nil
	}
	var pair []string
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return "", "", fmt.Errorf("%s is neither \"a b\" nor [\"a\", \"b\"]", raw)
	}
	return pair[0], pair[1], nil
}

func pairKey(a, b int) uint64 { return uint64(a)<<32 | uint64(uint32(b)) }

// enableRaw switches a byte-level model to raw-byte words. It is only valid without subword prefix/suffix.
func (m *bpe) enableRaw() bool {
	if m.prefix != "" || m.suffix != "" {
		return false
	}
	m.raw = true
	m.rawVocab = make(map[string]int, len(m.vocab))
	for tok, id := range m.vocab {
		if b, ok := byteLevelDecode(tok); ok {
			m.rawVocab[string(b)] = id
		}
	}
	for b := 0; b < 256; b++ {
		m.rawByte[b] = -1
		if id, ok := m.vocab[string(byteLevelChars[b])]; ok {
			m.rawByte[b] = id
		}
	}
	return true
}

func (m *bpe) tokenToID(tok string) (int, bool) {
	id, ok := m.vocab[tok]
	return id, ok
}

func (m *bpe) idToToken(id int) (string, bool) { return m.vocabR.get(id) }

func (m *bpe) maxID() int { return m.vocabR.max }

func (m *bpe) size() int { return len(m.vocab) }

func (m *bpe) tokenize(word string, dst []int) ([]int, error) {
	if word == "" {
		return dst, nil
	}
	if m.ignoreMerges {
		v := m.vocab
		if m.raw {
			v = m.rawVocab
		}
		if id, ok := v[word]; ok {
			return append(dst, id), nil
		}
	}
	cacheable := len(word) < bpeCacheMaxLen
	if cacheable {
		if ids, ok := m.cache.Load(word); ok {
			return append(dst, ids.([]int)...), nil
		}
	}
	start := len(dst)
	dst = m.mergeWord(word, dst)
	if cacheable && m.cacheSize.Load() < bpeCacheCapacity {
		// The word is cloned: it may be a slice of a caller's large text.
		if _, loaded := m.cache.LoadOrStore(strings.Clone(word), append([]int(nil), dst[start:]...)); !loaded {
			m.cacheSize.Add(1)
		}
	}
	return dst, nil
}

// resetCache empties the word cache (benchmarks).
func (m *bpe) resetCache() {
	m.cache.Clear()
	m.cacheSize.Store(0)
}

// symbol is one node of the doubly linked list a word is merged in.
type symbol struct {
	id         int
	prev, next int
	dead       bool
}

// wordScratch holds the buffers of one mergeWord call; they are pooled across calls.
type wordScratch struct {
	m          *bpe
	syms       []symbol
	heap       mergeHeap
	unk        int
	unkPending bool
}

var scratchPool = sync.Pool{New: func() any { return &wordScratch{} }}

func (w *wordScratch) add(id int) {
	w.syms = append(w.syms, symbol{id: id, prev: len(w.syms) - 1, next: len(w.syms) + 1})
}

func (w *wordScratch) flushUnk() {
	if w.unkPending {
		w.add(w.unk)
		w.unkPending = false
	}
}

// missing handles a character absent from the vocabulary (s includes any prefix/suffix, as in HF).
func (w *wordScratch) missing(s string) {
	m := w.m
	if m.byteFallback {
		ok := true
		for i := 0; i < len(s); i++ {
			ok = ok && m.bytes[s[i]] >= 0
		}
		if ok {
			// HF adds the byte tokens without flushing a pending unk first; keep that order.
			for i := 0; i < len(s); i++ {
				w.add(m.bytes[s[i]])
			}
			return
		}
	}
	if m.unkID < 0 {
		return // no unk_token: HF drops the character
	}
	if w.unkPending && !m.fuseUnk {
		w.add(w.unk)
	}
	w.unk, w.unkPending = m.unkID, true
}

// mergeWord splits word into initial symbols (characters, or bytes in raw mode) and applies the merges.
func (m *bpe) mergeWord(word string, dst []int) []int {
	w := scratchPool.Get().(*wordScratch)
	defer scratchPool.Put(w)
	w.m, w.syms, w.heap, w.unkPending = m, w.syms[:0], w.heap[:0], false
	if m.raw {
		for i := 0; i < len(word); i++ {
			if id := m.rawByte[word[i]]; id >= 0 {
				w.flushUnk()
				w.add(id)
			} else {
				w.missing(string(byteLevelChars[word[i]]))
			}
		}
	} else {
		for i := 0; i < len(word); {
			_, n := utf8.DecodeRuneInString(word[i:])
			s := word[i : i+n]
			if i > 0 && m.prefix != "" {
				s = m.prefix + s
			}
			if i+n == len(word) && m.suffix != "" {
				s += m.suffix
			}
			if id, ok := m.vocab[s]; ok {
				w.flushUnk()
				w.add(id)
			} else {
				w.missing(s)
			}
			i += n
		}
	}
	w.flushUnk()
	syms := w.syms
	if len(syms) == 0 {
		return dst
	}
	syms[len(syms)-1].next = -1
	m.applyMerges(syms, &w.heap)
	for i := 0; i >= 0; i = syms[i].next {
		dst = append(dst, syms[i].id)
	}
	return dst
}

// applyMerges merges the lowest-rank pair (leftmost among ties) until no pair of neighbours has a merge.
func (m *bpe) applyMerges(syms []symbol, h *mergeHeap) {
	if len(syms) < 2 {
		return
	}
	push := func(pos int) {
		next := syms[pos].next
		if next < 0 {
			return
		}
		if v, ok := m.merges[pairKey(syms[pos].id, syms[next].id)]; ok {
			h.push(mergeItem{rank: uint32(v >> 32), pos: int32(pos), newID: int32(uint32(v))})
		}
	}
	for i := 0; i+1 < len(syms); i++ {
		push(i)
	}
	for len(*h) > 0 {
		top := h.pop()
		pos := int(top.pos)
		s := &syms[pos]
		if s.dead || s.next < 0 {
			continue
		}
		right := syms[s.next]
		// Skip stale entries: the pair at pos changed since this entry was pushed.
		v, ok := m.merges[pairKey(s.id, right.id)]
		if !ok || int32(uint32(v)) != top.newID {
			continue
		}
		s.id = int(top.newID)
		syms[s.next].dead = true
		s.next = right.next
		if right.next >= 0 {
			syms[right.next].prev = pos
		}
		if s.prev >= 0 {
			push(s.prev)
		}
		push(pos)
	}
}

type mergeItem struct {
	rank  uint32
	pos   int32
	newID int32
}

func (a mergeItem) less(b mergeItem) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

// mergeHeap is a binary min-heap on (rank, pos), without container/heap's interface calls.
type mergeHeap []mergeItem

func (h *mergeHeap) push(x mergeItem) {
	*h = append(*h, x)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !a[i].less(a[p]) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func (h *mergeHeap) pop() mergeItem {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && a[l].less(a[m]) {
			m = l
		}
		if r < n && a[r].less(a[m]) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}
