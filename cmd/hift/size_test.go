package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hift-go/hift/graph"
)

// editedModel copies the LLaMA fixture and applies edit to its config.json.
func editedModel(t *testing.T, name string, edit func(cfg map[string]any)) string {
	t.Helper()
	dir := copyModel(t, t.TempDir(), name)
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	b, _ = json.Marshal(cfg)
	os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
	return dir
}

// TestAbsurdSizesRefused: a 1,000,000-layer config is refused before anything is allocated by train, forward,
// init and inspect (inspect answers at once, and even without the memory check it does not build the model);
// inconsistent heads are refused; inspect reports tensors that do not match the config and a truncated GGUF
// with a non-zero exit.
func TestAbsurdSizesRefused(t *testing.T) {
	huge := editedModel(t, "huge", func(c map[string]any) { c["num_hidden_layers"] = 1000000 })
	data := filepath.Join(huge, "inputs.safetensors")
	out := filepath.Join(t.TempDir(), "o")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"train", []string{"train", "--model", huge, "--data", data, "--steps", "1", "--output", out}, "more than this machine's"},
		{"forward", []string{"forward", "--model", huge, "--inputs", data, "--out", filepath.Join(out, "f.safetensors")}, "more than this machine's"},
		{"init", []string{"init", "--config", filepath.Join(huge, "config.json"), "--out", filepath.Join(out, "init")}, "more than this machine's"},
		{"inspect", []string{"inspect", huge}, "more than this machine's"},
		{"inconsistent heads", []string{"inspect", editedModel(t, "heads", func(c map[string]any) { c["num_key_value_heads"] = 3 })},
			"not divisible by the 3 key/value heads"},
		{"negative size", []string{"forward", "--model", editedModel(t, "neg", func(c map[string]any) { c["vocab_size"] = -1 }),
			"--inputs", data, "--out", filepath.Join(out, "g.safetensors")}, "vocab_size is -1"},
		{"shape mismatch", []string{"inspect", editedModel(t, "mlp", func(c map[string]any) { c["intermediate_size"] = 100 })},
			"model.layers.0.mlp.up_proj.weight: shape"},
	}
	if machineMemory() == 0 {
		t.Log("no /proc/meminfo: the memory cases cannot apply here")
		cases = cases[4:]
	}
	for _, c := range cases {
		start := time.Now()
		code, _, stderr := runCLI(t, c.args...)
		if code != exitError || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d: %s; want exit 1 and %q", c.name, code, stderr, c.want)
		}
		t.Logf("%s: refused in %v", c.name, time.Since(start).Round(time.Millisecond))
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused run created %s", out)
	}
	// Without the memory check (a machine with terabytes), inspect still answers without building 1M layers.
	start := time.Now()
	in, err := graph.Inspect(huge)
	if err != nil || len(in.Problems) != 1 || !strings.Contains(in.Problems[0], "describes 1000000 layers, but the weights hold only 21 tensors") {
		t.Errorf("graph.Inspect: %v %v", err, in)
	}
	t.Logf("graph.Inspect of a 1,000,000-layer config: %v", time.Since(start).Round(time.Millisecond))
}

// TestInspectTruncatedGGUF: a GGUF whose tensor data is cut short is reported naming the tensor, exit 1.
func TestInspectTruncatedGGUF(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "m.gguf")
	code, _, stderr := runCLI(t, "export", "--format", "gguf", "--model", repoPath("examples", "tiny-llama"), "--out", full)
	if code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "inspect", full); code != 0 {
		t.Fatalf("inspect of the whole file: exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(full)
	cut := filepath.Join(dir, "cut.gguf")
	os.WriteFile(cut, b[:len(b)-1000], 0o644)
	code, _, stderr = runCLI(t, "inspect", cut)
	if code != exitError || !strings.Contains(stderr, "the file is truncated") || !strings.Contains(stderr, "cut.gguf") {
		t.Errorf("truncated GGUF: exit %d: %s", code, stderr)
	}
}
