package hift

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/hift-go/hift/internal/outdir"
)

// metricsLog appends to Output/metrics.jsonl. The file is opened at the first write, so a run that fails
// before its first step leaves no metrics behind.
type metricsLog struct {
	path string
	step int
	f    *os.File
}

// openMetrics prepares Output/metrics.jsonl; at the first write it is truncated back to step: a resumed run
// (step > 0) keeps the lines of the steps before it and the evaluations up to it; a fresh run starts empty. No
// step appears twice.
func openMetrics(out string, step int) (*metricsLog, error) {
	if out == "" {
		return &metricsLog{}, nil
	}
	return &metricsLog{path: filepath.Join(out, MetricsFile), step: step}, nil
}

// line appends one JSON line, opening (and truncating) the file first if needed.
func (l *metricsLog) line(b []byte) error {
	if l.path == "" {
		return nil
	}
	if l.f == nil {
		if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		old, err := os.ReadFile(l.path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("metrics: %w", err)
		}
		if err == nil {
			if kept := truncateMetrics(old, l.step); !bytes.Equal(kept, old) {
				if err := outdir.WriteFile(l.path, kept); err != nil {
					return fmt.Errorf("metrics: %w", err)
				}
			}
		}
		if l.f, err = os.OpenFile(l.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	_, err := l.f.Write(append(b, '\n'))
	return err
}

// truncateMetrics keeps the complete lines of metrics.jsonl that precede step: training lines ("step" is the
// 0-based step index) with step < resumed step, evaluation lines ("step" counts steps taken) with step <= it.
func truncateMetrics(b []byte, step int) []byte {
	if step == 0 {
		return nil
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var rec map[string]any
		if json.Unmarshal(line, &rec) != nil {
			continue // a line cut short by a kill
		}
		s, ok := rec["step"].(float64)
		if !ok {
			continue
		}
		_, isEval := rec["eval_loss"]
		if (isEval && int(s) <= step) || (!isEval && int(s) < step) {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

func (l *metricsLog) write(m StepMetrics) error {
	b, err := finiteJSON(m)
	if err != nil {
		return err
	}
	return l.line(b)
}

func (l *metricsLog) writeEval(step int, em EvalMetrics) error {
	b, err := finiteJSON(struct {
		Step int `json:"step"`
		EvalMetrics
	}{step, em})
	if err != nil {
		return err
	}
	return l.line(b)
}

// finiteJSON marshals a flat struct (embedded structs inlined) as encoding/json would, except that NaN and
// ±Inf floats become null instead of an error: a diverged step never crashes the run's log.
func finiteJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	var walk func(rv reflect.Value) error
	walk = func(rv reflect.Value) error {
		rt := rv.Type()
		for i := 0; i < rt.NumField(); i++ {
			f, fv := rt.Field(i), rv.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				if err := walk(fv); err != nil {
					return err
				}
				continue
			}
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if strings.Contains(opts, "omitempty") && fv.IsZero() {
				continue
			}
			var val []byte
			if k := fv.Kind(); (k == reflect.Float64 || k == reflect.Float32) && (math.IsNaN(fv.Float()) || math.IsInf(fv.Float(), 0)) {
				val = []byte("null")
			} else {
				var err error
				if val, err = json.Marshal(fv.Interface()); err != nil {
					return fmt.Errorf("metrics: %s: %w", name, err)
				}
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			key, _ := json.Marshal(name)
			b.Write(key)
			b.WriteByte(':')
			b.Write(val)
		}
		return nil
	}
	if err := walk(reflect.ValueOf(v)); err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (l *metricsLog) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// progress prints one line per step: rewritten in place on a terminal, appended otherwise.
type progress struct {
	w     io.Writer
	total int
	tty   bool
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// Step prints the step's line.
func (p *progress) Step(m StepMetrics) {
	if p.w == nil {
		return
	}
	group := fmt.Sprintf("group %d [%s]", m.Group, strings.Join(m.Units, "+"))
	if m.Group < 0 {
		group = "all units"
	}
	line := fmt.Sprintf("step %d/%d  %s  loss %.4f  lr %.3g  |g| %.3g  %.0f tok/s  %s",
		m.Step+1, p.total, group, m.Loss, m.LR, m.GradNorm, m.TokensPerS, HumanBytes(m.DeviceMem))
	if m.Skipped {
		line += "  SKIPPED (non-finite loss or gradient: update not applied)"
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// Eval prints the evaluation's metrics on their own line.
func (p *progress) Eval(step int, em EvalMetrics) {
	if p.w != nil {
		fmt.Fprintf(p.w, "\neval at step %d: %s\n", step, em)
	}
}

// Pause ends the step line before another message.
func (p *progress) Pause() { p.Done() }

// Done ends the step line.
func (p *progress) Done() {
	if p.w != nil && p.tty {
		fmt.Fprintln(p.w)
	}
}

// HumanBytes formats a byte count with binary units (KiB, MiB, ...).
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
