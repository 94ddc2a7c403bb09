package main

import (
	"fmt"

	"github.com/hift-go/hift/bench"
	"github.com/hift-go/hift/report"
)

// memoryChart draws hift bench memory's rows as stacked Para/Gra/Sta bars (.svg or .png), in the style of
// the training charts (report.Bars).
func memoryChart(out string, t bench.Table) error {
	b := &report.Bars{Title: fmt.Sprintf("%s: device memory per configuration (HiFT m=%d)", t.Model, t.GroupSize), YLabel: "MB",
		Parts: []report.BarPart{{Name: "Para (weights)"}, {Name: "Gra (gradients)"}, {Name: "Sta (optimizer state)"}}}
	for _, r := range t.Rows {
		b.Labels = append(b.Labels, fmt.Sprintf("%s %s %s", r.Optimizer, r.Precision, r.Method))
		b.Parts[0].Values = append(b.Parts[0].Values, r.ParaMB)
		b.Parts[1].Values = append(b.Parts[1].Values, r.GraMB)
		b.Parts[2].Values = append(b.Parts[2].Values, r.StaMB)
	}
	return b.Save(out)
}

// speedChart draws hift bench speed's mean step time of every HiFT group and of a full fine-tuning step.
func speedChart(out, model string, so bench.SpeedOptions, res []bench.SpeedResult) error {
	b := &report.Bars{Title: fmt.Sprintf("%s: mean step time (batch %d × %d tokens, %s)", model, so.Batch, so.Seq, so.Optimizer),
		YLabel: "ms per step", Parts: []report.BarPart{{Name: "mean step"}}}
	for _, r := range res {
		for _, g := range r.Groups {
			label := string(r.Method)
			if g.Group >= 0 {
				label = fmt.Sprintf("%s %s", r.Method, g.Label)
			}
			b.Labels = append(b.Labels, label)
			b.Parts[0].Values = append(b.Parts[0].Values, float64(g.Mean.Microseconds())/1000)
		}
	}
	return b.Save(out)
}
