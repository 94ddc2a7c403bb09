package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hift-go/hift/report"
	"github.com/spf13/cobra"
)

// PlotOptions are the flags of `hift plot`.
type PlotOptions struct {
	f           *factory
	Metrics     string
	Out         string
	TensorBoard string
}

func newPlotCmd(f *factory, runF func(*PlotOptions) error) *cobra.Command {
	opts := &PlotOptions{f: f}
	cmd := &cobra.Command{
		Use:   "plot METRICS.jsonl|OUTPUT_DIR [--out FILE.svg|FILE.png]",
		Short: "Chart a training run: loss (train and eval), learning rate and gradient norm per step",
		Long: `plot reads the metrics.jsonl that hift train writes into its --output folder (or the folder itself) and
draws three stacked panels over the steps: the training loss (raw and smoothed as TensorBoard smooths it) with
the evaluation loss, the learning rate, and the gradient norm of the active HiFT group (log scale). Dashed
vertical lines mark where each HiFT cycle starts, i.e. where every group has been updated once. The format
follows --out's extension (.svg or .png); the default is metrics.svg beside the metrics file.

--tensorboard DIR also writes the metrics as a TensorBoard event file in DIR (tags as HF Trainer writes them:
train/loss, train/learning_rate, train/grad_norm, eval/loss, ...), for ` + "`tensorboard --logdir DIR`" + `.`,
		Example: `  hift plot out/metrics.jsonl --out loss.png
  hift plot out --tensorboard out/runs`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Metrics = args[0]
			if st, err := os.Stat(opts.Metrics); err == nil && st.IsDir() {
				opts.Metrics = filepath.Join(opts.Metrics, report.MetricsFile)
			}
			if opts.Out == "" {
				opts.Out = filepath.Join(filepath.Dir(opts.Metrics), report.PlotFile)
			}
			if ext := strings.ToLower(filepath.Ext(opts.Out)); ext != ".svg" && ext != ".png" {
				return badInput("--out %s: the chart format follows the extension: .svg or .png", opts.Out)
			}
			if runF != nil {
				return runF(opts)
			}
			return runPlot(opts)
		},
	}
	cmd.Flags().StringVar(&opts.TensorBoard, "tensorboard", "", "also write a TensorBoard event file into this folder")
	cmd.Flags().StringVar(&opts.Out, "out", "", "chart to write: FILE.svg or FILE.png (default: metrics.svg beside the metrics)")
	return cmd
}

func runPlot(o *PlotOptions) error {
	m, err := report.ReadMetrics(o.Metrics)
	if err != nil {
		return err
	}
	if err := report.Plot(m, o.Out); err != nil {
		return err
	}
	if o.TensorBoard != "" {
		ev, err := report.WriteTensorBoard(m, o.TensorBoard, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(o.f.stderr, "wrote %s\n", ev)
	}
	fmt.Fprintf(o.f.stderr, "wrote %s: %d steps, %d evaluations, %d HiFT cycle(s)\n", o.Out, len(m.Steps), len(m.Evals), len(m.CycleStarts())+boolInt(len(m.Steps) > 0))
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
