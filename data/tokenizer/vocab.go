package tokenizer

import "fmt"

// reverseVocab maps ids back to tokens: a slice when ids are dense, a map when they are sparse (trimmed test
// vocabularies, or hostile files that would otherwise make us allocate a slice of a billion entries).
type reverseVocab struct {
	dense   []string
	present []bool
	sparse  map[int]string
	max     int
}

// maxVocabID bounds ids so that id arithmetic never overflows int32 anywhere downstream.
const maxVocabID = 1<<31 - 2

func newReverseVocab(vocab map[string]int) (reverseVocab, error) {
	r := reverseVocab{max: -1}
	for tok, id := range vocab {
		if id < 0 || id > maxVocabID {
			return r, fmt.Errorf("token %q has id %d out of range [0, %d]", tok, id, maxVocabID)
		}
		r.max = max(r.max, id)
	}
	// When two tokens share an id, the smaller string wins, so that decoding is deterministic.
	better := func(old string, ok bool, tok string) bool { return !ok || tok < old }
	if r.max < 2*len(vocab)+1<<16 {
		r.dense = make([]string, r.max+1)
		r.present = make([]bool, r.max+1)
		for tok, id := range vocab {
			if better(r.dense[id], r.present[id], tok) {
				r.dense[id], r.present[id] = tok, true
			}
		}
		return r, nil
	}
	r.sparse = make(map[int]string, len(vocab))
	for tok, id := range vocab {
		old, ok := r.sparse[id]
		if better(old, ok, tok) {
			r.sparse[id] = tok
		}
	}
	return r, nil
}

func (r reverseVocab) get(id int) (string, bool) {
	if r.sparse != nil {
		tok, ok := r.sparse[id]
		return tok, ok
	}
	if id < 0 || id >= len(r.dense) || !r.present[id] {
		return "", false
	}
	return r.dense[id], true
}
