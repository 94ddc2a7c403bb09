package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hift-go/hift/data"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/hift"
	"github.com/hift-go/hift/hift/optim"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TrainOptions are the flags of `hift train`.
type TrainOptions struct {
	f *factory

	Model, Data, Resume string
	PrintQueue          bool
	FreezeLayers        string
	Groups              string
	Run                 hift.Options

	OptimName                                   string
	changed                                     func(name string) bool
	Beta1, Beta2, Eps, Momentum, Dampening      float64
	LRDecay, InitialAccumulator, Alpha, ClipThr float64
	DecayRate, Eps2                             float64
	Nesterov, AMSGrad, Centered                 bool
	ScaleParameter, RelativeStep, WarmupInit    bool
	LR, WeightDecay                             float64
	NoShuffle, NoOffload, NoPrefetch            bool

	DataFlags     DataFlags
	EvalData      string
	EvalSplit     float64
	LoRA          bool
	LoRAR         int
	LoRAAlpha     float64
	LoRATargets   string
	EvalBatchSize int
	SamplePrompt  string
	SampleTokens  int
	ExportGGUF    string // --export-gguf: GGUF type written next to the saved model (train_gguf.go)
	LogEvery      int    // --log-every: summary lines (progress.go)

	// Output safety and resume.
	NoSave, Overwrite, AllowDataChange bool
	flags                              *pflag.FlagSet
	reports                            runReports // TensorBoard, hift_config.yaml, metrics.svg: inside the output lock
}

// resumeFlags are the only flags that may accompany --resume: everything else comes from the checkpoint.
// --steps may only grow (it extends the run); data and formatting flags are restored from the checkpoint.
var resumeFlags = map[string]bool{"resume": true, "data": true, "output": true, "save-every": true, "save-total-limit": true, "backend": true,
	"eval-data": true, "eval-split": true, "eval-batch-size": true, "eval-every": true, "sample-prompt": true, "sample-tokens": true,
	"steps": true, "export-gguf": true, "allow-data-change": true, "max-skipped-steps": true, "log-every": true, "report-to": true}

