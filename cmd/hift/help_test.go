package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// allCommands lists the root and every sub-command, depth first.
func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, s := range c.Commands() {
		out = append(out, allCommands(s)...)
	}
	return out
}

// repoPathRE finds what help text cites as a file of the repository: a relative path under one of its
// top-level folders, or a Markdown document.
var repoPathRE = regexp.MustCompile(`(?:^|[\s("'=\x60])((?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+\.md|(?:testdata|examples|scripts|bench|docs|cmd|graph|hift|data|io|kernels|report|progress|internal)/[A-Za-z0-9_./*-]+)`)

// TestHelpCitesOnlyRepositoryFiles renders every command's help and checks that each repository path it
// names exists, so no help text sends a user to a file that is not there.
func TestHelpCitesOnlyRepositoryFiles(t *testing.T) {
	var out, errb bytes.Buffer
	root := newRootCmd(&factory{stdout: &out, stderr: &errb})
	checked := 0
	for _, c := range allCommands(root) {
		var help bytes.Buffer
		c.SetOut(&help)
		if err := c.Help(); err != nil {
			t.Fatalf("%s: %v", c.CommandPath(), err)
		}
		for _, m := range repoPathRE.FindAllStringSubmatch(help.String(), -1) {
			p := strings.TrimRight(m[1], ".,:;)")
			if strings.Contains(p, "*") {
				continue // a layout pattern (data/train-*.parquet), not a file of the repository
			}
			checked++
			if _, err := os.Stat(repoPath(p)); err != nil {
				t.Errorf("%s --help cites %s, which is not in the repository", c.CommandPath(), p)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no repository paths found in any help text: the scan is broken")
	}
}

// TestTrainHelpGroups: hift train --help lists every flag once, in titled groups, with only --help left over.
func TestTrainHelpGroups(t *testing.T) {
	code, out, _ := runCLI(t, "train", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	titles := regexp.MustCompile(`(?m)^([A-Z][A-Za-z ]*) flags:$`).FindAllStringSubmatch(out, -1)
	var got []string
	for _, m := range titles {
		got = append(got, m[1])
	}
	want := "Model,Data,Evaluation,HiFT,Optimizer,Schedule,Precision and memory,LoRA,Output and checkpoints,Logging,Other,Global"
	if strings.Join(got, ",") != want {
		t.Errorf("sections %q, want %q", strings.Join(got, ","), want)
	}
	other := out[strings.Index(out, "\nOther flags:"):strings.Index(out, "\nGlobal flags:")]
	if strings.Count(other, "--") != 1 || !strings.Contains(other, "--help") {
		t.Errorf("flags outside the groups:%s", other)
	}
	var cmd *cobra.Command
	for _, c := range newRootCmd(&factory{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}).Commands() {
		if c.Name() == "train" {
			cmd = c
		}
	}
	flags := out[strings.Index(out, "\nModel flags:"):]
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if n := len(regexp.MustCompile(`(?m)^ +(?:-\w, )?--`+regexp.QuoteMeta(f.Name)+` `).FindAllString(flags, -1)); n != 1 {
			t.Errorf("--%s listed %d times", f.Name, n)
		}
	})
}

// TestNamesAgreeAcrossCommands: plan and bench accept train's precision names and train accepts theirs; the
// optimizer names of train are accepted by plan and bench and sgdm by train.
func TestNamesAgreeAcrossCommands(t *testing.T) {
	fx := repoPath("testdata", "fixtures", "llama_causal_lm")
	for _, p := range []string{"fp32", "bf16", "mixed_hi"} {
		if code, _, log := runCLI(t, "plan", "--model", "llama-7b", "--gpu-memory", "80GB", "--precision", p); code != 0 {
			t.Errorf("plan --precision %s: exit %d\n%s", p, code, log)
		}
		if code, _, log := runCLI(t, "bench", "memory", "--model", "llama-7b", "--analytical", "--precision", p); code != 0 {
			t.Errorf("bench memory --precision %s: exit %d\n%s", p, code, log)
		}
		if code, _, log := runCLI(t, "train", "--model", fx, "--print-queue", "--precision", p); code != 0 {
			t.Errorf("train --precision %s: exit %d\n%s", p, code, log)
		}
	}
	for _, o := range []string{"adamw", "adamw_hf", "adam", "sgd", "sgdm", "adagrad", "adafactor", "rmsprop", "lion"} {
		if code, _, log := runCLI(t, "plan", "--model", "llama-7b", "--gpu-memory", "80GB", "--optimizer", o); code != 0 {
			t.Errorf("plan --optimizer %s: exit %d\n%s", o, code, log)
		}
		if code, _, log := runCLI(t, "train", "--model", fx, "--print-queue", "--optimizer", o); code != 0 {
			t.Errorf("train --optimizer %s: exit %d\n%s", o, code, log)
		}
	}
	// sgdm is SGD with momentum 0.9 in train too.
	o := &TrainOptions{OptimName: "sgdm", changed: func(string) bool { return false }}
	if c, err := o.optimizer(); err != nil || c.Momentum != 0.9 {
		t.Errorf("train sgdm: %+v %v", c, err)
	}
	if code, _, log := runCLI(t, "train", "--model", fx, "--print-queue", "--precision", "fp16"); code != 2 || !strings.Contains(log, "--precision must be fp32 or bf16") {
		t.Errorf("train --precision fp16: exit %d\n%s", code, log)
	}
}
