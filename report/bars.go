package report

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Bars is a bar chart in the style of the training charts: one bar per label, each bar a stack of named
// parts (a single part gives plain bars). hift bench memory stacks Para/Gra/Sta per configuration; hift bench
// speed draws the mean step time per HiFT group and of full fine-tuning.
type Bars struct {
	Title  string
	YLabel string
	Labels []string // one per bar
	Parts  []BarPart
}

// BarPart is one layer of every stack: Values[i] belongs to bar i.
type BarPart struct {
	Name   string
	Values []float64
}

// barColors are the stack colours, in order (the training chart's palette).
var barColors = []color.Color{colSmooth, colEval, colLR, colGrad, colTrain, colCycle}

// Save writes the chart to out (.svg or .png), atomically.
func (b *Bars) Save(out string) error {
	ext := strings.ToLower(filepath.Ext(out))
	if ext != ".svg" && ext != ".png" {
		return fmt.Errorf("report: %s: unsupported chart format %q (use .svg or .png)", out, ext)
	}
	if len(b.Labels) == 0 || len(b.Parts) == 0 {
		return fmt.Errorf("report: %s: nothing to chart", out)
	}
	for _, p := range b.Parts {
		if len(p.Values) != len(b.Labels) {
			return fmt.Errorf("report: %s: part %q has %d values for %d bars", out, p.Name, len(p.Values), len(b.Labels))
		}
	}
	pl := plot.New()
	pl.Title.Text = b.Title
	pl.Y.Label.Text = b.YLabel
	pl.Legend.Top = true
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	pl.Add(grid)
	w := vg.Points(18)
	if n := len(b.Labels); n < 8 {
		w = vg.Points(36)
	}
	var below *plotter.BarChart
	top := 0.0
	for i, p := range b.Parts {
		bc, err := plotter.NewBarChart(plotter.Values(p.Values), w)
		if err != nil {
			return fmt.Errorf("report: %s: %q: %w", out, p.Name, err)
		}
		bc.Color = barColors[i%len(barColors)]
		bc.LineStyle.Width = 0
		if below != nil {
			bc.StackOn(below)
		}
		below = bc
		pl.Add(bc)
		if len(b.Parts) > 1 {
			pl.Legend.Add(p.Name, bc)
		}
	}
	for i := range b.Labels {
		s := 0.0
		for _, p := range b.Parts {
			s += p.Values[i]
		}
		top = max(top, s)
	}
	pl.Y.Min, pl.Y.Max = 0, top*1.25 // headroom for the legend
	pl.NominalX(b.Labels...)
	pl.X.Tick.Label.Rotation = 0.6
	pl.X.Tick.Label.XAlign = draw.XRight
	pl.X.Tick.Label.YAlign = draw.YCenter
	width := max(5*vg.Inch, vg.Length(len(b.Labels))*(w+vg.Points(10))+1.5*vg.Inch)
	height := 4.5 * vg.Inch
	var cw vg.CanvasWriterTo
	if ext == ".svg" {
		cw = vgsvg.New(width, height)
	} else {
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))}
	}
	pl.Draw(draw.New(cw))
	return writeCanvas(out, cw)
}
