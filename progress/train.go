package progress

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/hift-go/hift/hift"
)

// TrainOptions configure NewTrain.
type TrainOptions struct {
	Total int // the run's last step (Trainer.TotalSteps)
	From  int // the step it starts from (a resumed run), so the ETA counts only this run's steps
	// LogEvery writes a summary line every N steps (and at the last step, every skipped step and every
	// evaluation). 0: about 20 lines over the run in a terminal, every step elsewhere.
	LogEvery int
	TTY      bool // draw a live bar (Terminal tells)
	Width    int  // the terminal's columns (0: 80)
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Train shows a training run's progress; it implements hift.Progress and hift.EvalProgress.
type Train struct {
	w     io.Writer
	o     TrainOptions
	start time.Time
	bar   *Bar
	eval  *Bar

	ema, emaWeight  float64 // smoothed loss (exponential, bias-corrected)
	winSum, winN    float64 // mean loss since the last summary line
	tokens          float64 // tokens of this run's steps
	steps, lastStep int
	now             time.Time // the clock at the last Step or Done
}

// NewTrain starts the progress display of a run on w; the clock for elapsed time and ETA starts now.
func NewTrain(w io.Writer, o TrainOptions) *Train {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LogEvery <= 0 {
		o.LogEvery = 1
		if o.TTY {
			o.LogEvery = max(1, (o.Total-o.From)/20)
		}
	}
	p := &Train{w: w, o: o, start: o.Now(), lastStep: o.From}
	p.now = p.start
	p.bar = NewBar(w, o.TTY, o.Width, o.Total-o.From)
	return p
}

// LogEvery is the number of steps between summary lines.
func (p *Train) LogEvery() int { return p.o.LogEvery }

// Step records a finished optimizer step: the bar moves; every LogEvery steps a summary line stays on screen.
func (p *Train) Step(m hift.StepMetrics) {
	p.steps++
	p.lastStep = m.Step + 1
	p.now = p.o.Now()
	if p.steps == 1 {
		// The clock starts with the first step, not with what ran before it (an evaluation at step 0).
		p.start = p.now.Add(-time.Duration(m.StepTime * float64(time.Second)))
	}
	p.tokens += float64(m.Tokens)
	if !m.Skipped && !math.IsNaN(m.Loss) && !math.IsInf(m.Loss, 0) {
		p.ema = 0.9*p.ema + 0.1*m.Loss
		p.emaWeight = 0.9*p.emaWeight + 0.1
		p.winSum += m.Loss
		p.winN++
	}
	if m.Skipped || p.lastStep%p.o.LogEvery == 0 || p.lastStep == p.o.Total {
		p.bar.Clear()
		fmt.Fprintln(p.w, p.line(m))
		p.winSum, p.winN = 0, 0
	}
	if p.bar.Live() {
		p.bar.Describe(fmt.Sprintf("step %d/%d · loss %s · lr %.3g · %s · %s", p.lastStep, p.o.Total, p.smoothed(), m.LR,
			rate(p.tokens, p.elapsed()), groupName(m)))
		p.bar.Set(p.steps)
	}
}

// line is a summary line; it starts as hift's plain step line ("step N/T  group  loss L  ...").
func (p *Train) line(m hift.StepMetrics) string {
	avg := "-"
	if p.winN > 0 {
		avg = fmt.Sprintf("%.4f", p.winSum/p.winN)
	}
	s := fmt.Sprintf("step %d/%d  %s  loss %.4f  avg %s  lr %.3g  |g| %.3g  %.0f tok/s  %s  elapsed %s  eta %s",
		m.Step+1, p.o.Total, groupName(m), m.Loss, avg, m.LR, m.GradNorm, m.TokensPerS, hift.HumanBytes(m.DeviceMem),
		Duration(p.elapsed()), Duration(p.eta()))
	if m.Skipped {
		s += "  SKIPPED (non-finite loss or gradient: update not applied)"
	}
	return s
}

func (p *Train) elapsed() time.Duration { return p.now.Sub(p.start) }

// eta extrapolates this run's mean step time over the steps left.
func (p *Train) eta() time.Duration {
	left := p.o.Total - p.lastStep
	if left <= 0 {
		return 0
	}
	if p.steps == 0 {
		return -1
	}
	return time.Duration(float64(p.elapsed()) / float64(p.steps) * float64(left))
}

func (p *Train) smoothed() string {
	if p.emaWeight == 0 {
		return "-"
	}
	return fmt.Sprintf("%.4f", p.ema/p.emaWeight)
}

func rate(tokens float64, d time.Duration) string {
	if d <= 0 {
		return "- tok/s"
	}
	return fmt.Sprintf("%.0f tok/s", tokens/d.Seconds())
}

// groupName names the active group by its units ("group 2 [layers.1+layers.2]"; "all units" in full
// fine-tuning).
func groupName(m hift.StepMetrics) string {
	if m.Group < 0 {
		return "all units"
	}
	return fmt.Sprintf("group %d [%s]", m.Group, strings.Join(m.Units, "+"))
}

// EvalBatch shows an evaluation's batches on a bar of their own (terminal only).
func (p *Train) EvalBatch(done, total int) {
	if !p.o.TTY {
		return
	}
	if p.eval == nil {
		p.bar.Clear()
		p.eval = NewBar(p.w, true, p.o.Width, total)
	}
	p.eval.Describe(fmt.Sprintf("evaluating at step %d: batch %d/%d", p.lastStep, done, total))
	p.eval.Set(done)
	if done >= total {
		p.eval.Finish()
		p.eval = nil
	}
}

// Eval writes an evaluation's metrics as a permanent line.
func (p *Train) Eval(step int, em hift.EvalMetrics) {
	if p.eval != nil {
		p.eval.Finish()
		p.eval = nil
	}
	p.bar.Clear()
	fmt.Fprintf(p.w, "eval at step %d: %s\n", step, em)
}

// Pause clears the bar before the trainer writes another message.
func (p *Train) Pause() { p.bar.Clear() }

// Done removes the bar and writes the run's totals.
func (p *Train) Done() {
	if p.bar == nil {
		return
	}
	p.bar.Finish()
	p.bar = &Bar{}
	p.now = p.o.Now()
	if p.steps > 0 {
		fmt.Fprintf(p.w, "trained %d steps in %s (%s, %s per step), smoothed loss %s\n", p.steps, Duration(p.elapsed()),
			rate(p.tokens, p.elapsed()), Duration(p.elapsed()/time.Duration(p.steps)), p.smoothed())
	}
	p.steps = 0
}
