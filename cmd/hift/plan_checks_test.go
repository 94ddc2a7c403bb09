package main

import (
	"strings"
	"testing"
	"time"
)

// TestPlanRefusesAbsurdDepth: plan, which models configs bigger than this machine on purpose, refuses a depth no
// model has at once (2e9 layers ran for hours) and still plans a real depth.
func TestPlanRefusesAbsurdDepth(t *testing.T) {
	huge := editedModel(t, "huge", func(c map[string]any) { c["num_hidden_layers"] = 2000000000 })
	start := time.Now()
	code, _, stderr := runCLI(t, "plan", "--model", huge, "--gpu-memory", "24GB")
	if code != exitError || !strings.Contains(stderr, "2000000000 layers is beyond any model") || time.Since(start) > 10*time.Second {
		t.Errorf("exit %d after %v: %s", code, time.Since(start), stderr)
	}
	deep := editedModel(t, "deep", func(c map[string]any) { c["num_hidden_layers"] = 100 })
	if code, _, stderr := runCLI(t, "plan", "--model", deep, "--gpu-memory", "24GB"); code != 0 {
		t.Errorf("100 layers: exit %d: %s", code, stderr)
	}
}
