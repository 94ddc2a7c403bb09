package main

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
)

// generateText continues prompt and returns the decoded continuation (special tokens dropped).
func generateText(be backends.Backend, m *graph.Model, w map[string]*tensors.Tensor, tok *tokenizer.Tokenizer, prompt string, o graph.GenerateOptions) (string, error) {
	ids, err := tok.Encode(prompt, true)
	if err != nil {
		return "", err
	}
	if eos := tok.EOS(); eos >= 0 {
		// A trailing EOS added by the post-processor would end the text before it starts.
		if len(ids) > 1 && ids[len(ids)-1] == eos {
			ids = ids[:len(ids)-1]
		}
		o.Stop = append(o.Stop, eos)
	}
	out, err := graph.Generate(be, m, w, ids, o)
	if err != nil {
		return "", err
	}
	full, err := tok.Decode(append(append([]int{}, ids...), out...), true)
	if err != nil {
		return "", err
	}
	head, err := tok.Decode(ids, true)
	if err != nil {
		return "", err
	}
	if len(full) >= len(head) && full[:len(head)] == head {
		return full[len(head):], nil
	}
	return tok.Decode(out, true)
}
