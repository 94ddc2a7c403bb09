package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/hift-go/hift/bench"
	"github.com/hift-go/hift/graph"
	"github.com/spf13/cobra"
)

func newBenchCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Regenerate the paper's memory table and time HiFT against full fine-tuning",
		Long: `bench measures hift the way the HiFT paper reports it.

  bench memory   the GPU-memory table (#Trainable, Para, Gra, Sta, PGS, Residual, Total) per optimizer,
                 precision and method, computed from a model's config alone and/or measured on the backend
  bench speed    step time per HiFT group, tokens/s and first-step (compile) time, HiFT vs full fine-tuning,
                 also as Go benchmark lines for benchstat

--model takes a checkpoint folder, a config.json or a built-in name:
  ` + strings.Join(bench.BuiltinNames(), ", ") + `
No weights are read (measured runs use random weights).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newBenchMemoryCmd(f, nil), newBenchSpeedCmd(f, nil))
	return cmd
}

// BenchMemoryOptions are the flags of `hift bench memory`.
type BenchMemoryOptions struct {
	f *factory

	Model                  string
	Analytical, Measured   bool
	Batch, Seq, GroupSize  int
	Optimizers, Precisions string
	Format                 string
	ComparePaper           bool
	Chart                  string

	optimizers []string
	precisions []bench.Precision
}

func newBenchMemoryCmd(f *factory, runF func(*BenchMemoryOptions) error) *cobra.Command {
	opts := &BenchMemoryOptions{f: f}
	cmd := &cobra.Command{
		Use:   "memory --model NAME|DIR [--analytical] [--measured] [flags]",
		Short: "The paper's memory table: analytical from the config, measured on the backend",
		Long: `memory prints the HiFT paper's GPU-memory table for a model (its LLaMA-7B E2E table: Para, Gra, Sta, PGS), one row per
optimizer × precision × method × source. MB = 2^20 bytes, GB = 1024 MB.

