package tokenizer

import "testing"

// FuzzChatTemplate: any chat template either renders or fails with an error naming the tokenizer, never a
// panic (the Jinja engine is third-party). Run: go test -run '^$' -fuzz '^FuzzChatTemplate$' ./data/tokenizer.
func FuzzChatTemplate(f *testing.F) {
	for _, s := range []string{
		"{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
		"{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}[INST] {{ message['content'] | trim }} [/INST]{% else %}{{ message['content'] }}{% endif %}{% endfor %}",
		"{% set x = messages | length %}{{ x * 2 }}{{ raise_exception('no') if x > 9 }}",
		"{{", "{% for %}", "{{ messages[0]['content'][1:3] }}",
	} {
		f.Add(s, "hi")
	}
	f.Fuzz(func(t *testing.T, tmpl, content string) {
		tok, err := FromJSON([]byte(fuzzSeeds[0]))
		if err != nil {
			t.Fatal(err)
		}
		tok.chatTemplate = tmpl
		_, _ = tok.ApplyChatTemplate([]Message{{Role: "user", Content: content}, {Role: "assistant", Content: content}}, true)
	})
}
