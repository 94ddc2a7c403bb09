package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hift-go/hift/hift"
	"github.com/hift-go/hift/internal/outdir"
	"github.com/hift-go/hift/io/safetensors"
)

// cliChildEnv makes the test binary act as the hift command (TestMain), so chaos tests run real processes.
const cliChildEnv = "HIFT_TEST_AS_CLI"

var chaosKills = flag.Int("chaos.kills", 3, "kill -9 count of TestChaosKill (CI keeps the default; try 40)")

// checkpointComplete opens every file of a checkpoint folder and reads every tensor; it returns what is wrong.
func checkpointComplete(dir string) error {
	for _, f := range []string{"config.json", "model.safetensors", hift.StateFile, hift.TrainerStateFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return err
		}
	}
	if _, err := hift.ReadCheckpoint(dir); err != nil {
		return err
	}
	for _, f := range []string{"model.safetensors", hift.StateFile} {
		ck, err := safetensors.Open(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		for _, n := range ck.Names() {
			if _, err := ck.Bytes(n); err != nil {
				ck.Close()
				return fmt.Errorf("%s: %s: %w", f, n, err)
			}
		}
		ck.Close()
	}
	var cfg map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	return json.Unmarshal(b, &cfg)
}

// TestChaosKill: a --seq-len 64 text run with a checkpoint (and a pruning) every step is killed with SIGKILL at
// random moments (-chaos.kills times), each time resumed from its latest checkpoint. After every kill each
// remaining checkpoint folder is complete, and the finished run's model equals an uninterrupted run's bit for
// bit, with every step once in metrics.jsonl.
func TestChaosKill(t *testing.T) {
	model := tinyModel(t, "LlamaForCausalLM", "")
	data := repoPath("examples", "data", "opticks-queries.jsonl")
	root := t.TempDir()
	const steps = 12
	fresh := func(out string) []string {
		return []string{"train", "--model", model, "--data", data, "--seq-len", "64", "--max-rows", "24", "--batch-size", "2",
			"--steps", fmt.Sprint(steps), "--save-every", "1", "--save-total-limit", "2", "--lr", "3e-3", "--lr-scheduler", "linear",
			"--warmup-steps", "2", "--group-size", "2", "--output", out, "--overwrite"}
	}
	child := func(args []string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), cliChildEnv+"=1")
		return cmd
	}
	ref := filepath.Join(root, "reference")
	start := time.Now()
	if out, err := child(fresh(ref)).CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, out)
	}
	full := time.Since(start)
	want, _ := os.ReadFile(filepath.Join(ref, "model.safetensors"))

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	out := filepath.Join(root, "chaos")
	kills, midWrite, finished, checked := 0, 0, 0, 0
	args := fresh(out)
	for kills < *chaosKills {
		cmd := child(args)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run exited with %v: %s", err, stderr.String())
			}
			finished++ // finished before the kill: check it, then start a fresh round
			if got, _ := os.ReadFile(filepath.Join(out, "model.safetensors")); !bytes.Equal(got, want) {
				t.Fatalf("a run resumed after kills differs from the uninterrupted run")
			}
			args = fresh(out)
			continue
		case <-time.After(time.Duration(rng.Float64() * float64(full))):
			cmd.Process.Kill()
			<-done
			kills++
		}
		names, _ := outdir.Contents(out)
		leftover := false
		for _, n := range names {
			if outdir.IsLeftover(n) {
				leftover = true
			}
		}
		if leftover {
			midWrite++
		}
		cks, _ := hift.ListCheckpoints(out)
		for _, ck := range cks {
			if err := checkpointComplete(ck); err != nil {
				t.Fatalf("after kill %d: %s is incomplete: %v", kills, ck, err)
			}
			checked++
		}
		if len(cks) == 0 {
			args = fresh(out)
		} else {
			args = []string{"train", "--resume", cks[len(cks)-1], "--output", out}
		}
	}
	if b, err := child(args).CombinedOutput(); err != nil {
		t.Fatalf("final run %v: %v\n%s", args, err, b)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "model.safetensors")); !bytes.Equal(got, want) {
		t.Fatalf("the run resumed after %d kills differs from the uninterrupted run", kills)
	}
	if s := metricSteps(t, out); len(s) != steps || s[0] != 0 || s[steps-1] != steps-1 {
		t.Errorf("metrics.jsonl steps %v, want 0..%d once each", s, steps-1)
	}
	names, _ := outdir.Contents(out)
	t.Logf("%d kill -9 (%d left staging/trash debris, i.e. landed mid-write or mid-prune), %d rounds finished between kills, "+
		"%d checkpoint folders verified complete, final model bit-identical to the uninterrupted run (%.1fs per run); output: %s",
		kills, midWrite, finished, checked, full.Seconds(), strings.Join(names, " "))
}

// TestConcurrentRunsAndInterrupt: a second run on an output folder in use fails at once naming the first run's
// PID, without touching the folder; SIGINT stops the first run with exit code 130 after saving a checkpoint
// that resumes.
func TestConcurrentRunsAndInterrupt(t *testing.T) {
	model := tinyModel(t, "LlamaForCausalLM", "")
	data := repoPath("examples", "data", "opticks-queries.jsonl")
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"train", "--model", model, "--data", data, "--seq-len", "64", "--max-rows", "24", "--batch-size", "2",
		"--steps", "100000", "--output", out}
	first := exec.Command(os.Args[0], args...)
	first.Env = append(os.Environ(), cliChildEnv+"=1")
	var log bytes.Buffer
	first.Stderr = &log
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(log.String(), "step 2/") {
		if time.Now().After(deadline) {
			t.Fatalf("first run did not start training:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := treeSums(t, filepath.Join(out))
	for i := 0; i < 3; i++ {
		second := exec.Command(os.Args[0], args...)
		second.Env = append(os.Environ(), cliChildEnv+"=1")
		b, err := second.CombinedOutput()
		if code := second.ProcessState.ExitCode(); err == nil || code != exitError ||
			!strings.Contains(string(b), fmt.Sprintf("in use by another hift run (pid %d)", first.Process.Pid)) {
			t.Fatalf("second run: exit %d: %s", code, b)
		}
	}
	if err := first.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := first.Wait()
	if code := first.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("interrupted run: %v, exit %d, want 130:\n%s", err, code, log.String())
	}
	cks, _ := hift.ListCheckpoints(out)
	if len(cks) != 1 || checkpointComplete(cks[0]) != nil {
		t.Fatalf("after SIGINT: checkpoints %v", cks)
	}
	// The interrupted run's checkpoint can be rerun from: hift train --config CHECKPOINT/hift_config.yaml.
	if _, err := os.Stat(filepath.Join(cks[0], RunConfigFile)); err != nil {
		t.Errorf("interrupted run's checkpoint lacks %s: %v", RunConfigFile, err)
	}
	for f := range before {
		if strings.HasPrefix(f, "checkpoint-") || f == "metrics.jsonl" {
			continue
		}
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s vanished", f)
		}
	}
	t.Logf("3 concurrent runs refused naming pid %d; SIGINT → exit 130 with %s complete", first.Process.Pid, filepath.Base(cks[0]))
}
