package tokenizer

import "fmt"

// SetPadToken makes token the padding token (HF users' tokenizer.pad_token = tokenizer.eos_token for models
// shipped without one) and returns its id. The token must be in the vocabulary.
func (t *Tokenizer) SetPadToken(token string) (int, error) {
	id, ok := t.TokenID(token)
	if !ok {
		hint := ""
		if t.eos >= 0 {
			if eos, ok := t.Token(t.eos); ok {
				hint = fmt.Sprintf(" (the EOS token is %q)", eos)
			}
		}
		return -1, fmt.Errorf("tokenizer %s: pad token %q is not in the vocabulary%s", t.path, token, hint)
	}
	t.pad = id
	return id, nil
}
