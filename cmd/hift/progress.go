package main

import (
	"fmt"
	"io"

	"github.com/hift-go/hift/bench"
	"github.com/hift-go/hift/hift"
	"github.com/hift-go/hift/progress"
	"github.com/spf13/pflag"
)

// bindProgressFlags adds hift train's logging flags.
func bindProgressFlags(fl *pflag.FlagSet, opts *TrainOptions) {
	fl.IntVar(&opts.LogEvery, "log-every", 0, "write a summary line every N steps (0: about 20 per run in a terminal, under the live bar; every step otherwise)")
}

// showProgress gives the trainer its progress display: a live bar with summary lines when stderr is a
// terminal, plain lines otherwise.
func (o *TrainOptions) showProgress(tr *hift.Trainer) *progress.Train {
	tty, width := progress.Terminal(o.f.stderr)
	p := progress.NewTrain(o.f.stderr, progress.TrainOptions{Total: tr.TotalSteps(), From: tr.Step(), LogEvery: o.LogEvery, TTY: tty, Width: width})
	tr.SetProgress(p)
	return p
}

// evalProgress draws hift eval's bar over the batches on a terminal (nil elsewhere: the result is the output).
func evalProgress(w io.Writer) func(done, total int) {
	tty, width := progress.Terminal(w)
	if !tty {
		return nil
	}
	var bar *progress.Bar
	return func(done, total int) {
		if bar == nil {
			bar = progress.NewBar(w, true, width, total)
		}
		bar.Describe(fmt.Sprintf("evaluating: batch %d/%d", done, total))
		bar.Set(done)
		if done >= total {
			bar.Finish()
		}
	}
}

// benchProgress draws hift bench speed's bar per method on a terminal (nil elsewhere: each method's summary
// line is the progress).
func benchProgress(w io.Writer) func(method bench.Method, done, total int) {
	tty, width := progress.Terminal(w)
	if !tty {
		return nil
	}
	var bar *progress.Bar
	var current bench.Method
	return func(method bench.Method, done, total int) {
		if bar == nil || method != current {
			if bar != nil {
				bar.Finish()
			}
			bar, current = progress.NewBar(w, true, width, total), method
		}
		bar.Describe(fmt.Sprintf("%s: step %d/%d (the first step of each group compiles it)", method, done, total))
		bar.Set(done)
		if done >= total {
			bar.Finish()
		}
	}
}

// measureProgress draws hift bench memory --measured's bar over its runs on a terminal; the per-run lines
// are written above it through the returned writer. Elsewhere the lines are the progress.
func measureProgress(w io.Writer) (io.Writer, func(done, total int, next string)) {
	tty, width := progress.Terminal(w)
	if !tty {
		return w, nil
	}
	var bar *progress.Bar
	lw := &clearingWriter{w: w}
	return lw, func(done, total int, next string) {
		if bar == nil {
			bar = progress.NewBar(w, true, width, total)
			lw.bar = bar
		}
		if done >= total {
			bar.Finish()
			return
		}
		bar.Describe(fmt.Sprintf("run %d/%d: %s", done+1, total, next))
		bar.Set(done)
	}
}

// clearingWriter clears the bar before each write, so lines land above it; the next update redraws it.
type clearingWriter struct {
	w   io.Writer
	bar *progress.Bar
}

func (c *clearingWriter) Write(p []byte) (int, error) {
	if c.bar != nil {
		c.bar.Clear()
	}
	return c.w.Write(p)
}
