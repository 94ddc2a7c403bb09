package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hift-go/hift/bench"
)

// TestBenchCharts: the memory and speed charts carry one bar per configuration / group with their labels.
func TestBenchCharts(t *testing.T) {
	dir := t.TempDir()
	mem := filepath.Join(dir, "mem.svg")
	tab := bench.Table{Model: "llama-small", GroupSize: 1, Rows: []bench.Row{
		{Optimizer: "adamw", Precision: "fp32", Method: bench.FPFT, ParaMB: 40, GraMB: 40, StaMB: 80},
		{Optimizer: "adamw", Precision: "fp32", Method: bench.HiFT, ParaMB: 40, GraMB: 5, StaMB: 10},
	}}
	if err := memoryChart(mem, tab); err != nil {
		t.Fatal(err)
	}
	speed := filepath.Join(dir, "speed.svg")
	res := []bench.SpeedResult{
		{Method: bench.HiFT, Groups: []bench.GroupSpeed{{Group: 0, Label: "model.embed_tokens", Mean: 3 * time.Millisecond}, {Group: 1, Label: "model.layers.0", Mean: 5 * time.Millisecond}}},
		{Method: bench.FPFT, Groups: []bench.GroupSpeed{{Group: -1, Label: "all", Mean: 20 * time.Millisecond}}},
	}
	if err := speedChart(speed, "llama-small", bench.SpeedOptions{Batch: 2, Seq: 32, Optimizer: "adamw"}, res); err != nil {
		t.Fatal(err)
	}
	for path, wants := range map[string][]string{
		mem:   {"<svg", "Para (weights)", "Sta (optimizer state)", "adamw fp32 hift", "adamw fp32 fpft", "HiFT m=1"},
		speed: {"<svg", "hift model.layers.0", "fpft", "ms per step", "batch 2"},
	} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range wants {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q", filepath.Base(path), w)
			}
		}
	}
}
