package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// textRun is a causal-LM run on JSONL text with non-default data settings, so a resume that forgot them would
// build different batches.
func textRun(model, data, out string, steps string, extra ...string) []string {
	return append([]string{"train", "--model", model, "--data", data, "--seq-len", "64", "--max-rows", "20",
		"--batch-size", "2", "--steps", steps, "--save-every", "4", "--lr", "3e-3", "--lr-scheduler", "constant",
		"--group-size", "2", "--output", out}, extra...)
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	if err1 != nil || err2 != nil {
		t.Fatalf("%v %v", err1, err2)
	}
	return bytes.Equal(x, y)
}

// metricSteps returns the training steps recorded in metrics.jsonl, in order.
func metricSteps(t *testing.T, dir string) []int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("metrics line %q: %v", sc.Text(), err)
		}
		if _, eval := m["eval_loss"]; !eval {
			steps = append(steps, int(m["step"].(float64)))
		}
	}
	return steps
}

// TestResumeRestoresSettings: --resume restores the data settings (--seq-len 64, --max-rows, ...) and extends
// the run with a larger --steps; with the constant schedule the extended run equals a straight run bit for bit;
// metrics.jsonl holds each step once; a changed data file or tokenizer is refused unless --allow-data-change.
func TestResumeRestoresSettings(t *testing.T) {
	model := tinyModel(t, "LlamaForCausalLM", "")
	data := repoPath("examples", "data", "opticks-queries.jsonl")
	root := t.TempDir()
	straight, parts := filepath.Join(root, "straight"), filepath.Join(root, "parts")
	if code, _, log := runCLI(t, textRun(model, data, straight, "8")...); code != 0 {
		t.Fatalf("straight: %s", log)
	}
	if code, _, log := runCLI(t, textRun(model, data, parts, "4")...); code != 0 {
		t.Fatalf("first part: %s", log)
	}
	// A step line of a killed continuation that must not survive the resume.
	f, _ := os.OpenFile(filepath.Join(parts, "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0o644)
	f.WriteString(`{"step":4,"loss":9}` + "\n" + `{"step":5,"lo`)
	f.Close()
	code, _, log := runCLI(t, "train", "--resume", filepath.Join(parts, "checkpoint-4"), "--steps", "8", "--output", parts)
	if code != 0 {
		t.Fatalf("resume: %s", log)
	}
	for _, want := range []string{"extended from 4 to 8 steps", "constant, so it continues unchanged", "--seq-len=64", "--max-rows=20"} {
		if !strings.Contains(log, want) {
			t.Errorf("start banner lacks %q:\n%s", want, log)
		}
	}
	if !sameFile(t, filepath.Join(straight, "model.safetensors"), filepath.Join(parts, "model.safetensors")) {
		t.Errorf("4 steps + resume --steps 8 differs from 8 straight steps")
	}
	if got := metricSteps(t, parts); len(got) != 8 || got[0] != 0 || got[7] != 7 || got[4] != 4 {
		t.Errorf("metrics.jsonl steps %v, want 0..7 once each", got)
	}
	// A different data file.
	changed := filepath.Join(root, "changed.jsonl")
	b, _ := os.ReadFile(data)
	os.WriteFile(changed, append([]byte(`{"text":"a new first row"}`+"\n"), b...), 0o644)
	ck := filepath.Join(straight, "checkpoint-4")
	code, _, log = runCLI(t, "train", "--resume", ck, "--data", changed, "--output", filepath.Join(root, "c1"))
	if code != exitBadInput || !strings.Contains(log, "train data "+changed) || !strings.Contains(log, "--allow-data-change") {
		t.Errorf("changed data: exit %d: %s", code, log)
	}
	code, _, log = runCLI(t, "train", "--resume", ck, "--data", changed, "--allow-data-change", "--output", filepath.Join(root, "c2"))
	if code != 0 || !strings.Contains(log, "warning: train data") {
		t.Errorf("--allow-data-change: exit %d: %s", code, log)
	}
	// A different tokenizer (the copy resumed from carries an edited tokenizer_config.json).
	edited := filepath.Join(root, "edited", "checkpoint-4")
	os.MkdirAll(edited, 0o755)
	entries, _ := os.ReadDir(ck)
	for _, e := range entries {
		copyFile(t, filepath.Join(ck, e.Name()), filepath.Join(edited, e.Name()))
	}
	cfg, _ := os.ReadFile(filepath.Join(edited, "tokenizer_config.json"))
	os.WriteFile(filepath.Join(edited, "tokenizer_config.json"), bytes.Replace(cfg, []byte("{"), []byte(`{"model_max_length": 77,`), 1), 0o644)
	code, _, log = runCLI(t, "train", "--resume", edited, "--output", filepath.Join(root, "c3"))
	if code != exitBadInput || !strings.Contains(log, "the tokenizer") {
		t.Errorf("changed tokenizer: exit %d: %s", code, log)
	}
	// Shortening is refused.
	code, _, log = runCLI(t, "train", "--resume", ck, "--steps", "2", "--output", filepath.Join(root, "c4"))
	if code == 0 || !strings.Contains(log, "can only be extended") {
		t.Errorf("--steps 2: exit %d: %s", code, log)
	}
}
