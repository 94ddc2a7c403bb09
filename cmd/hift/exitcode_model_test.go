package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/fixture"
)

// TestMissingModelExitCode: one rule for a checkpoint that is not there, on every command that reads one: a
// --model (or --tokenizer, or inspect's argument) that is neither a local path nor a cached Hugging Face id is
// bad input, exit 2, and the message names the flag and the path — for a folder path and for a hub id alike
// (a missing local folder used to exit 1 while a missing hub id exited 2). A path that exists but holds no
// checkpoint stays a runtime error, exit 1. plan keeps its built-in model names.
func TestMissingModelExitCode(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_HOME", t.TempDir())
	dir := t.TempDir()
	in := fx.Path("inputs.safetensors")
	data := filepath.Join(dir, "d.jsonl")
	os.WriteFile(data, []byte(`{"text": "light"}`+"\n"), 0o644)
	commands := map[string][]string{
		"train":    {"train", "--data", in, "--steps", "1", "--output", filepath.Join(dir, "out")},
		"eval":     {"eval", "--data", data},
		"generate": {"generate", "--prompt", "light"},
		"forward":  {"forward", "--inputs", in, "--out", filepath.Join(dir, "f.safetensors")},
		"export":   {"export", "--format", "gguf", "--out", filepath.Join(dir, "m.gguf")},
		"convert":  {"convert", "--out", filepath.Join(dir, "conv")},
	}
	missing := []struct {
		spec string
		want string
	}{
		{filepath.Join(dir, "no-such-folder"), "no such file or folder"}, // an absolute path
		{"no-such-folder/sub/dir", "no such file or folder"},             // a relative path that is no hub id
		{"acme/absent", "not in the local Hugging Face cache"},           // looks like a hub id
		{"absent-model", "not in the local Hugging Face cache"},          // a bare legacy hub id
	}
	for name, base := range commands {
		for _, m := range missing {
			args := append(append([]string{}, base...), "--model", m.spec)
			code, _, stderr := runCLI(t, args...)
			if code != exitBadInput || !strings.Contains(stderr, "--model "+m.spec) || !strings.Contains(stderr, m.want) {
				t.Errorf("%s --model %s: exit %d (want %d), stderr should name --model %s and say %q:\n%s", name, m.spec, code, exitBadInput, m.spec, m.want, stderr)
			}
		}
	}
	for _, m := range missing {
		code, _, stderr := runCLI(t, "inspect", m.spec)
		if code != exitBadInput || !strings.Contains(stderr, m.spec) || !strings.Contains(stderr, m.want) {
			t.Errorf("inspect %s: exit %d (want %d): %s", m.spec, code, exitBadInput, stderr)
		}
		code, _, stderr = runCLI(t, "tokenize", "--tokenizer", m.spec)
		if code != exitBadInput || !strings.Contains(stderr, "--tokenizer "+m.spec) {
			t.Errorf("tokenize --tokenizer %s: exit %d (want %d): %s", m.spec, code, exitBadInput, stderr)
		}
	}
	// --tokenizer on a command that also takes --model.
	if code, _, stderr := runCLI(t, "generate", "--model", fx.Dir, "--tokenizer", filepath.Join(dir, "no-tok"), "--prompt", "x"); code != exitBadInput || !strings.Contains(stderr, "--tokenizer "+filepath.Join(dir, "no-tok")) {
		t.Errorf("generate --tokenizer <missing>: exit %d: %s", code, stderr)
	}
	// Exists but is no checkpoint: a runtime error, exit 1, naming the folder.
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	for _, args := range [][]string{{"inspect", empty}, append(append([]string{}, commands["forward"]...), "--model", empty)} {
		if code, _, stderr := runCLI(t, args...); code != exitError || !strings.Contains(stderr, empty) {
			t.Errorf("%v: exit %d (want %d): %s", args, code, exitError, stderr)
		}
	}
	// plan still takes built-in names.
	if code, _, stderr := runCLI(t, "plan", "--model", "llama-small", "--gpu-memory", "8GiB", "--json"); code != 0 {
		t.Errorf("plan --model llama-small: exit %d: %s", code, stderr)
	}
}