Columns: #Trainable (full fine-tuning: every parameter; HiFT: the largest group of units trained in one step),
Para (weights on the device: FP32 4 B/param; Mixed = AMP's fp32 master + fp16 copy, 6 B/param; Mixed^Hi =
fp16 weights + the fp32 master of the active group), Gra (fp32 gradients of the trained parameters), Sta
(their optimizer state; HiFT keeps every other group's state in host memory), PGS = (Para + Gra + Sta)/1024,
Residual = Total − PGS, Total = peak device memory.

--analytical (the default) computes Para, Gra, Sta and PGS from the config's shapes alone: Residual and Total,
which the paper measured, stay empty. --measured trains the model from random weights on the backend, HiFT for
one full period of groups and full fine-tuning for two steps, and takes the peak of every category from the
trainer's memory ledger; on the pure-Go backend Total is the largest in-step device total seen on the Go heap
(the backend's device memory), after a warm-up period. The trainer's modes are measured: FP32 (both methods),
bfloat16 full fine-tuning (bf16 weights + fp32 masters on the device: the Mixed row) and bfloat16 HiFT (the
Mixed^Hi row); Mixed with HiFT (AMP's copies of every weight) is not a trainer mode and stays analytical.
The optimizers are adamw, sgdm (SGD with momentum 0.9), sgd, adafactor and adagrad; Mixed^Hi is HiFT's scheme
(for full fine-tuning it is Mixed).

--compare-paper adds the paper's rows (source "paper") beside ours, for llama-7b only, and lists the cells
whose printed digits differ. --chart writes an SVG of Para/Gra/Sta stacked per row (our rows, not the paper's).`,
		Example: `  hift bench memory --model llama-7b --compare-paper
  hift bench memory --model llama-7b --format csv > llama-7b.csv
  hift bench memory --model llama-small --measured --batch-size 2 --seq-len 32 --precision fp32
  hift bench memory --model ./my-checkpoint --optimizer adamw,sgd --chart memory.svg`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runBenchMemory(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Model, "model", "", "built-in model name, checkpoint folder or config.json")
	fl.BoolVar(&opts.Analytical, "analytical", false, "rows computed from the config (default when --measured is not given)")
	fl.BoolVar(&opts.Measured, "measured", false, "rows measured by training random weights on the backend (fp32; bfloat16 for mixed full fine-tuning and mixed_hi HiFT)")
	fl.IntVar(&opts.Batch, "batch-size", 2, "batch size of the measured runs")
	fl.IntVar(&opts.Seq, "seq-len", 32, "sequence length of the measured runs")
	fl.IntVar(&opts.GroupSize, "group-size", 1, "HiFT units per group (m, the original's group_element)")
	fl.StringVar(&opts.Optimizers, "optimizer", "all", "comma-separated: adamw, sgdm, sgd, adafactor, adagrad (or any hift optimizer); all = the paper's five")
	fl.StringVar(&opts.Precisions, "precision", "all", "comma-separated: fp32, mixed, mixed_hi (bf16 as in hift train); all = the three")
	fl.StringVar(&opts.Format, "format", "markdown", "markdown, csv or json")
	fl.BoolVar(&opts.ComparePaper, "compare-paper", false, "add the paper's numbers beside ours (llama-7b)")
	fl.StringVar(&opts.Chart, "chart", "", "also write a chart of Para/Gra/Sta to this file (.svg or .png)")
	return cmd
}

// complete validates the flags; every problem is reported at once.
func (o *BenchMemoryOptions) complete() error {
	var problems []string
	if o.Model == "" {
		problems = append(problems, "bench memory needs --model (a built-in name, a checkpoint folder or a config.json)")
	}
	if !o.Analytical && !o.Measured {
		o.Analytical = true
	}
	if o.Batch < 1 || o.Seq < 2 {
		problems = append(problems, fmt.Sprintf("--batch-size must be >= 1 and --seq-len >= 2, got %d and %d", o.Batch, o.Seq))
	}
	if o.GroupSize < 1 {
		problems = append(problems, fmt.Sprintf("--group-size must be >= 1, got %d", o.GroupSize))
	}
	var err error
	if o.optimizers, err = parseOptimizers(o.Optimizers); err != nil {
		problems = append(problems, err.Error())
	}
	if o.precisions, err = parsePrecisions(o.Precisions); err != nil {
		problems = append(problems, err.Error())
	}
	if !slices.Contains([]string{"markdown", "md", "csv", "json"}, o.Format) {
		problems = append(problems, fmt.Sprintf("--format must be markdown, csv or json, got %q", o.Format))
	}
	if len(problems) > 0 {
		return badInput("%s", strings.Join(problems, "\n  "))
	}
	return nil
}

func parseOptimizers(s string) ([]string, error) {
	if s == "" || s == "all" {
		return bench.Optimizers(), nil
	}
	var out []string
	for _, o := range strings.Split(s, ",") {
		o = strings.ToLower(strings.TrimSpace(o))
		if _, err := bench.OptimizerConfig(o); err != nil {
			return nil, fmt.Errorf("--optimizer: %w", err)
		}
		out = append(out, o)
	}
	return out, nil
}

func parsePrecisions(s string) ([]bench.Precision, error) {
	if s == "" || s == "all" {
		return bench.Precisions(), nil
	}
	var out []bench.Precision
	for _, p := range strings.Split(s, ",") {
		switch bp := benchPrecision(p); bp {
		case bench.FP32, bench.Mixed, bench.MixedHi:
			out = append(out, bp)
		default:
			return nil, fmt.Errorf("--precision: unknown precision %q (fp32, mixed or mixed_hi; bf16 as in hift train)", p)
		}
	}
	return out, nil
}

func runBenchMemory(o *BenchMemoryOptions) error {
	m, err := bench.LoadModel(o.Model)
	if err != nil {
		return err
	}
	a, err := bench.Analyze(m, o.GroupSize)
	if err != nil {
		return err
	}
	t := bench.Table{Model: bench.ModelName(o.Model), Class: m.Class, Parameters: a.NumParams, GroupSize: o.GroupSize}
	if o.ComparePaper && !isPaperModel(m) {
		return badInput("--compare-paper: the paper's table is for LLaMA-2-7B (built-in llama-7b, 6738415616 parameters); %s is %s with %d", o.Model, m.Class, a.NumParams)
	}
	if o.Analytical {
		rows, err := bench.AnalyticalRows(a, o.optimizers, o.precisions, bench.Methods())
		if err != nil {
			return err
		}
		t.Rows = append(t.Rows, rows...)
		t.Notes = append(t.Notes, "analytical rows: from the config's shapes alone; Residual and Total are measured quantities (empty)")
	}
	if o.Measured {
		be, err := o.f.Backend()
		if err != nil {
			return err
		}
		d, err := bench.ModelDims(m)
		if err != nil {
			return err
		}
		if err := bench.CheckRunnable(be, a, d, o.Batch, o.Seq); err != nil {
			return err
		}
		log, prog := measureProgress(o.f.stderr) // progress.go
		rows, err := bench.MeasuredRows(be, m, bench.MeasureOptions{Batch: o.Batch, Seq: o.Seq, GroupSize: o.GroupSize,
			Optimizers: o.optimizers, Precisions: o.precisions, Seed: 1, Log: log, Progress: prog})
		if err != nil {
			return err
		}
		t.Rows = append(t.Rows, rows...)
		t.Batch, t.Seq, t.Backend = o.Batch, o.Seq, graph.ResolveBackendConfig(o.f.backendFlag)
		if len(rows) > 0 {
			t.Notes = append(t.Notes, "measured rows: "+rows[0].Note)
		}
		if slices.Contains(o.precisions, bench.Mixed) {
			t.Notes = append(t.Notes, "Mixed with HiFT is analytical only: the trainer's bfloat16 HiFT is Mixed^Hi")
		}
	}
	if o.ComparePaper {
		for _, p := range bench.PaperRows() {
			if slices.Contains(o.optimizers, p.Optimizer) && slices.Contains(o.precisions, p.Precision) {
				t.Rows = append(t.Rows, p)
			}
		}
		t.Notes = append(t.Notes, "paper rows: transcribed from the HiFT paper (LLaMA 7B, E2E); its Residual and Total were measured at an unstated batch and length")
		t.Notes = append(t.Notes, bench.ComparePaperNotes(t.Rows)...)
	}
	bench.SortRows(t.Rows)
	if err := bench.WriteTable(o.f.stdout, t, o.Format); err != nil {
		return err
	}
	if o.Chart != "" {
		ours := t
		ours.Rows = slices.DeleteFunc(slices.Clone(t.Rows), func(r bench.Row) bool { return r.Source == bench.Paper })
		if err := memoryChart(o.Chart, ours); err != nil { // bench_charts.go
			return fmt.Errorf("--chart: %w", err)
		}
	}
	return nil
}

// isPaperModel reports whether m is the paper's LLaMA-2-7B.
func isPaperModel(m *graph.Model) bool {
	return m.Class == "LlamaForCausalLM" && m.NumParameters() == 6_738_415_616
}

// writeFile creates path and writes it with fn.
func writeFile(path string, fn func(io.Writer) error) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(fh); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// BenchSpeedOptions are the flags of `hift bench speed`.
type BenchSpeedOptions struct {
	f *factory

	Model                        string
	Batch, Seq, Steps, GroupSize int
	Optimizer, Method, Format    string
	Chart                        string // bench_charts.go
}

func newBenchSpeedCmd(f *factory, runF func(*BenchSpeedOptions) error) *cobra.Command {
	opts := &BenchSpeedOptions{f: f}
	cmd := &cobra.Command{
		Use:   "speed --model NAME|DIR [--batch-size N --seq-len T --steps S]",
		Short: "Step time per HiFT group, tokens/s and compile time, HiFT vs full fine-tuning",
		Long: `speed trains the model from random weights on the backend and times it. HiFT compiles one program per
distinct group (the first step of each group is compile + run, reported apart); then --steps timed steps
(default: two full periods, every group twice) are averaged, and full fine-tuning runs as many steps after its
own compiling step. Step times are per optimizer step; tokens/s counts batch × sequence tokens per step.

The text format prints the per-group table and then the same summary as Go benchmark lines,

  BenchmarkStep/<model>/<method>-<procs>       N  <ns> ns/op  <tok/s> tok/s
  BenchmarkFirstStep/<model>/<method>-<procs>  G  <ns> ns/op   (mean first step over the G groups)

which benchstat compares across runs (--format bench prints only those).`,
		Example: `  hift bench speed --model llama-small --batch-size 2 --seq-len 32
  hift bench speed --model llama-small --format bench > new.txt && benchstat old.txt new.txt
  hift bench speed --model gpt2 --backend xla:/opt/pjrt/xla_cuda_plugin.so --batch-size 8 --seq-len 512`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var problems []string
			if opts.Model == "" {
				problems = append(problems, "bench speed needs --model (a built-in name, a checkpoint folder or a config.json)")
			}
			if opts.Batch < 1 || opts.Seq < 2 || opts.Steps < 0 || opts.GroupSize < 1 {
				problems = append(problems, fmt.Sprintf("need --batch-size >= 1, --seq-len >= 2, --steps >= 0, --group-size >= 1; got %d, %d, %d, %d", opts.Batch, opts.Seq, opts.Steps, opts.GroupSize))
			}
			if _, err := bench.OptimizerConfig(opts.Optimizer); err != nil {
				problems = append(problems, "--optimizer: "+err.Error())
			}
			if !slices.Contains([]string{"both", "hift", "fpft"}, opts.Method) {
				problems = append(problems, fmt.Sprintf("--method must be both, hift or fpft, got %q", opts.Method))
			}
			if !slices.Contains([]string{"text", "bench", "json"}, opts.Format) {
				problems = append(problems, fmt.Sprintf("--format must be text, bench or json, got %q", opts.Format))
			}
			if len(problems) > 0 {
				return badInput("%s", strings.Join(problems, "\n  "))
			}
			if runF != nil {
				return runF(opts)
			}
			return runBenchSpeed(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Model, "model", "", "built-in model name, checkpoint folder or config.json")
	fl.IntVar(&opts.Batch, "batch-size", 2, "examples per step")
	fl.IntVar(&opts.Seq, "seq-len", 32, "tokens per example")
	fl.IntVar(&opts.Steps, "steps", 0, "timed steps per method after the compiling ones (0: two HiFT periods)")
	fl.IntVar(&opts.GroupSize, "group-size", 1, "HiFT units per group (m)")
	fl.StringVar(&opts.Optimizer, "optimizer", "adamw", "optimizer (adamw, sgdm, sgd, adafactor, adagrad, ...)")
	fl.StringVar(&opts.Method, "method", "both", "both, hift or fpft")
	fl.StringVar(&opts.Format, "format", "text", "text (table + benchmark lines), bench (benchmark lines only) or json")
	fl.StringVar(&opts.Chart, "chart", "", "also write a chart of the mean step time per HiFT group and full step (.svg or .png)")
	return cmd
}

func runBenchSpeed(o *BenchSpeedOptions) error {
	m, err := bench.LoadModel(o.Model)
	if err != nil {
		return err
	}
	a, err := bench.Analyze(m, o.GroupSize)
	if err != nil {
		return err
	}
	d, err := bench.ModelDims(m)
	if err != nil {
		return err
	}
	be, err := o.f.Backend()
	if err != nil {
		return err
	}
	if err := bench.CheckRunnable(be, a, d, o.Batch, o.Seq); err != nil {
		return err
	}
	so := bench.SpeedOptions{Batch: o.Batch, Seq: o.Seq, Steps: o.Steps, Optimizer: o.Optimizer, GroupSize: o.GroupSize, Seed: 1, Log: o.f.stderr}
	switch o.Method {
	case "hift":
		so.Methods = []bench.Method{bench.HiFT}
	case "fpft":
		so.Methods = []bench.Method{bench.FPFT}
	}
	so.Progress = benchProgress(o.f.stderr) // progress.go
	res, err := bench.Speed(be, m, so)
	if err != nil {
		return err
	}
	name := bench.ModelName(o.Model)
	if o.Chart != "" {
		if err := speedChart(o.Chart, name, so, res); err != nil { // bench_charts.go
			return fmt.Errorf("--chart: %w", err)
		}
	}
	switch o.Format {
	case "json":
		return writeJSON(o.f.stdout, map[string]any{"model": name, "backend": graph.ResolveBackendConfig(o.f.backendFlag),
			"batch_size": o.Batch, "seq_len": o.Seq, "optimizer": o.Optimizer, "results": res})
	case "bench":
		bench.WriteBenchLines(o.f.stdout, name, res)
	default:
		bench.WriteSpeedTable(o.f.stdout, name, so, res)
		fmt.Fprintln(o.f.stdout)
		bench.WriteBenchLines(o.f.stdout, name, res)
	}
	return nil
}
