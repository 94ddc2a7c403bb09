package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/internal/outdir"
)

// copyModel copies the LLaMA fixture into dir/name, so a broken guard could only harm a copy.
func copyModel(t *testing.T, dir, name string) string {
	t.Helper()
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, name)
	os.MkdirAll(dst, 0o755)
	entries, _ := os.ReadDir(fx.Dir)
	for _, e := range entries {
		if e.Type().IsRegular() {
			copyFile(t, filepath.Join(fx.Dir, e.Name()), filepath.Join(dst, e.Name()))
		}
	}
	return dst
}

// treeSums maps every file under dir to its SHA-256.
func treeSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		h := sha256.Sum256(b)
		rel, _ := filepath.Rel(dir, p)
		sums[rel] = hex.EncodeToString(h[:])
		return nil
	})
	return sums
}

func sameSums(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestOutputNeverDestroysInputs: --output equal to, inside or containing --model or the --resume checkpoint is
// refused before anything is loaded (exit 2) and every input file stays byte-identical; a foreign non-empty
// folder needs --overwrite; resuming into the run's own folder works.
func TestOutputNeverDestroysInputs(t *testing.T) {
	root := t.TempDir()
	model := copyModel(t, root, "model")
	data := filepath.Join(model, "inputs.safetensors")
	run := filepath.Join(root, "run")
	code, _, stderr := runCLI(t, "train", "--model", model, "--data", data, "--steps", "2", "--save-every", "2", "--output", run)
	if code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	ck := filepath.Join(run, "checkpoint-2")
	before := treeSums(t, root)
	foreign := filepath.Join(root, "foreign")
	os.MkdirAll(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644)
	before = treeSums(t, root)
	base := []string{"train", "--model", model, "--data", data, "--steps", "1"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"output is model", append(base, "--output", model), "is --model"},
		{"output is model (trailing slash)", append(base, "--output", model+"/"), "is --model"},
		{"output inside model", append(base, "--output", filepath.Join(model, "out")), "is inside --model"},
		{"output contains model", append(base, "--output", root), "contains --model"},
		{"output is checkpoint", []string{"train", "--resume", ck, "--output", ck}, "is --resume"},
		{"output inside checkpoint", []string{"train", "--resume", ck, "--output", filepath.Join(ck, "x")}, "is inside --resume"},
		{"output contains data", []string{"train", "--model", filepath.Join(run, "checkpoint-2"), "--data", data, "--output", model}, "contains --data"},
		{"foreign non-empty output", append(base, "--output", foreign), "not empty (notes.txt)"},
		{"fresh run over an earlier run", append(base, "--output", run), "--overwrite"},
		{"no output", base, "needs --output"},
		{"no-save with output", append(base, "--output", filepath.Join(root, "x"), "--no-save"), "exclude each other"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitBadInput || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", c.name, code, stderr, c.want)
		}
		if after := treeSums(t, root); !sameSums(before, after) {
			t.Fatalf("%s: files under the inputs changed", c.name)
		}
	}
	// --overwrite writes into the foreign folder (the user's file stays); resuming into the run's folder works.
	os.MkdirAll(filepath.Join(foreign, "checkpoint-7"), 0o755) // not hift's: no trainer state inside
	code, _, stderr = runCLI(t, append(base, "--output", foreign, "--overwrite")...)
	if b, _ := os.ReadFile(filepath.Join(foreign, "notes.txt")); code != 0 || string(b) != "mine" {
		t.Errorf("--overwrite: exit %d (%s), notes.txt %q", code, stderr, b)
	}
	if _, err := os.Stat(filepath.Join(foreign, "checkpoint-7")); err != nil {
		t.Errorf("--overwrite removed a checkpoint-7 folder hift did not write")
	}
	code, _, stderr = runCLI(t, "train", "--resume", ck, "--steps", "3", "--output", run)
	if code != 0 {
		t.Errorf("resume into the run's folder: exit %d: %s", code, stderr)
	}
	// --overwrite over an earlier hift run removes that run's checkpoints (they must not be resumed by mistake).
	code, _, stderr = runCLI(t, "train", "--model", model, "--data", data, "--steps", "1", "--output", run, "--overwrite")
	if _, err := os.Stat(ck); code != 0 || err == nil {
		t.Errorf("--overwrite over a run: exit %d (%s); old checkpoint-2 still there: %v", code, stderr, err == nil)
	}
	t.Logf("%d refused placements, inputs byte-identical (%d files checked each time)", len(cases), len(before))
}

