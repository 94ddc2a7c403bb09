// Package report turns a training run's metrics.jsonl into pictures and logs people already read: SVG/PNG
// charts of loss, learning rate and gradient norm with the HiFT cycles marked (Plot, PlotRun), and TensorBoard
// event files (TBWriter). It reads files only; it knows nothing about GoMLX.
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// MetricsFile is the name of the trainer's metrics log inside an output folder.
const MetricsFile = "metrics.jsonl"

// Step is one training line of metrics.jsonl. Loss, LR and GradNorm are NaN where the trainer wrote null
// (a skipped, non-finite step).
type Step struct {
	Step     int      // 0-based index of the step
	Loss     float64  // training loss of the step
	LR       float64  // learning rate used
	GradNorm float64  // gradient norm of the active group
	Group    int      // active HiFT group; -1 for full fine-tuning
	Units    []string // the group's units
	Skipped  bool
}

// Eval is one evaluation line of metrics.jsonl: Step counts the steps taken before it.
type Eval struct {
	Step   int
	Loss   float64
	Values map[string]float64 // every eval_* number of the line (eval_loss, eval_perplexity, eval_accuracy, ...)
}

// Metrics is a parsed metrics.jsonl.
type Metrics struct {
	Path  string
	Steps []Step
	Evals []Eval
}

// ReadMetrics parses a metrics.jsonl. A last line cut short (a killed run) is ignored; any other line that is
// not a JSON object with a "step" is an error naming the line.
func ReadMetrics(path string) (*Metrics, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	m := &Metrics{Path: path}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	lines := bytes.Count(raw, []byte("\n"))
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		lines++
	}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			if n == lines && !bytes.HasSuffix(raw, []byte("\n")) {
				break // cut short by a kill
			}
			return nil, fmt.Errorf("report: %s: line %d: not a JSON object: %v", path, n, err)
		}
		if err := m.add(rec); err != nil {
			return nil, fmt.Errorf("report: %s: line %d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	if len(m.Steps) == 0 && len(m.Evals) == 0 {
		return nil, fmt.Errorf("report: %s: no training or evaluation lines", path)
	}
	return m, nil
}

// add appends one parsed line: an evaluation (it has eval_loss) or a training step.
func (m *Metrics) add(rec map[string]any) error {
	s, ok := rec["step"].(float64)
	if !ok {
		return fmt.Errorf("no numeric \"step\"")
	}
	if _, isEval := rec["eval_loss"]; isEval {
		e := Eval{Step: int(s), Loss: num(rec["eval_loss"]), Values: map[string]float64{}}
		for k, v := range rec {
			if f, ok := v.(float64); ok && len(k) > 5 && k[:5] == "eval_" {
				e.Values[k] = f
			}
		}
		m.Evals = append(m.Evals, e)
		return nil
	}
	st := Step{Step: int(s), Loss: num(rec["loss"]), LR: num(rec["lr"]), GradNorm: num(rec["grad_norm_active"]), Group: -1}
	if g, ok := rec["group"].(float64); ok {
		st.Group = int(g)
	}
	if us, ok := rec["units"].([]any); ok {
		for _, u := range us {
			if s, ok := u.(string); ok {
				st.Units = append(st.Units, s)
			}
		}
	}
	st.Skipped, _ = rec["skipped"].(bool)
	m.Steps = append(m.Steps, st)
	return nil
}

// num reads a JSON number; null or anything else is NaN.
func num(v any) float64 {
	if f, ok := v.(float64); ok {
		return f
	}
	return math.NaN()
}

// CycleStarts returns the steps at which a new HiFT cycle begins: a step whose group was already active
// earlier in the current cycle starts the next one (this holds for every queue strategy, random included, and
// for resumed runs). Full fine-tuning (group -1) has no cycles.
func (m *Metrics) CycleStarts() []int {
	var starts []int
	seen := map[int]bool{}
	for _, s := range m.Steps {
		if s.Group < 0 {
			continue
		}
		if seen[s.Group] {
			starts = append(starts, s.Step)
			seen = map[int]bool{}
		}
		seen[s.Group] = true
	}
	return starts
}

// Groups returns the number of distinct HiFT groups in the log.
func (m *Metrics) Groups() int {
	seen := map[int]bool{}
	for _, s := range m.Steps {
		if s.Group >= 0 {
			seen[s.Group] = true
		}
	}
	return len(seen)
}
