package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hift-go/hift/bench"
	"github.com/hift-go/hift/graph"
	"github.com/spf13/cobra"
)

// PlanOptions are the flags of `hift plan`.
type PlanOptions struct {
	f *factory

	Model                   string
	GPUMemory, HostMemory   string
	Reserve                 string
	Batch, Seq, GroupSize   int
	Optimizer, Precision    string
	NoPrefetch, JSON, Check bool

	plan bench.PlanOptions
}

func newPlanCmd(f *factory, runF func(*PlanOptions) error) *cobra.Command {
	opts := &PlanOptions{f: f}
	cmd := &cobra.Command{
		Use:   "plan --model NAME|DIR --gpu-memory SIZE [--host-memory SIZE] [flags]",
		Short: "Predict whether HiFT and full fine-tuning fit a GPU, the largest batch and sequence, and host RAM",
		Long: `plan predicts, from the model's config alone (no weights, no backend), the device memory of HiFT and of
full fine-tuning at --batch-size × --seq-len and says whether each fits in --gpu-memory; it searches the
largest batch at that length and the longest sequence at batch 1, and gives the host RAM that HiFT's
offloaded optimizer state (and, under mixed_hi, the fp32 masters) needs.

HiFT trains one group of units per step (--group-size m units; the queue rotates through all of them), so the
device holds every weight plus ONE group's gradients and optimizer state; the rest of the state waits in host
RAM. Each group's step is planned separately and the groups that set the peak are listed: usually the
embedding or the first block, whose backward pass crosses the whole model.

Per step, device memory = Para + Sta + prefetched next state + max(Gra + activations, update copies):
  Para       weights: fp32 4 B/param; mixed (AMP) 6 B/param; mixed_hi 2 B/param + the group's fp32 master
  Gra, Sta   fp32 gradients and optimizer state of the trained parameters (sgdm = SGD with momentum)
  prefetch   hift train uploads the next group's state during a step (--no-prefetch: off)
  copies     at the update the step writes new weights (into the dying gradients' buffers) and new state
             beside the old ones (the trainer does not donate its inputs)
  activations  an analytical estimate per family (bench/activation.go): per token, a trained LLaMA block
             keeps 10·D + 4·I + H·T elements, a frozen block on the backward path 5·D + 3·I + H·T (GPT-2/OPT/
             BERT: 8·D + 2·I + H·T and 5·D + I + H·T); blocks below the lowest trained unit keep nothing; a
             causal-LM head keeps 2·D + V and its backward adds 2·V (fp32). FP32 activations are 4 B, mixed 2 B.
--reserve (default 1GiB) is left for the CUDA context and library workspaces. Sizes accept B, KB/KiB, MB/MiB,
GB/GiB, TB/TiB, all binary (GPU memory is quoted in GiB: a "24GB" card has 24 GiB); a bare number is GiB.

--check trains the configuration (FP32) on the backend with random weights and compares the planner with the
measured memory of every step; it is for small models on the pure-Go backend, whose device memory is the Go
heap, and prints the activation estimate beside the activations of the step graph replayed as SimpleGo runs it.`,
		Example: `  hift plan --model llama-7b --gpu-memory 24GB --precision mixed_hi --batch-size 3 --seq-len 512 --host-memory 96GB
  hift plan --model llama-7b --gpu-memory 80GB --optimizer sgd
  hift plan --model ./my-checkpoint --gpu-memory 48GB --batch-size 8 --seq-len 512 --json
  hift plan --model llama-small --gpu-memory 2GB --batch-size 4 --seq-len 128 --check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runPlan(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Model, "model", "", "built-in model name, checkpoint folder or config.json")
	fl.StringVar(&opts.GPUMemory, "gpu-memory", "", "device memory, e.g. 24GB (required)")
	fl.StringVar(&opts.HostMemory, "host-memory", "", "host RAM, e.g. 64GB (checks HiFT's offloaded state)")
	fl.StringVar(&opts.Reserve, "reserve", "1GiB", "device memory set aside for the runtime")
	fl.IntVar(&opts.Batch, "batch-size", 8, "examples per step")
	fl.IntVar(&opts.Seq, "seq-len", 512, "tokens per example")
	fl.IntVar(&opts.GroupSize, "group-size", 1, "HiFT units per group (m, the original's group_element)")
	fl.IntVar(&opts.GroupSize, "group-element", 1, "alias of --group-size")
	fl.StringVar(&opts.Optimizer, "optimizer", "adamw", "adamw, sgdm, sgd, adafactor, adagrad (or any hift optimizer)")
	fl.StringVar(&opts.Precision, "precision", "fp32", "fp32, mixed (AMP) or mixed_hi (HiFT's Mixed^Hi; also bf16, hift train's name for it)")
	fl.BoolVar(&opts.NoPrefetch, "no-prefetch", false, "plan without the next group's state uploaded during a step")
	fl.BoolVar(&opts.JSON, "json", false, "machine-readable output")
	fl.BoolVar(&opts.Check, "check", false, "also train on the backend and compare the plan with measured memory (small models)")
	return cmd
}

// complete validates the flags and fills opts.plan; every problem is reported at once.
func (o *PlanOptions) complete() error {
	var problems []string
	if o.Model == "" {
		problems = append(problems, "plan needs --model (a built-in name, a checkpoint folder or a config.json)")
	}
	p := bench.PlanOptions{Batch: o.Batch, Seq: o.Seq, Optimizer: strings.ToLower(o.Optimizer), GroupSize: o.GroupSize,
		Precision: benchPrecision(o.Precision), Prefetch: !o.NoPrefetch}
	var err error
	if o.GPUMemory == "" {
		problems = append(problems, "plan needs --gpu-memory (e.g. 24GB)")
	} else if p.GPUMemory, err = parseSize(o.GPUMemory); err != nil {
		problems = append(problems, "--gpu-memory: "+err.Error())
	}
	if o.HostMemory != "" {
		if p.HostMemory, err = parseSize(o.HostMemory); err != nil {
			problems = append(problems, "--host-memory: "+err.Error())
		}
	}
	if p.Reserve, err = parseSize(o.Reserve); err != nil {
		problems = append(problems, "--reserve: "+err.Error())
	}
	if o.Batch < 1 || o.Seq < 2 || o.GroupSize < 1 {
		problems = append(problems, fmt.Sprintf("need --batch-size >= 1, --seq-len >= 2, --group-size >= 1; got %d, %d, %d", o.Batch, o.Seq, o.GroupSize))
	}
	if _, err := bench.OptimizerConfig(p.Optimizer); err != nil {
		problems = append(problems, "--optimizer: "+err.Error())
	}
	switch p.Precision {
	case bench.FP32, bench.Mixed, bench.MixedHi:
	default:
		problems = append(problems, fmt.Sprintf("--precision must be fp32, mixed or mixed_hi (bf16 as in hift train), got %q", o.Precision))
	}
	if o.Check && p.Precision != bench.FP32 {
		problems = append(problems, "--check compares FP32 runs: use --precision fp32")
	}
	if len(problems) > 0 {
		return badInput("%s", strings.Join(problems, "\n  "))
	}
	o.plan = p
	return nil
}

// parseSize reads "24GB", "24 GiB", "512MiB", "1.5T" or "24" (GiB). Every unit is binary.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	i := strings.IndexFunc(t, func(r rune) bool { return r >= 'A' && r <= 'Z' })
	if i < 0 {
		i = len(t)
	}
	num, unit := strings.TrimSpace(t[:i]), strings.TrimSpace(t[i:])
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("cannot read size %q (e.g. 24GB, 512MiB)", s)
	}
	shift := map[string]uint{"": 30, "B": 0, "K": 10, "KB": 10, "KIB": 10, "M": 20, "MB": 20, "MIB": 20,
		"G": 30, "GB": 30, "GIB": 30, "T": 40, "TB": 40, "TIB": 40}
	sh, ok := shift[unit]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q in %q (B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)", unit, s)
	}
	return int64(v * float64(int64(1)<<sh)), nil
}

// maxPlanLayers bounds the depth plan models unit by unit (its cost grows faster than linearly with the layers:
// 2e9 layers ran for hours); the deepest published transformers (DeepNet) have about a thousand.
const maxPlanLayers = 10000

func runPlan(o *PlanOptions) error {
	if cfg, err := graph.LoadConfig(o.Model); err == nil { // a checkpoint folder or config.json (not a built-in name)
		if n := cfg.Sizes().Layers; n > maxPlanLayers {
			return fmt.Errorf("config: %s: %d layers is beyond any model plan can lay out (at most %d); check num_hidden_layers", cfg.Path, n, maxPlanLayers)
		}
	}
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
	p, err := bench.MakePlan(a, d, o.plan)
	if err != nil {
		return err
	}
	var checks []bench.ValidationRow
	if o.Check {
		be, err := o.f.Backend()
		if err != nil {
			return err
		}
		if err := bench.CheckRunnable(be, a, d, o.Batch, o.Seq); err != nil {
			return err
		}
		if checks, err = bench.Validate(be, a, d, o.plan); err != nil {
			return err
		}
	}
	name := bench.ModelName(o.Model)
	if o.JSON {
		return writeJSON(o.f.stdout, planJSON(name, p, checks))
	}
	printPlan(o.f.stdout, name, p)
	if o.Check {
		printChecks(o.f.stdout, checks)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printPlan(w io.Writer, name string, p *bench.Plan) {
	o, a := p.Options, p.Analysis
	fmt.Fprintf(w, "model     %s: %s, %d parameters, %d units, %d HiFT groups (m=%d)\n", name, a.Model.Class, a.NumParams,
		len(a.Model.Units), len(a.Groups), a.GroupSize)
	fmt.Fprintf(w, "setting   %s, %s, batch %d × sequence %d; GPU %s (%s reserved)", o.Precision.Label(), o.Optimizer, o.Batch, o.Seq,
		bench.FormatBytes(o.GPUMemory), bench.FormatBytes(o.Reserve))
	if o.HostMemory > 0 {
		fmt.Fprintf(w, ", host %s", bench.FormatBytes(o.HostMemory))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	methods := []bench.MethodPlan{p.HiFT, p.FPFT}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	head := "\t"
	for _, m := range methods {
		label := "full fine-tuning"
		if m.Method == bench.HiFT {
			label = "HiFT (peak group)"
		}
		if m.Precision != o.Precision {
			label += " (" + m.Precision.Label() + ")"
		}
		head += label + "\t"
	}
	fmt.Fprintln(tw, head)
	row := func(name string, f func(bench.MethodPlan) string) {
		line := name + "\t"
		for _, m := range methods {
			line += f(m) + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	fb := bench.FormatBytes
	row("weights (Para)", func(m bench.MethodPlan) string { return fb(m.Peak.Para) })
	row("gradients (Gra)", func(m bench.MethodPlan) string { return fb(m.Peak.Gra) })
	row("optimizer state (Sta)", func(m bench.MethodPlan) string { return fb(m.Peak.Sta) })
	row("prefetched next state", func(m bench.MethodPlan) string { return fb(m.Peak.Prefetch) })
	row("activations", func(m bench.MethodPlan) string { return fb(m.Peak.Act.Total()) })
	row("update copies", func(m bench.MethodPlan) string { return fb(m.Peak.Copies) })
	row("peak device memory", func(m bench.MethodPlan) string { return fb(m.Peak.Total()) })
	row(fmt.Sprintf("fits in %s", fb(o.GPUMemory)), func(m bench.MethodPlan) string { return yesNo(m.Fits) })
	row(fmt.Sprintf("largest batch at seq %d", o.Seq), func(m bench.MethodPlan) string { return strconv.Itoa(m.MaxBatch) })
	row("longest seq at batch 1", func(m bench.MethodPlan) string {
		s := strconv.Itoa(m.MaxSeq)
		if m.MaxSeq != m.MaxSeqMemory {
			s += fmt.Sprintf(" (memory: %d)", m.MaxSeqMemory)
		}
		return s
	})
	tw.Flush()
	fmt.Fprintln(w)
	if p.Dims.MaxPositions > 0 {
		bound := "a learned position table caps the length"
		if !p.Dims.LearnedPositions {
			bound = "rotary positions: longer sequences run, beyond the trained length"
		}
		fmt.Fprintf(w, "max_position_embeddings %d (%s)\n", p.Dims.MaxPositions, bound)
	}
	host := fmt.Sprintf("host RAM for HiFT's offloaded optimizer state: %s", fb(p.HiFT.Host))
	if o.Precision == bench.MixedHi {
		host = fmt.Sprintf("host RAM for HiFT's offloaded optimizer state and fp32 masters: %s", fb(p.HiFT.Host))
	}
	switch {
	case o.HostMemory == 0:
	case p.HostFits:
		host += fmt.Sprintf(" (fits in %s)", fb(o.HostMemory))
	default:
		host += fmt.Sprintf(" (does NOT fit in %s)", fb(o.HostMemory))
	}
	fmt.Fprintln(w, host)
	fmt.Fprintln(w, "HiFT groups that set the peak:")
	for i, l := range p.HiFT.Top {
		g := a.Groups[l.Group]
		b := l.Breakdown
		fmt.Fprintf(w, "  %d. group %d (%s, %d params): %s; activations %s (%d blocks keep theirs), gradients %s, state %s, copies %s\n",
			i+1, l.Group, g.Label(), g.NumParams, fb(b.Total()), fb(b.Act.Total()), b.Act.SavedBlocks, fb(b.Gra), fb(b.Sta), fb(b.Copies))
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printChecks(w io.Writer, rows []bench.ValidationRow) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "check: planned vs measured device memory per step (FP32, no prefetch; MiB)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "method\tgroup\tact. formula\tact. replay\tplanned\tplanned (replay)\tmeasured\terror\t")
	mib := func(n int64) string { return fmt.Sprintf("%.2f", float64(n)/bench.MiB) }
	var peakPlan, peakReplay, peakMeas [2]int64
	for _, r := range rows {
		errPct := "–"
		if r.Measured > 0 {
			errPct = fmt.Sprintf("%+.1f%%", 100*float64(r.Planned-r.Measured)/float64(r.Measured))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Method, truncateLabel(r.Label, 28), mib(r.Formula), mib(r.Replay),
			mib(r.Planned), mib(r.PlannedReplay), mib(r.Measured), errPct)
		i := 0
		if r.Method == bench.FPFT {
			i = 1
		}
		peakPlan[i], peakMeas[i] = max(peakPlan[i], r.Planned), max(peakMeas[i], r.Measured)
		peakReplay[i] = max(peakReplay[i], r.PlannedReplay)
	}
	tw.Flush()
	for i, m := range []string{"HiFT", "full fine-tuning"} {
		if peakMeas[i] > 0 {
			pct := func(n int64) float64 { return 100 * float64(n-peakMeas[i]) / float64(peakMeas[i]) }
			fmt.Fprintf(w, "%s peak: planned %s (%+.1f%%), with replayed activations %s (%+.1f%%), measured %s\n", m,
				bench.FormatBytes(peakPlan[i]), pct(peakPlan[i]), bench.FormatBytes(peakReplay[i]), pct(peakReplay[i]), bench.FormatBytes(peakMeas[i]))
		}
	}
}

func truncateLabel(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// planJSON is the --json form of a plan.
func planJSON(name string, p *bench.Plan, checks []bench.ValidationRow) map[string]any {
	method := func(m bench.MethodPlan) map[string]any {
		b := m.Peak
		out := map[string]any{"precision": m.Precision, "fits": m.Fits, "peak_bytes": b.Total(), "para_bytes": b.Para, "gra_bytes": b.Gra,
			"sta_bytes": b.Sta, "prefetch_bytes": b.Prefetch, "activation_bytes": b.Act.Total(), "copies_bytes": b.Copies,
			"max_batch": m.MaxBatch, "max_seq": m.MaxSeq, "max_seq_memory": m.MaxSeqMemory}
		if m.Method == bench.HiFT {
			out["host_bytes"] = m.Host
			var top []map[string]any
			for _, l := range m.Top {
				g := p.Analysis.Groups[l.Group]
				top = append(top, map[string]any{"group": l.Group, "units": g.Names, "params": g.NumParams, "peak_bytes": l.Breakdown.Total()})
			}
			out["peak_groups"] = top
		}
		return out
	}
	o := p.Options
	res := map[string]any{"model": name, "class": p.Analysis.Model.Class, "parameters": p.Analysis.NumParams,
		"groups": len(p.Analysis.Groups), "group_size": p.Analysis.GroupSize, "precision": o.Precision,
		"optimizer": o.Optimizer, "batch_size": o.Batch, "seq_len": o.Seq, "gpu_memory_bytes": o.GPUMemory,
		"reserve_bytes": o.Reserve, "prefetch": o.Prefetch, "hift": method(p.HiFT)}
	res["fpft"] = method(p.FPFT)
	if o.HostMemory > 0 {
		res["host_memory_bytes"] = o.HostMemory
		res["host_fits"] = p.HostFits
	}
	if checks != nil {
		res["check"] = checks
	}
	return res
}