func newTrainCmd(f *factory, runF func(*TrainOptions) error) *cobra.Command {
	opts := &TrainOptions{f: f, Run: hift.DefaultOptions()}
	cmd := &cobra.Command{
		Use:   "train --model DIR --data FILE --output DIR [flags]",
		Short: "Fine-tune a checkpoint with HiFT (or full fine-tuning with --full)",
		Long: `train fine-tunes the Hugging Face checkpoint in --model with HiFT.

HiFT terms: the model is split into units (embeddings, each block, the final norm, the head), listed in depth
order. --group-size m units form a group; each optimizer step trains ONE group, the first m units of a queue
that then rotate to its tail (the original's group_element; when the number of units n is not a multiple of m,
groups slide). --strategy orders the queue: down2up (embeddings first), up2down, or random (one permutation
from --seed). --freeze-layers lists unit indices (0 = embeddings, 1 = first block, ...) or names never
trained. A cycle is k = n/m steps; the LR schedule ticks once per cycle (--lr-horizon cycles: warm-up and
length are divided by k; faithful: as the original, k times slower). Every parameter keeps its own optimizer
state and step count; inactive groups' state stays in host memory.

--data takes JSONL, CSV/TSV or Parquet text, tokenized with the model's tokenizer and formatted for its task
(causal LM text packed into --seq-len blocks; --prompt-field/--response-field for instruction data with the
loss on the response only; --label-field for classification; ...), or a pre-tokenized safetensors batch file
(input_ids, attention_mask, labels, ...; examples along axis 0). The model is saved to --output in the input's names, dtypes and shard layout, with config and
tokenizer files, plus the optimizer and trainer state; --resume DIR continues a run exactly.`,
		Example: `  hift train --model testdata/fixtures/llama_causal_lm --data testdata/fixtures/llama_causal_lm/inputs.safetensors \
    --batch-size 2 --no-shuffle --steps 10 --optimizer adamw --lr 1e-3 --weight-decay 0.01 \
    --decay-norm-and-bias --max-grad-norm 0 --lr-scheduler constant --output /tmp/hift-out
  hift train --model DIR --print-queue --group-size 2 --strategy up2down
  hift train --resume /tmp/hift-out/checkpoint-5 --data FILE --output /tmp/hift-out`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{annotationOwnReports: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.changed = func(n string) bool { return cmd.Flags().Changed(n) }
			opts.flags = cmd.Flags()
			opts.reports = runReports{cmd: cmd}
			if err := opts.complete(cmd.Flags()); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runTrain(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	r := &opts.Run
	fl.StringVar(&opts.Model, "model", "", "checkpoint folder to fine-tune (config.json + safetensors)")
	fl.StringVar(&opts.Data, "data", "", "training data: JSONL, CSV/TSV, Parquet, or a pre-tokenized .safetensors batch file")
	fl.StringVar(&opts.EvalData, "eval-data", "", "evaluation data (same formats), run every --eval-every steps and at the end")
	fl.Float64Var(&opts.EvalSplit, "eval-split", 0, "without --eval-data: hold out this fraction of the training examples for evaluation")
	fl.IntVar(&r.EvalEvery, "eval-every", 0, "evaluate every N steps (0 = only at the end)")
	fl.IntVar(&opts.EvalBatchSize, "eval-batch-size", 8, "evaluation batch size")
	fl.StringVar(&opts.SamplePrompt, "sample-prompt", "", "causal LM: print a greedy continuation of this prompt before and after training")
	fl.IntVar(&opts.SampleTokens, "sample-tokens", 48, "tokens generated for --sample-prompt")
	fl.StringVar(&opts.ExportGGUF, "export-gguf", "", "at the end, also write the saved model as GGUF of this type (e.g. q4_k_m; LoRA merged in float32 first)")
	opts.DataFlags.bind(fl)
	fl.StringVar(&r.Output, "output", "", "output folder: final model, checkpoint-<step>/, metrics.jsonl")
	fl.BoolVar(&opts.NoSave, "no-save", false, "train without --output: nothing is written and the result is thrown away (benchmarks)")
	fl.BoolVar(&opts.Overwrite, "overwrite", false, "write into a non-empty --output (an earlier run's checkpoints there are removed)")
	fl.StringVar(&opts.Resume, "resume", "", "continue from a checkpoint folder written by hift train (its settings and data flags are restored)")
	fl.BoolVar(&opts.AllowDataChange, "allow-data-change", false, "--resume: accept data files or a tokenizer that differ from the checkpoint's")
	fl.IntVar(&r.MaxSkippedSteps, "max-skipped-steps", hift.DefaultMaxSkippedSteps, "stop after N consecutive steps skipped for a non-finite loss or gradient norm")
	fl.BoolVar(&opts.PrintQueue, "print-queue", false, "print the units, their sizes and one cycle of groups, then exit")
	// HiFT
	fl.IntVar(&r.GroupSize, "group-size", r.GroupSize, "units per group (m, the original's group_element)")
	fl.IntVar(&r.GroupSize, "group-element", r.GroupSize, "alias of --group-size")
	fl.StringVar((*string)(&r.Strategy), "strategy", string(r.Strategy), "queue order: down2up, up2down or random")
	fl.BoolVar(&r.ReshuffleEachCycle, "reshuffle-each-cycle", false, "random strategy: a new permutation every cycle")
	fl.StringVar(&opts.FreezeLayers, "freeze-layers", "", "comma-separated unit indices or names never trained")
	fl.StringVar(&r.UnitOrder, "unit-order", "depth", "depth (embeddings → blocks → final norm → head) or registration (the original HiFT's order, e.g. OPT's final_layer_norm as unit 1)")
	fl.StringVar(&opts.Groups, "groups", "rotate", "rotate (faithful sliding queue) or partition (fixed groups)")
	fl.Int64Var(&r.Seed, "seed", r.Seed, "seed of the random strategy and of data shuffling")
	fl.BoolVar(&r.Full, "full", false, "plain full fine-tuning: every parameter every step (baseline)")
	fl.StringVar(&r.Task, "task", "", "start a new task head on this checkpoint: causal_lm, seq_cls, token_cls, qa or multiple_choice (with --init-head)")
	fl.IntVar(&r.NumLabels, "num-labels", 0, "classes of the new head (--task seq_cls/token_cls)")
	fl.BoolVar(&r.InitHead, "init-head", false, "create the task head's missing weights (as HF does for a new head) and drop unused tensors; both are listed")
	fl.BoolVar(&opts.LoRA, "lora", false, "train LoRA adapters (and the task head) instead of the full model; HiFT rotates over the adapted blocks")
	fl.IntVar(&opts.LoRAR, "lora-r", 8, "LoRA rank")
	fl.Float64Var(&opts.LoRAAlpha, "lora-alpha", 32, "LoRA alpha (the update is alpha/r · B·A)")
	fl.StringVar(&opts.LoRATargets, "lora-targets", "", "comma-separated module names (default: PEFT's for the model type, e.g. q_proj,v_proj)")
	fl.StringVar(&r.Precision, "precision", r.Precision, "fp32, or bf16 (alias mixed_hi, as plan and bench say) = Mixed^Hi: bfloat16 weights on the device, float32 masters and state on the host")
	// Optimizer
	fl.StringVar(&opts.OptimName, "optimizer", "adamw", "adamw, adamw_hf, adam, sgd, sgdm (SGD with momentum 0.9), adagrad, adafactor, rmsprop or lion")
	fl.Float64Var(&opts.LR, "lr", 5e-5, "peak learning rate")
	fl.Float64Var(&opts.WeightDecay, "weight-decay", 0, "weight decay (not on biases and norm weights unless --decay-norm-and-bias)")
	fl.BoolVar(&r.DecayNormAndBias, "decay-norm-and-bias", false, "apply weight decay to every parameter")
	fl.Float64Var(&opts.Beta1, "beta1", 0.9, "Adam/Lion beta1 (Adafactor: enables its first moment)")
	fl.Float64Var(&opts.Beta2, "beta2", 0.999, "Adam/Lion beta2")
	fl.Float64Var(&opts.Eps, "eps", 1e-8, "epsilon (Adafactor: eps1, default 1e-30)")
	fl.BoolVar(&opts.AMSGrad, "amsgrad", false, "AdamW/Adam amsgrad")
	fl.Float64Var(&opts.Momentum, "momentum", 0, "SGD/RMSprop momentum")
	fl.Float64Var(&opts.Dampening, "dampening", 0, "SGD dampening")
	fl.BoolVar(&opts.Nesterov, "nesterov", false, "SGD Nesterov momentum")
	fl.Float64Var(&opts.LRDecay, "lr-decay", 0, "Adagrad lr_decay")
	fl.Float64Var(&opts.InitialAccumulator, "initial-accumulator", 0, "Adagrad initial_accumulator_value")
	fl.Float64Var(&opts.Alpha, "alpha", 0.99, "RMSprop smoothing constant")
	fl.BoolVar(&opts.Centered, "centered", false, "RMSprop centered")
	fl.BoolVar(&opts.ScaleParameter, "scale-parameter", false, "Adafactor scale_parameter")
	fl.BoolVar(&opts.RelativeStep, "relative-step", false, "Adafactor relative_step (then --lr must not be given)")
	fl.BoolVar(&opts.WarmupInit, "warmup-init", false, "Adafactor warmup_init")
	fl.Float64Var(&opts.ClipThr, "clip-threshold", 1.0, "Adafactor clip_threshold")
	fl.Float64Var(&opts.DecayRate, "decay-rate", -0.8, "Adafactor decay_rate")
	fl.Float64Var(&opts.Eps2, "eps2", 1e-3, "Adafactor eps2")
	fl.Float64Var(&r.MaxGradNorm, "max-grad-norm", r.MaxGradNorm, "clip the active group's gradient norm; 0 disables")
	// Schedule
	fl.StringVar((*string)(&r.LRScheduler), "lr-scheduler", string(r.LRScheduler), "constant, linear, cosine or constant_with_warmup")
	fl.IntVar(&r.WarmupSteps, "warmup-steps", 0, "warm-up optimizer steps")
	fl.Float64Var(&r.WarmupRatio, "warmup-ratio", 0, "warm-up as a fraction of the run (when --warmup-steps is 0)")
	fl.StringVar((*string)(&r.LRHorizon), "lr-horizon", string(r.LRHorizon), "cycles (schedule completes) or faithful (the original's)")
	// Data and length
	fl.IntVar(&r.BatchSize, "batch-size", r.BatchSize, "examples per micro-batch")
	fl.IntVar(&r.GradAccum, "grad-accum", 1, "micro-batches per optimizer step (same active group)")
	fl.IntVar(&r.Steps, "steps", 0, "optimizer steps (overrides --epochs)")
	fl.Float64Var(&r.Epochs, "epochs", r.Epochs, "epochs over the data")
	fl.BoolVar(&opts.NoShuffle, "no-shuffle", false, "keep the data order")
	fl.BoolVar(&r.DropLast, "drop-last", false, "drop the last incomplete batch of an epoch")
	fl.BoolVar(&opts.NoOffload, "no-offload", false, "keep every group's optimizer state on the device")
	fl.BoolVar(&opts.NoPrefetch, "no-prefetch", false, "do not upload the next group's state during a step")
	// Checkpoints
	fl.IntVar(&r.SaveEvery, "save-every", 0, "write a checkpoint every N steps")
	fl.IntVar(&r.SaveTotalLimit, "save-total-limit", 0, "keep at most N checkpoints (0 = all)")
	bindProgressFlags(fl, opts)
	groupedUsage(cmd, trainFlagGroups) // help.go
	return cmd
}

// complete validates the flags and fills opts.Run; every problem is reported at once.
func (o *TrainOptions) complete(fl *pflag.FlagSet) error {
	var problems []string
	if o.Resume != "" {
		var extra []string
		fl.Visit(func(f *pflag.Flag) {
			if !resumeFlags[f.Name] {
				extra = append(extra, "--"+f.Name)
			}
		})
		if len(extra) > 0 {
			problems = append(problems, fmt.Sprintf("--resume takes the run's settings from the checkpoint; drop %s", strings.Join(extra, ", ")))
		}
	} else if o.Model == "" {
		problems = append(problems, "train needs --model (or --resume)")
	}
	if o.Model != "" && o.Data == "" && !o.PrintQueue {
		problems = append(problems, "train needs --data")
	}
	r := &o.Run
	if o.Resume == "" {
		r.Precision = trainPrecision(r.Precision) // names.go: mixed_hi as plan and bench say
		for _, p := range []string{
			checkEnum("strategy", string(r.Strategy), "down2up", "up2down", "random"),
			checkEnum("lr-scheduler", string(r.LRScheduler), "constant", "linear", "cosine", "constant_with_warmup"),
			checkEnum("lr-horizon", string(r.LRHorizon), "cycles", "faithful"),
			checkEnum("precision", r.Precision, "fp32", "bf16"),
			checkEnum("unit-order", r.UnitOrder, "depth", "registration"),
		} {
			if p != "" {
				problems = append(problems, p)
			}
		}
	}
	switch strings.ToLower(o.Groups) {
	case "rotate":
		r.Mode = hift.GroupModeRotate
	case "partition":
		r.Mode = hift.GroupModePartition
	default:
		problems = append(problems, checkEnum("groups", o.Groups, "rotate", "partition"))
	}
	if r.Task != "" {
		if p := checkEnum("task", r.Task, "causal_lm", "seq_cls", "token_cls", "qa", "multiple_choice"); p != "" {
			problems = append(problems, p)
		}
	}
	if (r.NumLabels != 0 || r.InitHead) && r.Task == "" {
		problems = append(problems, "--num-labels and --init-head go with --task")
	}
	if o.FreezeLayers != "" {
		r.FreezeLayers = strings.Split(o.FreezeLayers, ",")
	}
	if o.LoRA {
		r.LoRA = &graph.LoRAConfig{R: o.LoRAR, Alpha: o.LoRAAlpha}
		if o.LoRATargets != "" {
			r.LoRA.Targets = strings.Split(o.LoRATargets, ",")
		}
		if o.LoRAR < 1 || o.LoRAAlpha <= 0 {
			problems = append(problems, fmt.Sprintf("--lora-r must be >= 1 and --lora-alpha > 0, got %d and %g", o.LoRAR, o.LoRAAlpha))
		}
	} else if o.changed("lora-r") || o.changed("lora-alpha") || o.changed("lora-targets") {
		problems = append(problems, "--lora-r, --lora-alpha and --lora-targets need --lora")
	}
	r.Shuffle, r.Offload, r.Prefetch = !o.NoShuffle, !o.NoOffload, !o.NoPrefetch
	cfg, err := o.optimizer()
	if err != nil {
		problems = append(problems, err.Error())
	} else {
		r.Optimizer = cfg
	}
	if o.Resume == "" && !o.PrintQueue {
		if err := r.Validate(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if err := o.DataFlags.validate(); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return badInput("%s", strings.Join(problems, "\n  "))
	}
	return nil
}

// optimizer builds the optimizer config: HF Trainer defaults (lr 5e-5, weight decay 0, betas 0.9/0.999,
// eps 1e-8; Adafactor with scale_parameter and relative_step off) overridden by the flags given.
func (o *TrainOptions) optimizer() (optim.Config, error) {
	name := o.OptimName
	sgdm := strings.EqualFold(strings.TrimSpace(name), optimizerSGDM) // names.go
	if sgdm {
		name = optim.NameSGD
	}
	c, err := optim.Defaults(name)
	if err != nil {
		return c, err
	}
	c.LR, c.WeightDecay = o.LR, o.WeightDecay
	set := func(flag string, dst *float64, v float64) {
		if o.changed(flag) {
			*dst = v
		}
	}
	switch c.Name {
	case optim.NameAdamW, optim.NameAdamWHF, optim.NameAdam, optim.NameLion:
		c.Beta1, c.Beta2, c.Eps, c.AMSGrad = o.Beta1, o.Beta2, o.Eps, o.AMSGrad
		if c.Name == optim.NameLion && !o.changed("beta2") {
			c.Beta2 = 0.99
		}
	case optim.NameSGD:
		c.Momentum, c.Dampening, c.Nesterov = o.Momentum, o.Dampening, o.Nesterov
		if sgdm && !o.changed("momentum") {
			c.Momentum = 0.9
		}
	case optim.NameAdagrad:
		set("eps", &c.Eps, o.Eps)
		c.LRDecay, c.InitialAccumulatorValue = o.LRDecay, o.InitialAccumulator
	case optim.NameRMSprop:
		set("eps", &c.Eps, o.Eps)
		c.Alpha, c.Momentum, c.Centered = o.Alpha, o.Momentum, o.Centered
	case optim.NameAdafactor:
		set("eps", &c.Eps, o.Eps)
		c.Eps2, c.ClipThreshold, c.DecayRate = o.Eps2, o.ClipThr, o.DecayRate
		c.ScaleParameter, c.RelativeStep, c.WarmupInit = o.ScaleParameter, o.RelativeStep, o.WarmupInit
		c.LRSet = !o.RelativeStep || o.changed("lr")
		if o.changed("beta1") {
			c.Beta1, c.Beta1Set = o.Beta1, true
		}
	}
	return c, c.Validate()
}

func runTrain(ctx context.Context, opts *TrainOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if opts.PrintQueue {
		return printQueue(opts)
	}
	if err := checkExportGGUF(opts.ExportGGUF, opts.Run.Output, opts.Resume != ""); err != nil {
		return err
	}
	logf := func(format string, args ...any) { fmt.Fprintf(opts.f.stderr, format, args...) }
	fl := opts.flags
	if fl == nil {
		fl = pflag.NewFlagSet("train", pflag.ContinueOnError)
	}
	// Before anything is loaded: what the run resumes, where it writes, and the output's lock.
	modelDir, baseModel := opts.Model, ""
	var ck hift.CheckpointInfo
	var changedOnResume []string
	if opts.Resume != "" {
		var err error
		if ck, err = hift.ReadCheckpoint(opts.Resume); err != nil {
			return err
		}
		modelDir, baseModel = opts.Resume, ck.Run.BaseModel
		if baseModel == "" {
			baseModel = ck.BaseModel
		}
		if changedOnResume, err = opts.restoreSettings(fl, ck.Run); err != nil {
			return err
		}
		for _, d := range ck.Run.Data {
			if d.Role == "train" && opts.Data == "" {
				opts.Data = d.Path
			}
			if d.Role == "eval" && opts.EvalData == "" && !fl.Changed("eval-data") {
				opts.EvalData = d.Path
			}
		}
		if opts.Data == "" {
			return badInput("--resume needs --data (the checkpoint does not record its data file)")
		}
	}
	if err := checkModelFits(modelDir); err != nil {
		return err
	}
	if err := opts.checkOutputPlacement(baseModel); err != nil {
		return err
	}
	guard, err := opts.lockOutput(logf)
	if err != nil {
		return err
	}
	defer guard.release()
	stopReports := opts.reports.start()
	reportsStopped := false
	defer func() {
		if !reportsStopped {
			_ = stopReports()
		}
	}()
	if opts.Overwrite {
		if err := opts.clearOldCheckpoints(); err != nil {
			return err
		}
	}
	if err := opts.applyLabels(modelDir, logf); err != nil {
		return err
	}
	m, _, err := hift.PlanQueue(modelDir, opts.Run)
	if err != nil {
		return err
	}
	if err := checkTrainedGGUFExportable(opts.ExportGGUF, opts.Run.Output, m, modelDir); err != nil {
		return err
	}
	if limit := m.Config.PositionLimit(); opts.Resume == "" && !fl.Changed("seq-len") && limit > 0 && opts.DataFlags.SeqLen > limit {
		// As HF's run_clm: the default block size is capped by what the model's positions support.
		logf("--seq-len %d (default) is above the model's position limit: using %d\n", opts.DataFlags.SeqLen, limit)
		if err := fl.Set("seq-len", fmt.Sprint(limit)); err != nil {
			return err
		}
	}
	ri, err := opts.runInfo(fl, modelDir)
	if err != nil {
		return err
	}
	if opts.Resume != "" {
		if diff := compareData(ck.Run, ri); diff != "" && len(ck.Run.Data) > 0 {
			if !opts.AllowDataChange {
				return badInput("resume: %s; give --allow-data-change to continue with it anyway", diff)
			}
			logf("warning: %s (--allow-data-change)\n", diff)
		}
	}
	if err := checkSeqLen(m.Config, opts.Data, opts.DataFlags.SeqLen); err != nil {
		return err
	}
	ds, err := opts.DataFlags.load(opts.Data, modelDir, m, logf)
	if err != nil {
		return err
	}
	if ds, err = opts.checkDataset(m.Config, ds, logf); err != nil {
		return err
	}
	var evalDS *data.TensorDataset
	switch {
	case opts.EvalData != "":
		if evalDS, err = opts.DataFlags.load(opts.EvalData, modelDir, m, logf); err != nil {
			return err
		}
		if evalDS, err = opts.checkDataset(m.Config, evalDS, logf); err != nil {
			return err
		}
	case opts.EvalSplit > 0:
		if ds, evalDS, err = data.SplitTail(ds, opts.EvalSplit); err != nil {
			return err
		}
		logf("held out %d of %d examples for evaluation\n", evalDS.N, ds.N+evalDS.N)
	}
	be, err := opts.f.Backend()
	if err != nil {
		return err
	}
	var tr *hift.Trainer
	if opts.Resume != "" {
		ro := hift.ResumeOptions{Output: opts.Run.Output, SaveEvery: opts.Run.SaveEvery, SaveTotalLimit: opts.Run.SaveTotalLimit, EvalEvery: -1}
		if fl.Changed("steps") {
			ro.Steps = opts.Run.Steps
		}
		if fl.Changed("eval-every") {
			ro.EvalEvery = opts.Run.EvalEvery
		}
		if fl.Changed("max-skipped-steps") {
			ro.MaxSkippedSteps = opts.Run.MaxSkippedSteps
		}
		tr, err = hift.ResumeWith(be, opts.Resume, ds, ro)
	} else {
		tr, err = hift.NewTrainer(be, opts.Model, ds, opts.Run)
	}
	if err != nil {
		return err
	}
	tr.SetRunInfo(ri)
	log := opts.f.stderr
	if evalDS != nil {
		tr.SetEval(evalDS, opts.EvalBatchSize)
	}
	if rep := tr.LoadReport(); rep != nil && (len(rep.Initialised) > 0 || len(rep.Dropped) > 0) {
		fmt.Fprintf(log, "new head: initialised %v; dropped %d unused tensor(s) %v\n", rep.Initialised, len(rep.Dropped), rep.Dropped)
	}
	eff := tr.Options()
	if opts.Resume != "" {
		fmt.Fprintf(log, "resuming %s at step %d", opts.Resume, tr.Step())
		if tr.TotalSteps() != ck.TotalSteps {
			fmt.Fprintf(log, "; extended from %d to %d steps (LR schedule %s recomputed for the new total%s)", ck.TotalSteps, tr.TotalSteps(),
				eff.LRScheduler, map[bool]string{true: ": constant, so it continues unchanged", false: ""}[eff.LRScheduler == hift.ScheduleConstant])
		}
		if len(changedOnResume) > 0 {
			fmt.Fprintf(log, "; changed: %s", strings.Join(changedOnResume, ", "))
		}
		fmt.Fprintln(log)
	}
	fmt.Fprintf(log, "%s: %d units, %d steps from step %d, %s\n  %s; batch %d × %d accumulation, seed %d, save every %d (keep %d), output %s\n",
		tr.Model().Class, len(tr.Model().Units), tr.TotalSteps(), tr.Step(), describeRun(eff), describeSettings(fl),
		eff.BatchSize, eff.GradAccum, eff.Seed, eff.SaveEvery, eff.SaveTotalLimit, orNone(eff.Output))
	sample := func(when string) error {
		if opts.SamplePrompt == "" {
			return nil
		}
		tok, err := opts.DataFlags.loadTokenizer(modelDir)
		if err != nil {
			return err
		}
		text, err := generateText(be, tr.Model(), tr.Weights(), tok, opts.SamplePrompt, graph.GenerateOptions{MaxNewTokens: opts.SampleTokens})
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "sample %s training: %q\n", when, opts.SamplePrompt+text)
		return nil
	}
	if err := sample("before"); err != nil {
		return err
	}
	prog := opts.showProgress(tr)
	err = tr.Run(ctx, log, nil)
	prog.Done()
	if errors.Is(err, hift.ErrInterrupted) {
		fmt.Fprintf(log, "\ninterrupted: checkpoint saved at step %d in %s\n", tr.Step(), orNone(opts.Run.Output))
		// The interrupted run's checkpoints get hift_config.yaml (and the chart so far) too, still inside the lock.
		reportsStopped = true
		if serr := stopReports(); serr != nil {
			fmt.Fprintf(log, "warning: %v\n", serr)
		}
		if ferr := opts.reports.finish(); ferr != nil {
			fmt.Fprintf(log, "warning: %v\n", ferr)
		}
		return errInterrupted
	}
	if err != nil {
		return err
	}
	if err := sample("after"); err != nil {
		return err
	}
	tr.Memory().Print(log)
	tr.PrintCompileReport(log)
	if opts.Run.Output != "" {
		fmt.Fprintf(log, "saved %s\n", opts.Run.Output)
		if err := exportTrainedGGUF(opts.f, log, opts.ExportGGUF, opts.Run.Output); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(log, "--no-save: nothing was written")
	}
	reportsStopped = true
	if err := stopReports(); err != nil {
		return err
	}
	return opts.reports.finish()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func describeRun(r hift.Options) string {
	if r.LoRA != nil {
		return fmt.Sprintf("LoRA r=%d alpha=%g, HiFT m=%d %s, %s lr %g", r.LoRA.R, r.LoRA.Alpha, r.GroupSize, r.Strategy, r.Optimizer.Name, r.Optimizer.LR)
	}
	if r.Full {
		return fmt.Sprintf("full fine-tuning, %s lr %g", r.Optimizer.Name, r.Optimizer.LR)
	}
	return fmt.Sprintf("HiFT m=%d %s, %s lr %g", r.GroupSize, r.Strategy, r.Optimizer.Name, r.Optimizer.LR)
}

func printQueue(opts *TrainOptions) error {
	m, q, err := hift.PlanQueue(opts.Model, opts.Run)
	if err != nil {
		return err
	}
	hift.PrintQueue(opts.f.stdout, m, q)
	return nil
}
