package report

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// PlotFile is the chart PlotRun writes into an output folder.
const PlotFile = "metrics.svg"

// Colours of the series, the same in every hift chart.
var (
	colTrain  = color.RGBA{R: 0x9e, G: 0xc5, B: 0xe8, A: 0xff} // raw training loss, light blue
	colSmooth = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // smoothed training loss
	colEval   = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} // evaluation
	colLR     = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	colGrad   = color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}
	colCycle  = color.RGBA{R: 0x60, G: 0x60, B: 0x60, A: 0xc0}
)

// maxCycleLines bounds the cycle markers drawn; with more cycles every k-th is drawn.
const maxCycleLines = 60

// Chart is what Plot draws, panel by panel; tests read it to check the series.
type Chart struct {
	Panels []Panel
	Cycles []float64 // x of the cycle markers drawn on every panel
	Title  string
	// XMin, XMax is the step range shared by every panel.
	XMin, XMax float64
}

// Panel is one stacked chart: named series over steps.
type Panel struct {
	Name   string
	YLabel string
	LogY   bool
	Series []Series
}

// Series is one line (or set of points) of a panel.
type Series struct {
	Name   string
	X, Y   []float64
	Points bool // draw markers (evaluations) rather than a line
}

// BuildChart assembles the panels for a metrics log: loss (training, smoothed training, evaluation), learning
// rate and the active group's gradient norm, with the HiFT cycle starts.
func BuildChart(m *Metrics) *Chart {
	var x, loss, lr, gn, gx []float64
	for _, s := range m.Steps {
		xs := float64(s.Step + 1) // steps taken, as evaluation lines count them
		if !math.IsNaN(s.Loss) {
			x = append(x, xs)
			loss = append(loss, s.Loss)
		}
		if !math.IsNaN(s.LR) {
			lr = append(lr, s.LR)
		}
		if !math.IsNaN(s.GradNorm) && s.GradNorm > 0 {
			gx = append(gx, xs)
			gn = append(gn, s.GradNorm)
		}
	}
	lrx := make([]float64, 0, len(lr))
	for _, s := range m.Steps {
		if !math.IsNaN(s.LR) {
			lrx = append(lrx, float64(s.Step+1))
		}
	}
	c := &Chart{Title: "training: " + filepath.Base(filepath.Dir(m.Path))}
	lossPanel := Panel{Name: "loss", YLabel: "loss"}
	if len(loss) > 0 {
		lossPanel.Series = append(lossPanel.Series, Series{Name: "train", X: x, Y: loss})
		if len(loss) >= 10 {
			lossPanel.Series = append(lossPanel.Series, Series{Name: "train (smoothed)", X: x, Y: ema(loss, 0.9)})
		}
	}
	var ex, ey []float64
	for _, e := range m.Evals {
		if !math.IsNaN(e.Loss) {
			ex = append(ex, float64(e.Step))
			ey = append(ey, e.Loss)
		}
	}
	if len(ey) > 0 {
		lossPanel.Series = append(lossPanel.Series, Series{Name: "eval", X: ex, Y: ey, Points: true})
	}
	c.Panels = append(c.Panels, lossPanel)
	if len(lr) > 0 {
		c.Panels = append(c.Panels, Panel{Name: "lr", YLabel: "learning rate", Series: []Series{{Name: "lr", X: lrx, Y: lr}}})
	}
	if len(gn) > 0 {
		c.Panels = append(c.Panels, Panel{Name: "grad_norm", YLabel: "grad norm (active group)", LogY: true,
			Series: []Series{{Name: "grad norm", X: gx, Y: gn}}})
	}
	for i := range c.Panels { // long runs: keep the files small (the smoothed curve was computed on every step)
		for j := range c.Panels[i].Series {
			c.Panels[i].Series[j] = thin(c.Panels[i].Series[j], maxPoints)
		}
	}
	c.XMin, c.XMax = math.Inf(1), math.Inf(-1)
	for _, p := range c.Panels {
		for _, s := range p.Series {
			for _, x := range s.X {
				c.XMin, c.XMax = math.Min(c.XMin, x), math.Max(c.XMax, x)
			}
		}
	}
	if c.XMin > c.XMax {
		c.XMin, c.XMax = 0, 1
	}
	starts := m.CycleStarts()
	every := 1 + len(starts)/maxCycleLines
	for i, s := range starts {
		if i%every == 0 {
			c.Cycles = append(c.Cycles, float64(s)+0.5) // between the last step of a cycle and the first of the next
		}
	}
	if g := m.Groups(); g > 0 {
		note := fmt.Sprintf(" — HiFT, %d groups per cycle; dashed lines: cycle starts", g)
		if every > 1 {
			note += fmt.Sprintf(" (every %d-th)", every)
		}
		c.Title += note
	}
	return c
}

