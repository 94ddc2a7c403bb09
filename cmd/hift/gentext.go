package main

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
)

// generateText continues prompt and returns the decoded continuation (special tokens dropped).
func generateText(be backends.Backend, m *graph.Model, w map[string]*tensors.Tensor, tok *tokenizer.Tokenizer, prompt string, o graph.GenerateOptions) (string, error) {
	ids, err := promptIDs(tok, prompt)
	if err != nil {
		return "", err
	}
	if eos := tok.EOS(); eos >= 0 {
		o.Stop = append(o.Stop, eos)
	}
	if err := fitGeneration(m, tok, ids, &o); err != nil {
		return "", err
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

// promptIDs encodes a prompt with the tokenizer's special tokens, less a trailing EOS added by the
// post-processor (it would end the text before it starts).
func promptIDs(tok *tokenizer.Tokenizer, prompt string) ([]int, error) {
	ids, err := tok.Encode(prompt, true)
	if err != nil {
		return nil, err
	}
	if eos := tok.EOS(); eos >= 0 && len(ids) > 1 && ids[len(ids)-1] == eos {
		ids = ids[:len(ids)-1]
	}
	return ids, nil
}

// fitGeneration checks the prompt's ids against the model and caps o.MaxNewTokens at the model's position limit:
// a tokenizer whose ids exceed the model's vocabulary (a mismatched --tokenizer) would index past the embedding
// table, and learned position tables end at max_position_embeddings (past it every logit is garbage, and a huge
// --max-new-tokens ran for hours). It returns how many requested tokens the cap removed.
func fitGeneration(m *graph.Model, tok *tokenizer.Tokenizer, ids []int, o *graph.GenerateOptions) error {
	if vocab, ok := m.Config.IntField("vocab_size"); ok && vocab > 0 {
		for _, id := range ids {
			if id < 0 || id >= vocab {
				return fmt.Errorf("tokenizer %s gives the prompt token id %d, outside the model's vocabulary of %d (%s): the tokenizer does not belong to this model", tok.Path(), id, vocab, m.Config.Path)
			}
		}
	}
	if limit := m.Config.PositionLimit(); limit > 0 {
		if len(ids) >= limit {
			return badInput("the prompt is %d tokens, the model's position limit is %d (%s in %s): shorten the prompt", len(ids), limit, positionKey(m.Config), m.Config.Path)
		}
		if len(ids)+o.MaxNewTokens > limit {
			o.MaxNewTokens = limit - len(ids)
		}
	}
	return nil
}
