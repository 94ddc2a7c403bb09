package main

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// progressArgs trains the LLaMA fixture for 6 steps with summary lines every 2 and an evaluation every 3.
func progressArgs() []string {
	fx := repoPath("testdata", "fixtures", "llama_causal_lm")
	return []string{"train", "--model", fx, "--data", fx + "/inputs.safetensors", "--batch-size", "1", "--no-shuffle", "--steps", "6",
		"--lr", "1e-3", "--eval-split", "0.5", "--eval-every", "3", "--eval-batch-size", "1", "--log-every", "2", "--no-save"}
}

var stepLineRE = regexp.MustCompile(`(?m)^step (\d+)/6  group \d+ \[[^\]]+\]  loss [0-9.]+  avg [0-9.]+  lr [0-9.e-]+  .* tok/s  .*  elapsed \S+  eta \S+$`)

// TestTrainProgressPlain: stderr that is not a terminal gets one plain line per logged step (every
// --log-every), the evaluations and the totals, and no escape codes.
func TestTrainProgressPlain(t *testing.T) {
	code, _, log := runCLI(t, progressArgs()...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, log)
	}
	var steps []string
	for _, m := range stepLineRE.FindAllStringSubmatch(log, -1) {
		steps = append(steps, m[1])
	}
	if strings.Join(steps, ",") != "2,4,6" || strings.ContainsAny(log, "\x1b\r") {
		t.Errorf("want plain lines for steps 2, 4, 6 (got %v):\n%q", steps, log)
	}
	if code, _, log := runCLI(t, append(progressArgs(), "--log-every", "-1")...); code != 2 || !strings.Contains(log, "--log-every must not be negative") {
		t.Errorf("--log-every -1: exit %d\n%s", code, log)
	}
	// Memory in human units; timings in ms per group named by its units.
	for _, want := range []string{"eval at step 3: ", "trained 6 steps in ", " KiB ", "first step ms", "\nmodel.layers.0  ", "\nlm_head  "} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestTrainProgressTerminal runs hift train with stderr on a pseudo-terminal: a live bar (percentage, elapsed
// and ETA, step, smoothed loss, lr, tokens/s, active group) redrawn in place, summary lines that stay, and the
// evaluation's own bar.
func TestTrainProgressTerminal(t *testing.T) {
	code, out := runPTY(t, progressArgs()...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	barRE := regexp.MustCompile(`\r +\d+% \|[█ ]{10}\| +\[\d+s:\d+s\] step [1-6]/6 · loss [0-9.]+ · lr [0-9.e-]+ · \d+ tok/s · group \d+ \[`)
	if len(barRE.FindAllString(out, -1)) < 3 {
		t.Errorf("fewer than 3 bar redraws:\n%q", out)
	}
	var steps []string
	for _, line := range strings.Split(strings.ReplaceAll(out, "\x1b[2K", ""), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if i := strings.LastIndex(line, "\r"); i >= 0 {
			line = line[i+1:]
		}
		if m := stepLineRE.FindStringSubmatch(line); m != nil {
			steps = append(steps, m[1])
		}
	}
	if strings.Join(steps, ",") != "2,4,6" {
		t.Errorf("summary lines for steps %v, want 2, 4, 6:\n%q", steps, out)
	}
	for _, want := range []string{"\x1b[2K", "evaluating at step 3: batch ", "eval at step 3: ", "trained 6 steps in "} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, out)
		}
	}
}

// runPTY runs the CLI in-process with stderr on a 120-column pseudo-terminal and returns what the terminal
// received.
func runPTY(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ptm, pts, err := pty.Open()
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	defer ptm.Close()
	if err := pty.Setsize(ptm, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(&screen, ptm) // ends with an error once pts is closed
		close(done)
	}()
	var stdout bytes.Buffer
	code := run(args, &stdout, pts)
	pts.Close()
	<-done
	return code, screen.String()
}

// TestEvalAndBenchProgressTerminal: hift eval, hift bench memory --measured and hift bench speed draw their
// own bars on a terminal.
func TestEvalAndBenchProgressTerminal(t *testing.T) {
	fx := repoPath("testdata", "fixtures", "llama_causal_lm")
	code, out := runPTY(t, "eval", "--model", fx, "--data", fx+"/inputs.safetensors", "--batch-size", "1")
	if code != 0 || !strings.Contains(out, "evaluating: batch 1/2") || !regexp.MustCompile(`\r +50% \|`).MatchString(out) {
		t.Errorf("hift eval on a terminal: exit %d\n%q", code, out)
	}
	code, out = runPTY(t, "bench", "memory", "--model", fx, "--measured", "--optimizer", "sgd", "--precision", "fp32", "--batch-size", "1", "--seq-len", "8")
	// Two runs (full fine-tuning, HiFT): a bar per run and the runs' lines above it.
	for _, want := range []string{"run 1/2: sgd fp32 ", "run 2/2: sgd fp32 ", "\x1b[2K\rmeasured sgd "} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("hift bench memory --measured on a terminal lacks %q: exit %d\n%q", want, code, out)
		}
	}
	code, out = runPTY(t, "bench", "speed", "--model", fx, "--batch-size", "1", "--seq-len", "8", "--steps", "2")
	// Full fine-tuning: 1 compiling + 2 timed steps; HiFT: 5 groups' compiling steps + 2 timed.
	for _, want := range []string{"fpft: step 3/3", "hift: step 1/7", "hift: step 7/7"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("hift bench speed on a terminal lacks %q: exit %d\n%q", want, code, out)
		}
	}
}