// maxPoints bounds the points of one drawn series.
const maxPoints = 4000

// thin keeps every k-th point of a long series (and its last), so that no more than limit are drawn.
func thin(s Series, limit int) Series {
	n := len(s.X)
	if n <= limit {
		return s
	}
	k := (n + limit - 1) / limit
	out := Series{Name: s.Name, Points: s.Points}
	for i := 0; i < n; i += k {
		out.X, out.Y = append(out.X, s.X[i]), append(out.Y, s.Y[i])
	}
	if out.X[len(out.X)-1] != s.X[n-1] {
		out.X, out.Y = append(out.X, s.X[n-1]), append(out.Y, s.Y[n-1])
	}
	return out
}

// ema is the exponential moving average TensorBoard's smoothing slider computes (debiased).
func ema(v []float64, w float64) []float64 {
	out := make([]float64, len(v))
	last, n := 0.0, 0.0
	for i, x := range v {
		last = last*w + (1-w)*x
		n = n*w + (1 - w)
		out[i] = last / n
	}
	return out
}

// Plot draws a metrics log to out; the format follows the extension (.svg or .png). The file is written
// atomically.
func Plot(m *Metrics, out string) error {
	return BuildChart(m).Save(out, 8*vg.Inch, 0)
}

// PlotMetricsFile reads a metrics.jsonl and plots it to out (.svg or .png).
func PlotMetricsFile(metrics, out string) error {
	m, err := ReadMetrics(metrics)
	if err != nil {
		return err
	}
	return Plot(m, out)
}

// PlotRun is what training calls at its end: it plots dir/metrics.jsonl to dir/metrics.svg and returns that
// path.
func PlotRun(dir string) (string, error) {
	out := filepath.Join(dir, PlotFile)
	return out, PlotMetricsFile(filepath.Join(dir, MetricsFile), out)
}

// Save renders the chart: panels stacked, width w, height h (0: 2.4 inches per panel).
func (c *Chart) Save(out string, w, h vg.Length) (err error) {
	ext := strings.ToLower(filepath.Ext(out))
	if ext != ".svg" && ext != ".png" {
		return fmt.Errorf("report: %s: unsupported chart format %q (use .svg or .png)", out, ext)
	}
	if h == 0 {
		h = vg.Length(len(c.Panels))*2.4*vg.Inch + 0.4*vg.Inch
	}
	defer func() {
		// gonum/plot panics on data it cannot lay out; that is this file's error, never a crash of the run.
		if r := recover(); r != nil {
			err = fmt.Errorf("report: %s: cannot draw the chart: %v", out, r)
		}
	}()
	plots := make([][]*plot.Plot, len(c.Panels))
	for i, p := range c.Panels {
		pl, err := c.panelPlot(p, i == 0, i == len(c.Panels)-1)
		if err != nil {
			return fmt.Errorf("report: %s: panel %s: %w", out, p.Name, err)
		}
		plots[i] = []*plot.Plot{pl}
	}
	var cw vg.CanvasWriterTo
	if ext == ".svg" {
		cw = vgsvg.New(w, h)
	} else {
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))}
	}
	dc := draw.New(cw)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8), PadY: vg.Points(6)}
	for i, row := range plot.Align(plots, tiles, dc) {
		plots[i][0].Draw(row[0])
	}
	return writeCanvas(out, cw)
}

