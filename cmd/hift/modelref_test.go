package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/fixture"
)

// TestModelFromHFCache runs commands with --model org/name[@rev] against a Hugging Face cache laid out in the
// test (refs/main, a tag, snapshots/<hash>/ with files) and checks the errors for ids that are not cached.
func TestModelFromHFCache(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HOME", t.TempDir())
	const hash = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	repo := filepath.Join(cache, "models--acme--tiny-llama")
	snap := filepath.Join(repo, "snapshots", hash)
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, fx.Path("config.json"), filepath.Join(snap, "config.json"))
	copyFile(t, fx.Path("model.safetensors"), filepath.Join(snap, "model.safetensors"))
	if err := os.MkdirAll(filepath.Join(repo, "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"main", "v1.0"} {
		if err := os.WriteFile(filepath.Join(repo, "refs", ref), []byte(hash), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, spec := range []string{"acme/tiny-llama", "acme/tiny-llama@v1.0", "acme/tiny-llama@" + hash[:10]} {
		code, out, stderr := runCLI(t, "plan", "--model", spec, "--gpu-memory", "8GiB", "--json")
		if code != 0 {
			t.Fatalf("plan --model %s: exit %d: %s", spec, code, stderr)
		}
		if !strings.Contains(out, "LlamaForCausalLM") {
			t.Errorf("plan --model %s did not read the cached LLaMA config:\n%s", spec, out)
		}
	}
	// inspect's positional checkpoint too.
	if code, out, stderr := runCLI(t, "inspect", "acme/tiny-llama@v1.0"); code != 0 || !strings.Contains(out, "LlamaForCausalLM") || !strings.Contains(out, hash) {
		t.Errorf("inspect acme/tiny-llama@v1.0: exit %d: %s%s", code, out, stderr)
	}
	// A built-in name that is not cached keeps its meaning for plan.
	if code, _, stderr := runCLI(t, "plan", "--model", "llama-small", "--gpu-memory", "8GiB", "--json"); code != 0 {
		t.Errorf("plan --model llama-small (built-in): exit %d: %s", code, stderr)
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"forward", "--model", "acme/absent", "--inputs", "x", "--out", "y"},
			[]string{"--model acme/absent", "not in the local Hugging Face cache", filepath.Join(cache, "models--acme--absent"), "huggingface-cli download acme/absent"}},
		{[]string{"plan", "--model", "acme/tiny-llama@v2"}, []string{`no branch or tag "v2"`, "--revision v2"}},
		{[]string{"tokenize", "--tokenizer", "acme/tok"}, []string{"--tokenizer acme/tok", "huggingface-cli download acme/tok"}},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitBadInput {
			t.Errorf("%v: exit %d, want %d; stderr: %s", c.args, code, exitBadInput, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", c.args, w, stderr)
			}
		}
	}
}
