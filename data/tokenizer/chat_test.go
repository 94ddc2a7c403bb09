package tokenizer

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestChatTemplate renders LLaMA-3's and Qwen3's own chat templates (from their tokenizer_config.json) for a
// two-turn conversation and checks the layout transformers produces for them.
func TestChatTemplate(t *testing.T) {
	msgs := []Message{{"system", "Be brief."}, {"user", "What is light?"}}
	l3, err := Load(filepath.Join("..", "..", "testdata", "tokenizers", "llama3"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := l3.ApplyChatTemplate(msgs, true)
	if err != nil {
		t.Fatal(err)
	}
	want := "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
		"<|start_header_id|>user<|end_header_id|>\n\nWhat is light?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
	if got != want {
		t.Errorf("llama3:\n%q\nwant\n%q", got, want)
	}
	q, err := Load(filepath.Join("..", "..", "testdata", "tokenizers", "qwen3"))
	if err != nil {
		t.Fatal(err)
	}
	got, err = q.ApplyChatTemplate(msgs, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is light?<|im_end|>\n<|im_start|>assistant\n") {
		t.Errorf("qwen3: %q", got)
	}
	bert, _ := Load(filepath.Join("..", "..", "testdata", "tokenizers", "bert"))
	if _, err := bert.ApplyChatTemplate(msgs, true); err == nil {
		t.Error("a tokenizer without a chat template: no error")
	}
}
