package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/fixture"
)

// TestOutputsNeverReplaceUserFiles: forward, export, import and init refuse (exit 2, naming the path) an output
// that is an input, lies in the input folder, is a folder where a file is wanted, or already exists (files: unless
// --overwrite; checkpoint folders: always), and leave every file as it was. Before, `forward --out
// MODEL/model.safetensors` and `export --out MODEL/model.safetensors` replaced the model, export replaced any
// existing file, and `init`/`import` wrote random or imported weights over an existing checkpoint.
func TestOutputsNeverReplaceUserFiles(t *testing.T) {
	dir := t.TempDir()
	model := copyModel(t, dir, "model")
	tiny := filepath.Join(dir, "tiny")
	os.MkdirAll(tiny, 0o755)
	for _, n := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		copyFile(t, repoPath("examples", "tiny-llama", n), filepath.Join(tiny, n))
	}
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	inputs := filepath.Join(dir, "inputs.safetensors")
	copyFile(t, filepath.Join(fx.Dir, "inputs.safetensors"), inputs)
	mine := filepath.Join(dir, "mine.gguf")
	os.WriteFile(mine, []byte("precious"), 0o644)
	onnxDir := filepath.Join(dir, "onnx")
	os.MkdirAll(onnxDir, 0o755)
	os.WriteFile(filepath.Join(onnxDir, "model.onnx"), []byte("an earlier export"), 0o644)
	badTok := filepath.Join(dir, "tok.json")
	os.WriteFile(badTok, []byte(`{"model": {"type": "BPE"`), 0o644)
	before := treeSums(t, dir)

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"forward onto the model's weights", []string{"forward", "--model", model, "--inputs", inputs, "--out", filepath.Join(model, "model.safetensors"), "--overwrite"}, 2, "input folder"},
		{"forward onto its inputs", []string{"forward", "--model", model, "--inputs", inputs, "--out", inputs, "--overwrite"}, 2, "is the input"},
		{"forward onto a folder", []string{"forward", "--model", model, "--inputs", inputs, "--out", model}, 2, "is a folder"},
		{"forward onto an existing file", []string{"forward", "--model", model, "--inputs", inputs, "--out", mine}, 2, "--overwrite"},
		{"export onto the model's weights", []string{"export", "--model", tiny, "--out", filepath.Join(tiny, "model.safetensors"), "--overwrite"}, 2, "input folder"},
		{"export onto an existing file", []string{"export", "--model", tiny, "--out", mine}, 2, "already exists"},
		{"export onto the model folder", []string{"export", "--model", tiny, "--out", tiny}, 2, "is a folder"},
		{"export to standard output", []string{"export", "--model", tiny, "--out", "-"}, 2, "not to standard output"},
		{"onnx export onto an earlier one", []string{"export", "--format", "onnx", "--model", tiny, "--out", onnxDir}, 2, "already exists"},
		{"inspect an ONNX file", []string{"inspect", filepath.Join(onnxDir, "model.onnx")}, 2, "not ONNX"},
		{"import into a checkpoint", []string{"import", "--in", mine, "--out", tiny}, 2, "already holds a checkpoint"},
		{"import into a file", []string{"import", "--in", mine, "--out", inputs}, 2, "is a file"},
		{"init over a checkpoint", []string{"init", "--config", filepath.Join(tiny, "config.json"), "--out", model}, 2, "already holds a checkpoint"},
		{"init with a broken tokenizer", []string{"init", "--config", filepath.Join(tiny, "config.json"), "--tokenizer", badTok, "--out", filepath.Join(dir, "new")}, 1, "tok.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.want)
			}
		})
	}
	if after := treeSums(t, dir); !sameSums(before, after) {
		t.Errorf("files changed or appeared:\nbefore %v\nafter  %v", before, after)
	}

	// --overwrite replaces a file that is not an input; init saves the tokenizer under the name loaders look for.
	if code, _, stderr := runCLI(t, "forward", "--model", model, "--inputs", inputs, "--out", mine, "--overwrite"); code != 0 {
		t.Fatalf("forward --overwrite: exit %d: %s", code, stderr)
	}
	tokCopy := filepath.Join(dir, "my-tok.json")
	copyFile(t, filepath.Join(tiny, "tokenizer.json"), tokCopy)
	out := filepath.Join(dir, "scratch")
	if code, _, stderr := runCLI(t, "init", "--config", filepath.Join(tiny, "config.json"), "--tokenizer", tokCopy, "--out", out); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "tokenizer.json")); err != nil {
		t.Errorf("init did not save the tokenizer as tokenizer.json: %v", err)
	}
}
