package tokenizer

import (
	"container/heap"
	"fmt"
)

// llama.cpp's SentencePiece tokenizer (llm_tokenizer_spm_session) on one raw fragment whose spaces are already
// escaped to "▁": the text is cut into UTF-8 characters (by the lead byte's length), every adjacent pair whose
// concatenation is a token is queued by that token's score, and the best pair (highest score, leftmost on a
// tie) is merged until none is left. A final symbol that is not a token is re-split along the merges that made
// it, and a character that is no token becomes its bytes (<0xXX> pieces, else the one-byte token).

type spmSymbol struct {
	prev, next int
	start, n   int // byte span in the text
}

type spmBigram struct {
	left, right int
	score       float32
	size        int
}

// spmQueue pops the highest score first, the smallest left index on a tie (llm_bigram_spm::comparator).
type spmQueue []spmBigram

func (q spmQueue) Len() int { return len(q) }
func (q spmQueue) Less(i, j int) bool {
	if q[i].score != q[j].score {
		return q[i].score > q[j].score
	}
	return q[i].left < q[j].left
}
func (q spmQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *spmQueue) Push(x any)   { *q = append(*q, x.(spmBigram)) }
func (q *spmQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// spmUTF8Len is llama.cpp's unicode_len_utf8: the sequence length its lead byte announces.
func spmUTF8Len(b byte) int {
	return [16]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}[b>>4]
}

func (v *spmWPMVocab) spmTokenize(text string, dst []int) ([]int, error) {
	if text == "" {
		return dst, nil
	}
	syms := make([]spmSymbol, 0, len(text))
	for off := 0; off < len(text); {
		n := min(spmUTF8Len(text[off]), len(text)-off)
		idx := len(syms)
		next := idx + 1
		if off+n == len(text) {
			next = -1
		}
		syms = append(syms, spmSymbol{prev: idx - 1, next: next, start: off, n: n})
		off += n
	}
	revMerge := map[string][2]int{}
	q := &spmQueue{}
	tryAdd := func(left, right int) {
		if left < 0 || right < 0 {
			return
		}
		s := text[syms[left].start : syms[left].start+syms[left].n+syms[right].n]
		id, ok := v.ids[s]
		if !ok {
			return
		}
		heap.Push(q, spmBigram{left: left, right: right, score: v.scores[id], size: len(s)})
		revMerge[s] = [2]int{left, right}
	}
	for i := 1; i < len(syms); i++ {
		tryAdd(i-1, i)
	}
	for q.Len() > 0 {
		b := heap.Pop(q).(spmBigram)
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		tryAdd(l.prev, b.left)
		tryAdd(b.left, l.next)
	}
	var err error
	var resegment func(i int) error
	resegment = func(i int) error {
		s := text[syms[i].start : syms[i].start+syms[i].n]
		if id, ok := v.ids[s]; ok {
			dst = append(dst, id)
			return nil
		}
		if p, ok := revMerge[s]; ok {
			if err := resegment(p[0]); err != nil {
				return err
			}
			return resegment(p[1])
		}
		for j := 0; j < len(s); j++ {
			id, err := v.byteToken(s[j])
			if err != nil {
				return err
			}
			dst = append(dst, id)
		}
		return nil
	}
	for i := 0; i != -1; i = syms[i].next {
		if err = resegment(i); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// byteToken is llama.cpp's byte_to_token for SentencePiece: the <0xXX> piece, else the one-byte token.
func (v *spmWPMVocab) byteToken(b byte) (int, error) {
	if id, ok := v.ids[fmt.Sprintf("<0x%02X>", b)]; ok {
		return id, nil
	}
	if id, ok := v.ids[string([]byte{b})]; ok {
		return id, nil
	}
	return 0, fmt.Errorf("tokenizer: SentencePiece GGUF vocabulary has no byte token <0x%02X> for a character outside the vocabulary (llama.cpp fails here too)", b)
}
