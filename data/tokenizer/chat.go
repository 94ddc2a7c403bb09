package tokenizer

import (
	"fmt"

	"github.com/ardanlabs/jinja"
)

// Message is one chat turn.
type Message struct {
	Role    string
	Content string
}

// ApplyChatTemplate renders messages with the tokenizer's chat template (tokenizer_config.json's
// chat_template, or chat_template.jinja), as transformers' apply_chat_template(tokenize=False) does; the
// template sees messages, add_generation_prompt, bos_token and eos_token. The Jinja engine is
// github.com/ardanlabs/jinja, written for LLM chat templates.
func (t *Tokenizer) ApplyChatTemplate(messages []Message, addGenerationPrompt bool) (out string, err error) {
	defer func() { // the Jinja engine is third-party: a panic on a malformed template becomes an error
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("tokenizer %s: chat template: %v", t.path, r)
		}
	}()
	if t.chatTemplate == "" {
		return "", fmt.Errorf("tokenizer %s: no chat template (tokenizer_config.json has no chat_template)", t.path)
	}
	tmpl, err := jinja.Compile(t.chatTemplate)
	if err != nil {
		return "", fmt.Errorf("tokenizer %s: chat template: %w", t.path, err)
	}
	msgs := make([]any, len(messages))
	for i, m := range messages {
		msgs[i] = map[string]any{"role": m.Role, "content": m.Content}
	}
	tok := func(id int) string {
		if s, ok := t.Token(id); ok && id >= 0 {
			return s
		}
		return ""
	}
	out, err = tmpl.Render(map[string]any{
		"messages": msgs, "add_generation_prompt": addGenerationPrompt,
		"bos_token": tok(t.bos), "eos_token": tok(t.eos),
	})
	if err != nil {
		return "", fmt.Errorf("tokenizer %s: chat template: %w", t.path, err)
	}
	return out, nil
}
