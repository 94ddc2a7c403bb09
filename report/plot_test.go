package report

import (
	"bytes"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeMetrics writes a metrics.jsonl as the trainer does: 3 groups rotating, a skipped step with null loss,
// two evaluations, and a last line cut short by a kill.
func writeMetrics(t *testing.T, dir string, steps int) string {
	t.Helper()
	var b strings.Builder
	for s := 0; s < steps; s++ {
		g := s % 3
		loss := fmt.Sprintf("%.4f", 3-float64(s)*0.1)
		if s == 4 {
			loss = "null"
		}
		fmt.Fprintf(&b, `{"step":%d,"loss":%s,"lr":%g,"group":%d,"units":["model.layers.%d"],"grad_norm_active":%g,"tokens":64,"step_time_s":0.01,"tokens_per_s":6400,"device_bytes":0,"time":"2026-01-01T00:00:00Z"}`+"\n",
			s, loss, 1e-3*float64(steps-s)/float64(steps), g, g, 0.5+float64(g))
		if (s+1)%6 == 0 {
			fmt.Fprintf(&b, `{"step":%d,"eval_examples":8,"eval_loss":%g,"eval_perplexity":%g}`+"\n", s+1, 2.5-float64(s)*0.05, math.Exp(2.5-float64(s)*0.05))
		}
	}
	b.WriteString(`{"step":99,"loss":1.`)
	p := filepath.Join(dir, MetricsFile)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadMetricsAndChart(t *testing.T) {
	dir := t.TempDir()
	m, err := ReadMetrics(writeMetrics(t, dir, 12))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Steps) != 12 || len(m.Evals) != 2 {
		t.Fatalf("%d steps, %d evals; want 12 and 2 (the cut last line ignored)", len(m.Steps), len(m.Evals))
	}
	if !math.IsNaN(m.Steps[4].Loss) || m.Evals[1].Values["eval_perplexity"] == 0 {
		t.Errorf("null loss should read as NaN (%v); eval_perplexity kept (%v)", m.Steps[4].Loss, m.Evals[1].Values)
	}
	if got := m.CycleStarts(); !reflect.DeepEqual(got, []int{3, 6, 9}) {
		t.Errorf("cycle starts %v, want [3 6 9]", got)
	}
	c := BuildChart(m)
	var names []string
	for _, p := range c.Panels {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "loss,lr,grad_norm" {
		t.Fatalf("panels %v", names)
	}
	series := map[string]Series{}
	for _, s := range c.Panels[0].Series {
		series[s.Name] = s
	}
	if tr := series["train"]; len(tr.X) != 11 || tr.X[0] != 1 || tr.Y[0] != 3 {
		t.Errorf("train loss series: %d points starting (%v, %v); want 11 from (1, 3)", len(tr.X), tr.X, tr.Y)
	}
	if ev := series["eval"]; !reflect.DeepEqual(ev.X, []float64{6, 12}) || !ev.Points {
		t.Errorf("eval series at %v, want points at steps 6 and 12", ev.X)
	}
	if sm := series["train (smoothed)"]; len(sm.Y) != 11 || sm.Y[0] != 3 || sm.Y[10] <= series["train"].Y[10] {
		t.Errorf("smoothed loss %v should start at the first loss and lag above a falling loss", sm.Y)
	}
	if !reflect.DeepEqual(c.Cycles, []float64{3.5, 6.5, 9.5}) || !strings.Contains(c.Title, "3 groups per cycle") {
		t.Errorf("cycle markers %v, title %q", c.Cycles, c.Title)
	}
	if lr := c.Panels[1].Series[0]; len(lr.Y) != 12 || lr.Y[0] <= lr.Y[11] {
		t.Errorf("lr series %v", lr.Y)
	}
	if g := c.Panels[2]; !g.LogY || len(g.Series[0].Y) != 12 {
		t.Errorf("grad norm panel %+v", g)
	}

	// Many cycles: markers thinned to at most maxCycleLines.
	m2, _ := ReadMetrics(writeMetrics(t, t.TempDir(), 600))
	if n := len(BuildChart(m2).Cycles); n > maxCycleLines || n < maxCycleLines/2 {
		t.Errorf("%d cycle markers for 199 cycles, want between %d and %d", n, maxCycleLines/2, maxCycleLines)
	}
	// Long runs: series thinned to at most maxPoints, the last step kept.
	m3, _ := ReadMetrics(writeMetrics(t, t.TempDir(), 3*maxPoints+7))
	for _, p := range BuildChart(m3).Panels {
		for _, s := range p.Series {
			if len(s.X) > maxPoints+1 || (!s.Points && s.X[len(s.X)-1] != float64(3*maxPoints+7)) {
				t.Errorf("%s: %d points ending at %v", s.Name, len(s.X), s.X[len(s.X)-1])
			}
		}
	}
}

func TestPlotFiles(t *testing.T) {
	dir := t.TempDir()
	writeMetrics(t, dir, 30)
	svg, err := PlotRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(svg)
	for _, want := range []string{"<svg", "train (smoothed)", "eval", "learning rate", "grad norm", "step"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s lacks %q", svg, want)
		}
	}
	pngPath := filepath.Join(dir, "m.png")
	if err := PlotMetricsFile(filepath.Join(dir, MetricsFile), pngPath); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", pngPath, err)
	}
	// Not blank: many distinct colours.
	colours := map[uint32]bool{}
	bnd := img.Bounds()
	for y := bnd.Min.Y; y < bnd.Max.Y; y += 3 {
		for x := bnd.Min.X; x < bnd.Max.X; x += 3 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|b>>8] = true
		}
	}
	if bnd.Dx() < 400 || len(colours) < 10 {
		t.Errorf("png %v with %d colours looks empty", bnd, len(colours))
	}
	for _, c := range []struct{ in, out, want string }{
		{filepath.Join(dir, MetricsFile), filepath.Join(dir, "x.gif"), "use .svg or .png"},
		{filepath.Join(dir, "none.jsonl"), filepath.Join(dir, "x.svg"), "none.jsonl"},
	} {
		if err := PlotMetricsFile(c.in, c.out); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("PlotMetricsFile(%s, %s): %v, want %q", c.in, c.out, err, c.want)
		}
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"step\":0,\"loss\":1}\nnot json\n{\"step\":1,\"loss\":1}\n"), 0o644)
	if _, err := ReadMetrics(bad); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a corrupt middle line: %v", err)
	}
}
