package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func effective(t *testing.T, args ...string) (map[string]any, string) {
	t.Helper()
	code, out, stderr := runCLI(t, append(args, "--print-config")...)
	if code != 0 {
		t.Fatalf("%v --print-config: exit %d: %s", args, code, stderr)
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("--print-config output is not YAML: %v\n%s", err, out)
	}
	return m, out
}

// TestConfigFile: --config sets flags from YAML (sections, snake_case keys) or JSON, the command line wins,
// --print-config prints a file that reproduces itself, a training run writes hift_config.yaml into its output
// and checkpoints, and mistakes are errors naming the file, line and nearest flag.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	lm := tinyModel(t, "LlamaForCausalLM", "")
	data := repoPath("examples", "data", "opticks-queries.jsonl")
	cfg := filepath.Join(dir, "run.yaml")
	os.WriteFile(cfg, []byte(`# a recipe
model: `+lm+`
data: `+data+`
seq_len: 32
max-rows: 8
optimizer:            # a section: its keys are flags
  optimizer: adam
  lr: 3e-3
hift:
  strategy: up2down
  group_size: 2
steps: 9
batch-size: 2
no-shuffle: true
`), 0o644)
	m, out := effective(t, "train", "--config", cfg, "--steps", "4")
	for k, want := range map[string]any{"seq-len": 32, "optimizer": "adam", "lr": 0.003, "strategy": "up2down", "group-size": 2, "steps": 4, "no-shuffle": true, "model": lm} {
		if m[k] != want {
			t.Errorf("effective %s = %v (%T), want %v", k, m[k], m[k], want)
		}
	}
	if _, ok := m["group-element"]; ok {
		t.Errorf("aliases should not be written: %v", m["group-element"])
	}
	// The printed config reproduces itself.
	printed := filepath.Join(dir, "printed.yaml")
	os.WriteFile(printed, []byte(out), 0o644)
	if _, again := effective(t, "train", "--config", printed); again != out {
		t.Errorf("--print-config of the printed config differs:\n%s\nvs\n%s", again, out)
	}
	// JSON works too.
	js := filepath.Join(dir, "run.json")
	os.WriteFile(js, []byte(`{"model": "`+lm+`", "lr": 0.5, "lr_scheduler": "cosine"}`), 0o644)
	if m, _ := effective(t, "train", "--config", js); m["lr"] != 0.5 || m["lr-scheduler"] != "cosine" {
		t.Errorf("JSON config: lr %v, lr-scheduler %v", m["lr"], m["lr-scheduler"])
	}

	// A real run writes hift_config.yaml into the output and each checkpoint.
	outDir := filepath.Join(dir, "out")
	code, _, stderr := runCLI(t, "train", "--config", cfg, "--output", outDir, "--save-every", "3", "--steps", "3", "--report-to", "tensorboard")
	if code != 0 {
		t.Fatalf("train --config: exit %d: %s", code, stderr)
	}
	// The end of the run also draws metrics.svg and writes TensorBoard events.
	if svg, err := os.ReadFile(filepath.Join(outDir, "metrics.svg")); err != nil || !strings.Contains(string(svg), "learning rate") {
		t.Errorf("metrics.svg after training: %v", err)
	}
	if ev, _ := filepath.Glob(filepath.Join(outDir, "runs", "events.out.tfevents.*")); len(ev) != 1 {
		t.Errorf("--report-to tensorboard wrote %v", ev)
	}
	if code, _, stderr := runCLI(t, "train", "--config", cfg, "--report-to", "wandb", "--no-save"); code != exitBadInput || !strings.Contains(stderr, "--report-to") {
		t.Errorf("--report-to wandb: exit %d: %s", code, stderr)
	}
	for _, d := range []string{outDir, filepath.Join(outDir, "checkpoint-3")} {
		b, err := os.ReadFile(filepath.Join(d, RunConfigFile))
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		var saved map[string]any
		if err := yaml.Unmarshal(b, &saved); err != nil || saved["lr"] != 0.003 || saved["steps"] != 3 || saved["output"] != outDir {
			t.Errorf("%s/%s: lr %v steps %v output %v (%v)", d, RunConfigFile, saved["lr"], saved["steps"], saved["output"], err)
		}
	}

	for _, c := range []struct {
		body string
		want []string
	}{
		{"lr_sheduler: cosine\n", []string{"bad.yaml:1", `unknown key "lr_sheduler"`, `did you mean "lr-scheduler"`}},
		{"steps: 3\nlr: fast\n", []string{"bad.yaml:2", "lr", "fast"}},
		{"lr: 1\nlr: 2\n", []string{"bad.yaml:2", "set twice"}},
		{"- lr\n", []string{"must be a mapping"}},
		{"lr: [1\n", []string{"not valid YAML"}},
		{"config: other.yaml\n", []string{`unknown key "config"`}},
	} {
		bad := filepath.Join(dir, "bad.yaml")
		os.WriteFile(bad, []byte(c.body), 0o644)
		code, _, stderr := runCLI(t, "train", "--config", bad, "--print-config")
		if code != exitBadInput {
			t.Errorf("%q: exit %d, want %d: %s", c.body, code, exitBadInput, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%q: stderr lacks %q: %s", c.body, w, stderr)
			}
		}
	}
	// init keeps its own --config (the HF config.json) and gets no --print-config.
	root := newRootCmd(&factory{stdout: os.Stdout, stderr: os.Stderr})
	init, _, err := root.Find([]string{"init"})
	if err != nil {
		t.Fatal(err)
	}
	if init.Flags().Lookup("print-config") != nil || !strings.Contains(init.Flags().Lookup("config").Usage, "config.json") {
		t.Errorf("init's --config was replaced")
	}
}