// TestOutputLockAndFolder: a second writer on the same folder fails at once naming the holder's PID; the final
// folder holds the model, config, tokenizer/generation files and a model card, all 0644, and no optimizer
// state; leftovers of a killed run are removed at the next start.
func TestOutputLockAndFolder(t *testing.T) {
	root := t.TempDir()
	model := copyModel(t, root, "model")
	data := filepath.Join(model, "inputs.safetensors")
	out := filepath.Join(root, "out")
	l, err := outdir.Acquire(out)
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "train", "--model", model, "--data", data, "--steps", "1", "--output", out, "--report-to", "tensorboard")
	if code != exitError || !strings.Contains(stderr, "in use by another hift run (pid "+strconv.Itoa(os.Getpid())+")") {
		t.Errorf("second writer: exit %d: %s", code, stderr)
	}
	// The refused run wrote nothing into the busy folder: no TensorBoard events, config or chart.
	for _, n := range []string{"runs", "hift_config.yaml", "metrics.svg"} {
		if _, err := os.Stat(filepath.Join(out, n)); err == nil {
			t.Errorf("a refused run wrote %s into the locked folder", n)
		}
	}
	l.Release()
	code, _, stderr = runCLI(t, "train", "--model", model, "--data", data, "--steps", "4", "--save-every", "2", "--save-total-limit", "1", "--output", out, "--report-to", "tensorboard")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if info, _ := e.Info(); e.Type().IsRegular() && info.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v, want 0644", e.Name(), info.Mode().Perm())
		}
	}
	sort.Strings(names)
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
		if outdir.IsLeftover(n) || n == "hift_trainer_state.json" || n == "hift_optimizer_state.safetensors" || n == "checkpoint-2" {
			t.Errorf("output holds %s (all: %v)", n, names)
		}
	}
	for _, n := range []string{".hift.lock", "README.md", "checkpoint-4", "config.json", "generation_config.json", "metrics.jsonl", "model.safetensors", "runs", "hift_config.yaml", "metrics.svg"} {
		if !have[n] {
			t.Errorf("output lacks %s (has %v)", n, names)
		}
	}
	card, _ := os.ReadFile(filepath.Join(out, "README.md"))
	for _, w := range []string{"base_model: model", "Steps: 4", "Final training loss", "sha256", "adamw"} {
		if !strings.Contains(string(card), w) {
			t.Errorf("model card lacks %q:\n%s", w, card)
		}
	}
	// Debris of a run killed mid-write and mid-prune is removed when the run is resumed into the folder.
	os.MkdirAll(filepath.Join(out, "checkpoint-6.tmp"), 0o755)
	os.WriteFile(filepath.Join(out, ".model.safetensors.tmp-77"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(out, ".trash-checkpoint-2-99"), 0o755)
	code, _, stderr = runCLI(t, "train", "--resume", filepath.Join(out, "checkpoint-4"), "--steps", "6", "--output", out)
	if code != 0 || !strings.Contains(stderr, "removed 3 leftover(s)") {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	for _, n := range []string{"checkpoint-6.tmp", ".model.safetensors.tmp-77", ".trash-checkpoint-2-99", "checkpoint-4"} {
		if _, err := os.Stat(filepath.Join(out, n)); err == nil {
			t.Errorf("%s is still there", n)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "checkpoint-6", "hift_optimizer_state.safetensors")); err != nil {
		t.Errorf("checkpoint-6 incomplete: %v", err)
	}
}

// TestUsageErrors: every usage error exits 2, with a "did you mean" where one exists; non-finite float flags
// and negative counts are refused.
func TestUsageErrors(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"train", "--model", fx.Dir, "--data", fx.Path("inputs.safetensors"), "--output", filepath.Join(t.TempDir(), "o")}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"trian"}, `did you mean "train"?`},
		{"unknown flag", append(base, "--lrr", "1"), "did you mean --lr?"},
		{"unknown flag, no neighbour", append(base, "--zzzzzzzz"), "unknown flag: --zzzzzzzz"},
		{"missing argument", []string{"inspect"}, "accepts 1 arg(s)"},
		{"extra argument", []string{"train", "extra"}, "unknown command"},
		{"bad enum", append(base, "--lr-scheduler", "cosin"), `did you mean "cosine"?`},
		{"lr NaN", append(base, "--lr", "NaN"), "--lr must be a finite number"},
		{"lr Inf", append(base, "--lr", "+Inf"), "--lr must be a finite number"},
		{"lr beyond float32", append(base, "--lr", "1e39"), "--lr must be a finite number (in float32)"},
		{"clip NaN", append(base, "--max-grad-norm", "nan"), "--max-grad-norm must be a finite number"},
		{"negative steps", append(base, "--steps", "-3"), "--steps must not be negative"},
		{"negative save-every", append(base, "--save-every", "-1"), "--save-every must not be negative"},
		{"negative seq-len", append(base, "--seq-len", "-1"), "--seq-len must not be negative"},
		{"bad value type", append(base, "--steps", "ten"), "invalid argument"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitBadInput || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", c.name, code, stderr, c.want)
		}
		if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
			t.Errorf("%s: stack trace reached the user", c.name)
		}
	}
	t.Logf("%d usage errors: all exit 2", len(cases))
}
