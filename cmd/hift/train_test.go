package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/safetensors"
)

// TestTrainCLIMatchesGoldens: the CLI acceptance check — `hift train` with the golden's settings writes
// OUT/model.safetensors equal to the fixture's hift_*.safetensors weights.
func TestTrainCLIMatchesGoldens(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	common := []string{"train", "--model", fx.Dir, "--data", fx.Path("inputs.safetensors"), "--batch-size", "2", "--no-shuffle",
		"--decay-norm-and-bias", "--max-grad-norm", "0", "--strategy", "down2up", "--group-size", "1"}
	cases := []struct {
		golden string
		args   []string
	}{
		{"hift_adamw.safetensors", []string{"--steps", "10", "--optimizer", "adamw", "--lr", "1e-3", "--weight-decay", "0.01", "--lr-scheduler", "constant"}},
		{"hift_adamw_linear_sched.safetensors", []string{"--steps", "15", "--optimizer", "adamw", "--lr", "1e-3", "--weight-decay", "0.01", "--lr-scheduler", "linear", "--warmup-steps", "5"}},
		{"hift_sgd.safetensors", []string{"--steps", "10", "--optimizer", "sgd", "--lr", "1e-2", "--momentum", "0.9", "--lr-scheduler", "constant"}},
		{"hift_adagrad.safetensors", []string{"--steps", "10", "--optimizer", "adagrad", "--lr", "1e-2", "--eps", "1e-10", "--lr-scheduler", "constant"}},
		{"hift_adafactor.safetensors", []string{"--steps", "10", "--optimizer", "adafactor", "--lr", "1e-3", "--lr-scheduler", "constant"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			out := t.TempDir()
			args := append(append(append([]string{}, common...), c.args...), "--output", out)
			code, _, stderr := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got := mustCk(t, filepath.Join(out, "model.safetensors"))
			want := mustCk(t, fx.Path(c.golden))
			worst := 0.0
			for _, n := range got.Names() {
				a, _ := got.Float32(n)
				b, err := want.Float32(n)
				if err != nil {
					t.Fatalf("%s: %v", n, err)
				}
				rep, _ := fixture.Compare(a, b, fixture.Tol{ATol: 1e-5, RTol: 1e-4}, nil)
				if !rep.OK() {
					t.Errorf("%s: %s", n, rep)
				}
				worst = max(worst, rep.MaxAbs)
			}
			if len(got.Names()) != 21 {
				t.Errorf("saved %d tensors, want 21", len(got.Names()))
			}
			// The final folder is the model (with a model card); optimizer state lives only in checkpoints.
			for _, f := range []string{"config.json", "generation_config.json", "metrics.jsonl", "README.md"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("output lacks %s", f)
				}
			}
			for _, f := range []string{"hift_trainer_state.json", "hift_optimizer_state.safetensors"} {
				if _, err := os.Stat(filepath.Join(out, f)); err == nil {
					t.Errorf("final model folder holds %s", f)
				}
			}
			t.Logf("%s: max |Δw| %.3g", c.golden, worst)
		})
	}
}

func TestTrainPrintQueueAndResume(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "train", "--model", fx.Dir, "--print-queue", "--group-size", "2", "--strategy", "up2down", "--freeze-layers", "model.norm")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"unit   3  model.norm", "(frozen)", "n=4 units, m=2", "lm_head + model.layers.1", "model.layers.0 + model.embed_tokens"} {
		if !strings.Contains(out, want) {
			t.Errorf("print-queue lacks %q:\n%s", want, out)
		}
	}
	dir := t.TempDir()
	data := fx.Path("inputs.safetensors")
	code, _, stderr = runCLI(t, "train", "--model", fx.Dir, "--data", data, "--batch-size", "1", "--steps", "6", "--save-every", "3", "--save-total-limit", "2", "--output", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoint-3")); err != nil {
		t.Fatalf("no checkpoint-3: %v", err)
	}
	dir2 := t.TempDir()
	code, _, stderr = runCLI(t, "train", "--resume", filepath.Join(dir, "checkpoint-3"), "--data", data, "--output", dir2)
	if code != 0 {
		t.Fatalf("resume exit %d: %s", code, stderr)
	}
	a, b := mustCk(t, filepath.Join(dir, "model.safetensors")), mustCk(t, filepath.Join(dir2, "model.safetensors"))
	for _, n := range a.Names() {
		x, _ := a.Bytes(n)
		y, _ := b.Bytes(n)
		if string(x) != string(y) {
			t.Errorf("%s: resumed run differs", n)
		}
	}
}

func TestTrainBadInput(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	noLabels := writeIDsOnly(t, dir, fx.Path("inputs.safetensors"))
	empty := filepath.Join(dir, "empty.safetensors")
	if err := safetensors.WriteFile(empty, []safetensors.Tensor{{Name: "input_ids", DType: safetensors.I64, Shape: []int{0, 4}}}, nil); err != nil {
		t.Fatal(err)
	}
	data := fx.Path("inputs.safetensors")
	out := filepath.Join(t.TempDir(), "out")
	base := []string{"train", "--model", fx.Dir, "--data", data, "--steps", "1", "--output", out}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no model", []string{"train", "--data", data}, exitBadInput, "needs --model"},
		{"no data", []string{"train", "--model", fx.Dir}, exitBadInput, "needs --data"},
		{"unknown optimizer", append(base, "--optimizer", "adamax"), exitBadInput, "adamax"},
		{"group size 0", append(base, "--group-size", "0"), exitBadInput, "group size must be >= 1"},
		{"bad strategy", append(base, "--strategy", "sideways"), exitBadInput, "sideways"},
		{"misspelt strategy", append(base, "--strategy", "down2upp"), exitBadInput, `did you mean "down2up"?`},
		{"freeze out of range", append(base, "--freeze-layers", "9"), exitError, "out of range"},
		{"freeze unknown name", append(base, "--freeze-layers", "model.foo"), exitError, "model.foo"},
		{"bad groups", append(base, "--groups", "zigzag"), exitBadInput, "rotate or partition"},
		{"nesterov without momentum", append(base, "--optimizer", "sgd", "--nesterov"), exitBadInput, "momentum"},
		{"resume with flags", []string{"train", "--resume", dir, "--data", data, "--lr", "1"}, exitBadInput, "drop --lr"},
		{"resume not a checkpoint", []string{"train", "--resume", dir, "--data", data}, exitError, "not a hift checkpoint"},
		{"data without labels", []string{"train", "--model", fx.Dir, "--data", noLabels, "--steps", "1", "--output", out}, exitError, "no labels"},
		{"empty data", []string{"train", "--model", fx.Dir, "--data", empty, "--steps", "1", "--output", out}, exitError, "empty"},
		{"no output", []string{"train", "--model", fx.Dir, "--data", data, "--steps", "1"}, exitBadInput, "needs --output"},
		{"bad lr scheduler", append(base, "--lr-scheduler", "exp"), exitBadInput, "exp"},
		{"init-head without task", append(base, "--init-head"), exitBadInput, "go with --task"},
		{"unknown task", append(base, "--task", "translation"), exitBadInput, "--task must be"},
		{"lora rank without --lora", append(base, "--lora-r", "4"), exitBadInput, "need --lora"},
		{"lora unknown target", append(base, "--lora", "--lora-targets", "c_attn"), exitError, "c_attn"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d (want %d), stderr:\n%s\nwant it to contain %q", code, c.code, stderr, c.want)
			}
		})
	}
}
