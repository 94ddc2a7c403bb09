package report

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPlotDegenerateRanges: metrics gonum/plot cannot lay out by itself are drawn, not a panic or a hang. Before,
// a one-step run with grad norm < 1 panicked ("Values must be greater than 0 for a log scale") at the end of
// training, --lr 1e30 panicked ("illegal range"), and losses of ±1e308 looped forever.
func TestPlotDegenerateRanges(t *testing.T) {
	for _, tc := range []struct{ name, jsonl string }{
		{"one step, grad norm below 1", `{"step":0,"loss":3.9,"lr":0.00005,"grad_norm_active":0.49}`},
		{"one step, huge lr", `{"step":0,"loss":3.9,"lr":1e30,"grad_norm_active":1.4}`},
		{"all values equal", "{\"step\":0,\"loss\":2,\"lr\":0.1,\"grad_norm_active\":2}\n{\"step\":1,\"loss\":2,\"lr\":0.1,\"grad_norm_active\":2}"},
		{"zero lr and grad norm", `{"step":0,"loss":5,"lr":0,"grad_norm_active":0}`},
		{"overflowing span", "{\"step\":0,\"loss\":1e308,\"lr\":1e-300,\"grad_norm_active\":1e300}\n{\"step\":1,\"loss\":-1e308,\"lr\":1e300,\"grad_norm_active\":1e-300}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "metrics.jsonl")
			if err := os.WriteFile(in, []byte(tc.jsonl+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- PlotMetricsFile(in, filepath.Join(dir, "m.svg")) }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("plot: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("plot did not finish in 30s")
			}
		})
	}
}
