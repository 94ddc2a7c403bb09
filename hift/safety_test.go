package hift

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/data"
)

// TestNonFiniteStepsAreSkipped: an absurd learning rate makes the weights explode after the first step, so the
// next steps have a non-finite loss. Those steps are skipped inside the compiled step (weights and optimizer
// state bit-identical to before), reported in metrics.jsonl with null loss, and after --max-skipped-steps (3)
// consecutive skips the run stops with ErrDiverged and writes no model. Both the fused and the accumulating
// (--grad-accum 2) programs are covered.
func TestNonFiniteStepsAreSkipped(t *testing.T) {
	for _, accum := range []int{1, 2} {
		t.Run(map[int]string{1: "fused", 2: "accumulated"}[accum], func(t *testing.T) {
			fx, ds := llamaFixture(t)
			o := DefaultOptions()
			o.Optimizer.Name, o.Optimizer.LR = "sgd", 1e30
			o.BatchSize, o.Shuffle, o.MaxGradNorm, o.Steps, o.Full, o.GradAccum = 1, false, 0, 10, true, accum
			o.LRScheduler = ScheduleConstant
			o.Output = t.TempDir()
			tr, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
			if err != nil {
				t.Fatal(err)
			}
			var after1 map[string][]float32
			var log bytes.Buffer
			err = tr.Run(context.Background(), &log, func(m StepMetrics) bool {
				if m.Step == 0 {
					after1 = weightsOf(tr)
				}
				return true
			})
			if !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), "3 consecutive steps") {
				t.Fatalf("Run: %v", err)
			}
			if tr.Step() != 4 || tr.skipped != 3 {
				t.Fatalf("stopped at step %d with %d skipped, want 4 and 3", tr.Step(), tr.skipped)
			}
			now := weightsOf(tr)
			for n, w := range after1 {
				if !slices.Equal(w, now[n]) {
					t.Errorf("%s changed during skipped steps", n)
				}
			}
			for name, ps := range tr.state.params {
				if ps.steps != 1 {
					t.Errorf("%s: optimizer step count %d after 1 applied step", name, ps.steps)
				}
			}
			if _, err := os.Stat(filepath.Join(o.Output, "model.safetensors")); err == nil {
				t.Errorf("a diverged run wrote a model")
			}
			lines := readMetrics(t, o.Output)
			if len(lines) != 4 {
				t.Fatalf("metrics.jsonl has %d lines, want 4", len(lines))
			}
			for i, l := range lines[1:] {
				if l["loss"] != nil && !isFiniteJSON(l["loss"]) || l["skipped"] != true {
					t.Errorf("line %d: loss %v skipped %v; want a null or finite loss and skipped", i+1, l["loss"], l["skipped"])
				}
			}
			if !strings.Contains(log.String(), "SKIPPED") {
				t.Errorf("progress lines do not report the skipped steps:\n%s", log.String())
			}
		})
	}
}

func isFiniteJSON(v any) bool {
	f, ok := v.(float64)
	return ok && !math.IsNaN(f) && !math.IsInf(f, 0)
}

func readMetrics(t *testing.T, dir string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("metrics line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// TestWriterRefusesNonFinite: saving weights or optimizer state that hold NaN or Inf fails naming the tensor,
// and leaves no model file.
func TestWriterRefusesNonFinite(t *testing.T) {
	fx, ds := llamaFixture(t)
	o := adamwOptions(t)
	tr, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	name := "model.norm.weight"
	vals := tensors.MustCopyFlatData[float32](tr.weights[name])
	vals[3] = float32(math.Inf(1))
	tr.weights[name] = tensors.FromFlatDataAndDimensions(vals, tr.weights[name].Shape().Dimensions...)
	dir := t.TempDir()
	for _, save := range []func(string) error{tr.SaveModel, tr.Save} {
		err := save(dir)
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "+Inf") {
			t.Errorf("save: %v; want a refusal naming %s", err, name)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused save left %d file(s)", len(entries))
	}
}

// TestMetricsJSON: NaN/Inf become null; a resumed run truncates metrics.jsonl back to its step (no step twice,
// evaluations up to the step kept, a line cut short by a kill dropped).
func TestMetricsJSON(t *testing.T) {
	b, err := finiteJSON(StepMetrics{Step: 2, Loss: math.NaN(), GradNorm: math.Inf(1), LR: 0.5, Skipped: true})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if m["loss"] != nil || m["grad_norm_active"] != nil || m["lr"] != 0.5 || m["skipped"] != true || m["step"] != 2.0 {
		t.Errorf("finiteJSON: %s", b)
	}
	if _, hasCompiled := m["compiled"]; hasCompiled {
		t.Errorf("omitempty ignored: %s", b)
	}
	old := `{"step":0,"loss":1}
{"step":1,"loss":1}
{"step":2,"eval_loss":3}
{"step":2,"loss":1}
{"step":3,"loss":1}
{"step":3,"eval_loss":2}
{"step":4,"lo`
	got := string(truncateMetrics([]byte(old), 2))
	want := "{\"step\":0,\"loss\":1}\n{\"step\":1,\"loss\":1}\n{\"step\":2,\"eval_loss\":3}\n"
	if got != want {
		t.Errorf("truncated to step 2:\n%s\nwant\n%s", got, want)
	}
	if len(truncateMetrics([]byte(old), 0)) != 0 {
		t.Errorf("a fresh run keeps old metrics")
	}
}

// TestZeroGradNormCycleWarns: with every label ignored the loss and every gradient are exactly 0; after a whole
// cycle of such steps the run warns once that nothing is being learned.
func TestZeroGradNormCycleWarns(t *testing.T) {
	fx, ds := llamaFixture(t)
	lab := ds.Columns["labels"]
	ignored := make([]int64, len(lab.Ints))
	for i := range ignored {
		ignored[i] = -100
	}
	ds.Columns["labels"] = data.Column{Shape: lab.Shape, Ints: ignored}
	o := adamwOptions(t)
	o.Steps, o.GroupSize = 6, 2
	tr, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := tr.Run(context.Background(), &log, nil); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("gradient norm was exactly 0 for a whole cycle (%d steps", tr.Queue().StepsPerCycle())
	if n := strings.Count(log.String(), want); n != 1 {
		t.Errorf("warning printed %d times:\n%s", n, log.String())
	}
}
