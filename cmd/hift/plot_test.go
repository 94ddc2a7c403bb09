package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlotCommand: `hift plot DIR` writes DIR/metrics.svg with the three panels; bad output formats and
// missing metrics are clear errors.
func TestPlotCommand(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for s := 0; s < 20; s++ {
		fmt.Fprintf(&b, `{"step":%d,"loss":%g,"lr":1e-3,"group":%d,"units":["u%d"],"grad_norm_active":%g}`+"\n", s, 3-0.05*float64(s), s%4, s%4, 1+float64(s%4))
	}
	b.WriteString(`{"step":20,"eval_examples":4,"eval_loss":2.2}` + "\n")
	metrics := filepath.Join(dir, "metrics.jsonl")
	os.WriteFile(metrics, []byte(b.String()), 0o644)
	code, _, stderr := runCLI(t, "plot", dir, "--tensorboard", filepath.Join(dir, "runs"))
	if code != 0 {
		t.Fatalf("plot: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "20 steps, 1 evaluations, 5 HiFT cycle(s)") {
		t.Errorf("summary line: %s", stderr)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "metrics.svg"))
	if err != nil || !strings.Contains(string(svg), "learning rate") || !strings.Contains(string(svg), "4 groups per cycle") {
		t.Errorf("metrics.svg: %v (%d bytes)", err, len(svg))
	}
	if ev, _ := filepath.Glob(filepath.Join(dir, "runs", "events.out.tfevents.*")); len(ev) != 1 {
		t.Errorf("--tensorboard wrote %v, want one event file", ev)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"plot", metrics, "--out", filepath.Join(dir, "x.gif")}, exitBadInput, ".svg or .png"},
		{[]string{"plot", filepath.Join(dir, "nope.jsonl")}, exitError, "nope.jsonl"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d (want %d): %s", c.args, code, c.code, stderr)
		}
	}
}
