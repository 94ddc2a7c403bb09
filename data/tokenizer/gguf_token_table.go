package tokenizer

// tokenTable is a GGUF vocabulary's token texts by id and ids by text, with the look-ups every tokenizer model
// read out of a GGUF (llamaBPE, spmWPMVocab) answers the same way.
type tokenTable struct {
	tokens []string
	ids    map[string]int
}

func (v *tokenTable) tokenToID(tok string) (int, bool) {
	id, ok := v.ids[tok]
	return id, ok
}

func (v *tokenTable) idToToken(id int) (string, bool) {
	if id < 0 || id >= len(v.tokens) {
		return "", false
	}
	return v.tokens[id], true
}

func (v *tokenTable) maxID() int { return len(v.tokens) - 1 }

func (v *tokenTable) size() int { return len(v.tokens) }
