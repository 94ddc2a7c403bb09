package progress

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hift-go/hift/hift"
)

// clock is a fake clock that advances by step after every reading (NewTrain, each Step and Done read it once).
type clock struct {
	t    time.Time
	step time.Duration
}

func (c *clock) now() time.Time {
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

func step(i int, loss float64) hift.StepMetrics {
	return hift.StepMetrics{Step: i, Loss: loss, LR: 1e-3, Group: i % 2, Units: []string{fmt.Sprintf("layers.%d", i%2)}, GradNorm: 0.5,
		Tokens: 512, TokensPerS: 256, DeviceMem: 3 << 20, StepTime: 1}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{850 * time.Millisecond: "850ms", 12400 * time.Millisecond: "12.4s",
		245 * time.Second: "4m05s", 7380 * time.Second: "2h03m", -time.Second: "?"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

// Plain mode: one line per logged step with the mean loss of the window, elapsed time and ETA from this run's
// steps (a resumed run's earlier steps do not count), skipped steps always logged, no escape codes.
func TestTrainPlainLines(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{t: time.Unix(0, 0), step: time.Second}
	p := NewTrain(&buf, TrainOptions{Total: 10, From: 4, LogEvery: 2, Now: c.now})
	for i := 4; i < 10; i++ {
		m := step(i, float64(i))
		if i == 6 {
			m.Loss, m.Skipped = math.NaN(), true
		}
		p.Step(m)
	}
	p.Eval(10, hift.EvalMetrics{Loss: 1.5, Examples: 4})
	p.Done()
	out := buf.String()
	if strings.Contains(out, "\x1b") || strings.Contains(out, "\r") {
		t.Errorf("escape codes in plain output:\n%q", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var steps []string
	for _, l := range lines {
		if strings.HasPrefix(l, "step ") {
			steps = append(steps, l)
		}
	}
	if len(steps) != 4 {
		t.Fatalf("want step lines 6, 7 (skipped), 8, 10; got:\n%s", out)
	}
	for i, want := range []string{"step 6/10  group 1 [layers.1]  loss 5.0000  avg 4.5000  lr 0.001  |g| 0.5  256 tok/s  3.0 MiB",
		"step 7/10  group 0 [layers.0]  loss NaN  avg -", "step 8/10  group 1 [layers.1]  loss 7.0000  avg 7.0000",
		"step 10/10  group 1 [layers.1]  loss 9.0000  avg 8.5000"} {
		if !strings.HasPrefix(steps[i], want) {
			t.Errorf("line %d = %q, want prefix %q", i, steps[i], want)
		}
	}
	// The clock reads k s at this run's k-th step, which took 1 s (so the run started at 0 s): at step 6 (2 steps
	// done) elapsed 2 s and ETA 4 steps left × 1 s; at step 8, 4 s and 2 s.
	if !strings.Contains(steps[0], "elapsed 2.0s  eta 4.0s") || !strings.Contains(steps[2], "elapsed 4.0s  eta 2.0s") || !strings.Contains(steps[1], "SKIPPED") {
		t.Errorf("timing or skip mark wrong:\n%s", out)
	}
	if !strings.Contains(out, "eval at step 10: ") || !strings.Contains(out, "trained 6 steps in 7.0s (439 tok/s, 1.2s per step)") {
		t.Errorf("eval or totals line missing:\n%s", out)
	}
	// Without --log-every a plain log gets every step; a terminal about 20 lines over the run.
	if n := NewTrain(&buf, TrainOptions{Total: 1000}).LogEvery(); n != 1 {
		t.Errorf("plain default log-every %d, want 1", n)
	}
	if n := NewTrain(&buf, TrainOptions{Total: 1000, From: 200, TTY: true, Width: 100, Now: c.now}).LogEvery(); n != 40 {
		t.Errorf("terminal default log-every %d, want 40", n)
	}
}

// Terminal mode: the bar is drawn and cleared with ANSI codes, the description is cut to the terminal width,
// summary lines stay, and an evaluation gets its own bar.
func TestTrainBar(t *testing.T) {
	var buf bytes.Buffer
	p := NewTrain(&buf, TrainOptions{Total: 4, LogEvery: 2, TTY: true, Width: 90})
	for i := 0; i < 3; i++ {
		p.Step(step(i, 3))
	}
	p.EvalBatch(0, 2)
	p.EvalBatch(1, 2)
	p.EvalBatch(2, 2)
	p.Eval(3, hift.EvalMetrics{Loss: 2})
	p.Step(step(3, 2))
	p.Done()
	out := buf.String()
	for _, want := range []string{"\x1b[2K", "step 3/4 · loss 3.0000 · lr 0.001 · ", "evaluating at step 3: batch 1/2", " 75% |███████   |", "step 2/4  group 1",
		"eval at step 3:", "trained 4 steps in"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, out)
		}
	}
	for _, seg := range strings.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' }) {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "\x1b[2K", ""), "\x1b[0K", "")
		if !strings.Contains(seg, "%") {
			continue // a summary line: permanent, it may wrap
		}
		if n := len([]rune(seg)); n > 90 {
			t.Errorf("a %d-column line on a 90-column terminal: %q", n, seg)
		}
	}
}

// ExampleNewTrain shows the plain lines a log file receives (the bar needs a terminal).
func ExampleNewTrain() {
	c := &clock{t: time.Unix(0, 0), step: 500 * time.Millisecond}
	p := NewTrain(os.Stdout, TrainOptions{Total: 4, LogEvery: 2, Now: c.now})
	for i := 0; i < 4; i++ {
		p.Step(hift.StepMetrics{Step: i, Loss: 2 - 0.25*float64(i), LR: 5e-5, Group: i % 2, Units: []string{[]string{"embed_tokens", "layers.0"}[i%2]},
			GradNorm: 1, Tokens: 256, TokensPerS: 512, DeviceMem: 48 << 20, StepTime: 0.5})
	}
	p.Done()
	// Output:
	// step 2/4  group 1 [layers.0]  loss 1.7500  avg 1.8750  lr 5e-05  |g| 1  512 tok/s  48.0 MiB  elapsed 1.0s  eta 1.0s
	// step 4/4  group 1 [layers.0]  loss 1.2500  avg 1.3750  lr 5e-05  |g| 1  512 tok/s  48.0 MiB  elapsed 2.0s  eta 0ms
	// trained 4 steps in 2.5s (410 tok/s, 625ms per step), smoothed loss 1.5922
}