// panelPlot builds one panel.
func (c *Chart) panelPlot(p Panel, first, last bool) (*plot.Plot, error) {
	pl := plot.New()
	if first {
		pl.Title.Text = c.Title
	}
	pl.Y.Label.Text = p.YLabel
	if last {
		pl.X.Label.Text = "step"
	}
	pl.Legend.Top = true
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil // vertical lines are the cycle markers
	pl.Add(grid)
	if p.LogY {
		pl.Y.Scale = plot.LogScale{}
		pl.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if len(c.Cycles) > 0 {
		pl.Add(cycleLines{xs: c.Cycles})
	}
	for _, s := range p.Series {
		xy := make(plotter.XYs, len(s.X))
		for i := range s.X {
			xy[i].X, xy[i].Y = s.X[i], s.Y[i]
		}
		col := seriesColor(s.Name)
		if s.Points {
			sc, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle.Color = col
			sc.GlyphStyle.Radius = vg.Points(3)
			sc.GlyphStyle.Shape = draw.CircleGlyph{}
			ln, err := plotter.NewLine(xy)
			if err != nil {
				return nil, err
			}
			ln.LineStyle.Color = col
			ln.LineStyle.Width = vg.Points(1)
			pl.Add(ln, sc)
			pl.Legend.Add(s.Name, sc)
			continue
		}
		ln, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		ln.LineStyle.Color = col
		ln.LineStyle.Width = vg.Points(1)
		if strings.Contains(s.Name, "smoothed") {
			ln.LineStyle.Width = vg.Points(2)
		}
		pl.Add(ln)
		pl.Legend.Add(s.Name, ln)
	}
	// One step axis for every panel, and headroom above the data for the legend.
	pl.X.Min, pl.X.Max = c.XMin, c.XMax
	pl.Y.Min, pl.Y.Max = yRange(p, pl.Y.Min, pl.Y.Max)
	if p.LogY && pl.Y.Max < 100*pl.Y.Min {
		// Less than two decades: powers of ten alone would label at most one tick.
		pl.Y.Tick.Marker = plot.DefaultTicks{}
	}
	if head := 0.25 * (pl.Y.Max - pl.Y.Min); !p.LogY && head > 0 && !math.IsInf(pl.Y.Max+head, 0) {
		pl.Y.Max += head
	}
	return pl, nil
}

// yRange widens a panel's value range that gonum/plot cannot draw: one value (or all equal, even 1e30 where
// ±1 is lost to rounding) is padded around it, and a log axis never reaches 0 (gonum's fallback of value±1 did:
// a single step with grad norm 0.49 panicked "Values must be greater than 0 for a log scale").
func yRange(p Panel, lo, hi float64) (float64, float64) {
	if p.LogY {
		if !(lo > 0) || !(hi > lo*(1+1e-9)) {
			if !(hi > 0) || math.IsInf(hi, 0) {
				return 0.1, 10
			}
			if !(lo > 0) || lo > hi {
				lo = hi
			}
			if hi <= lo*(1+1e-9) {
				return lo / 2, hi * 2
			}
		}
		return lo, hi
	}
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || lo > hi {
		return 0, 1
	}
	// gonum's ticks loop forever over a span that overflows (±1e308): such values are clipped to a drawable range.
	lo, hi = math.Max(lo, -math.MaxFloat64/8), math.Min(hi, math.MaxFloat64/8)
	if hi-lo <= 1e-9*math.Max(math.Abs(lo), math.Abs(hi)) {
		if lo >= 0 && hi > 0 {
			// A constant non-negative series (a constant learning rate): drawn from 0, so its value reads off
			// the axis instead of sitting in a ±1 band around it.
			return 0, 1.25 * hi
		}
		pad := 0.1 * math.Abs(hi)
		if pad == 0 {
			pad = 1
		}
		return lo - pad, hi + pad
	}
	return lo, hi
}

func seriesColor(name string) color.Color {
	switch {
	case name == "train":
		return colTrain
	case strings.Contains(name, "smoothed"):
		return colSmooth
	case name == "eval":
		return colEval
	case name == "lr":
		return colLR
	}
	return colGrad
}

// cycleLines draws a dashed vertical line at each x, the full height of the panel.
type cycleLines struct{ xs []float64 }

func (v cycleLines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	st := draw.LineStyle{Color: colCycle, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
	for _, x := range v.xs {
		if x < p.X.Min || x > p.X.Max {
			continue
		}
		X := trX(x)
		c.StrokeLine2(st, X, c.Min.Y, X, c.Max.Y)
	}
}

// writeCanvas writes a rendered canvas to out atomically; an SVG starts directly with <svg (what gonum/plot
// writes before it, an XML declaration and a comment, is optional), so the file embeds as it is in HTML.
func writeCanvas(out string, cw vg.CanvasWriterTo) error {
	var buf bytes.Buffer
	if _, err := cw.WriteTo(&buf); err != nil {
		return fmt.Errorf("report: %s: %w", out, err)
	}
	b := buf.Bytes()
	if strings.HasSuffix(strings.ToLower(out), ".svg") {
		if i := bytes.Index(b, []byte("<svg")); i > 0 {
			b = b[i:] // the XML declaration and generator comment before it are optional
		}
	}
	return writeAtomic(out, func(f io.Writer) error { _, err := f.Write(b); return err })
}

// writeAtomic writes a file through a temporary file in the same folder renamed into place.
func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("report: %w", err)
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("report: %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("report: %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
