package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenerateChecksPromptAgainstModel: a tokenizer whose ids exceed the model's vocabulary is an error naming
// both, a prompt at the position limit is a usage error, and --max-new-tokens past the limit is capped with a
// note (before: garbage text with exit 0, and --max-new-tokens 100000 ran on for hours).
func TestGenerateChecksPromptAgainstModel(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(repoPath("examples", "tiny-llama", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	json.Unmarshal(b, &cfg)
	cfg["max_position_embeddings"] = 8
	b, _ = json.Marshal(cfg)
	cfgPath := filepath.Join(dir, "config.json")
	os.WriteFile(cfgPath, b, 0o644)
	short := filepath.Join(dir, "short")
	if code, _, stderr := runCLI(t, "init", "--config", cfgPath, "--tokenizer", repoPath("examples", "tiny-llama", "tokenizer.json"), "--out", short); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"tokenizer of another model", []string{"--model", repoPath("testdata", "fixtures", "gpt2_causal_lm"), "--tokenizer", repoPath("examples", "tiny-llama"), "--prompt", "the quick brown fox jumps over the lazy dog"}, 1, "outside the model's vocabulary of 256"},
		{"prompt past the positions", []string{"--model", short, "--prompt", strings.Repeat("word ", 20)}, 2, "position limit is 8"},
		{"max-new-tokens capped", []string{"--model", short, "--prompt", "hi", "--max-new-tokens", "100000"}, 0, "generating at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"generate"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}
