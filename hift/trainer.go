package hift

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/data"
	hgraph "github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/hift/optim"
	"github.com/hift-go/hift/io/safetensors"
)

// ErrInterrupted is returned by Run when its context is cancelled (Ctrl-C); a checkpoint was saved first.
var ErrInterrupted = errors.New("training interrupted")

// ErrDiverged is returned by Run when --max-skipped-steps consecutive steps were skipped for a non-finite loss or
// gradient norm.
var ErrDiverged = errors.New("training diverged")

// DefaultMaxSkippedSteps is the number of consecutive skipped steps that stops a run.
const DefaultMaxSkippedSteps = 3

// ErrStopped is returned by Run when a StepHook asked to stop; a checkpoint was saved first.
var ErrStopped = errors.New("training stopped")

// StepMetrics describe one optimizer step.
type StepMetrics struct {
	Step       int      `json:"step"` // 0-based index of the step just taken
	Loss       float64  `json:"loss"` // loss before this step's update (token-weighted over micro-batches)
	LR         float64  `json:"lr"`
	Group      int      `json:"group"` // index of the active group (Queue.Groups); -1 under --full
	Units      []string `json:"units"`
	GradNorm   float64  `json:"grad_norm_active"`
	Tokens     int      `json:"tokens"`
	StepTime   float64  `json:"step_time_s"`
	TokensPerS float64  `json:"tokens_per_s"`
	FirstCall  bool     `json:"compiled,omitempty"` // this step compiled its group's program
	// Skipped: the loss or the gradient norm was not finite, so the update was not applied (parameters and
	// optimizer state unchanged).
	Skipped   bool      `json:"skipped,omitempty"`
	DeviceMem int64     `json:"device_bytes"`
	Time      time.Time `json:"time"`
}

// StepHook is called after every step; returning false stops training (a checkpoint is saved).
type StepHook func(m StepMetrics) bool

// Trainer runs HiFT (or full) fine-tuning of one model.
type Trainer struct {
	be      backends.Backend
	model   *hgraph.Model
	weights map[string]*tensors.Tensor
	// masters holds the float32 master of every parameter under Mixed^Hi (nil in fp32); weights then holds
	// their bfloat16 copies.
	masters map[string]*tensors.Tensor
	source  *Source
	prog    Progress // SetProgress; nil: one line per step on Run's log
	opts    Options
	rule    optim.Rule
	queue   *Queue
	sched   *Schedule
	state   *stateStore
	loader  *data.Loader
	step    int
	total   int

	evalSet   *data.TensorDataset
	evalBatch int

	steps         map[string]*groupStep
	lastGradBytes int64
	losses        []float64

	run     RunInfo // what the run is made from (checkpoints, model card, resume checks)
	skipped int     // steps skipped for a non-finite loss or gradient norm, in all
}

// NewTrainer loads the checkpoint in modelDir and prepares a run over ds.
func NewTrainer(be backends.Backend, modelDir string, ds *data.TensorDataset, opts Options) (*Trainer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	m, w, src, err := loadSource(modelDir, opts)
	if err != nil {
		return nil, err
	}
	if opts.LoRA != nil {
		if m, err = hgraph.WithLoRA(m, *opts.LoRA); err != nil {
			return nil, err
		}
		for k, v := range hgraph.InitLoRA(m, uint64(opts.Seed)) {
			w[k] = v
		}
	}
	return NewTrainerFromWeights(be, m, w, src, ds, opts)
}

// NewTrainerFromWeights prepares a run over in-memory weights (e.g. graph.RandomWeights for benchmarks).
// src describes the checkpoint they came from (nil: saved as float32 into one model.safetensors).
func NewTrainerFromWeights(be backends.Backend, m *hgraph.Model, w map[string]*tensors.Tensor, src *Source, ds *data.TensorDataset, opts Options) (*Trainer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	hgraph.PatchGoMLX()
	if src == nil {
		src = &Source{dtypes: map[string]safetensors.DType{}, shards: map[string]string{}, metadata: map[string]string{"format": "pt"}}
	}
	var err error
	t := &Trainer{be: be, model: m, weights: w, source: src, opts: opts, steps: map[string]*groupStep{}}
	if opts.Precision == PrecisionBF16 {
		t.masters = map[string]*tensors.Tensor{}
		for _, p := range m.Params {
			t.masters[p.Name] = w[p.Name]
			t.weights[p.Name] = hgraph.BFloat16Tensor(w[p.Name])
		}
	}
	if t.rule, err = optim.New(opts.Optimizer); err != nil {
		return nil, err
	}
	t.state = newStateStore(t.rule)
	if m.Units, err = OrderUnits(m, opts.UnitOrder); err != nil {
		return nil, err
	}
	freeze, err := ParseFreeze(m.Units, opts.FreezeLayers)
	if err != nil {
		return nil, err
	}
	if t.queue, err = NewQueue(QueueConfig{NumUnits: len(m.Units), GroupSize: opts.GroupSize, Strategy: opts.Strategy,
		Seed: opts.Seed, ReshuffleEachCycle: opts.ReshuffleEachCycle, Freeze: freeze, Mode: opts.Mode}); err != nil {
		return nil, err
	}
	if ds != nil {
		if t.loader, err = data.NewLoader(ds, opts.BatchSize, opts.Shuffle, opts.DropLast, uint64(opts.Seed)); err != nil {
			return nil, err
		}
	}
	t.total = opts.Steps
	if t.total == 0 {
		if t.loader == nil {
			return nil, fmt.Errorf("train: --epochs needs a dataset")
		}
		t.total = int(math.Ceil(opts.Epochs * float64(max(t.loader.BatchesPerEpoch()/opts.GradAccum, 1))))
	}
	k := t.queue.StepsPerCycle()
	if opts.Full {
		k = 1
	}
	if t.sched, err = NewSchedule(ScheduleConfig{Kind: opts.LRScheduler, BaseLR: opts.Optimizer.LR, TotalSteps: t.total,
		WarmupSteps: opts.WarmupSteps, WarmupRatio: opts.WarmupRatio, StepsPerCycle: k, Horizon: opts.LRHorizon}); err != nil {
		return nil, err
	}
	return t, nil
}

// Options returns the options in effect (for a resumed run: the checkpoint's, with what resuming changed).
func (t *Trainer) Options() Options { return t.opts }

// Model returns the model being trained.
func (t *Trainer) Model() *hgraph.Model { return t.model }

// Queue returns the HiFT queue.
func (t *Trainer) Queue() *Queue { return t.queue }

// Schedule returns the LR schedule.
func (t *Trainer) Schedule() *Schedule { return t.sched }

// Step returns the number of optimizer steps taken.
func (t *Trainer) Step() int { return t.step }

// TotalSteps returns the number of optimizer steps of the run.
func (t *Trainer) TotalSteps() int { return t.total }

// Losses returns the loss of every step taken in this process.
func (t *Trainer) Losses() []float64 { return slices.Clone(t.losses) }

// Weights returns the current device weights by HF name (bfloat16 under Mixed^Hi; do not modify).
func (t *Trainer) Weights() map[string]*tensors.Tensor { return t.weights }

// Master returns the float32 value of a parameter: its master under Mixed^Hi, else its weight.
func (t *Trainer) Master(name string) *tensors.Tensor {
	if m, ok := t.masters[name]; ok {
		return m
	}
	return t.weights[name]
}

// activeUnits returns the units trained at step s (all under --full).
func (t *Trainer) activeUnits(s int) []int {
	if t.opts.Full {
		all := make([]int, len(t.model.Units))
		for i := range all {
			all[i] = i
		}
		return all
	}
	return t.queue.Active(s)
}

func groupKey(units []int) string {
	parts := make([]string, len(units))
	for i, u := range units {
		parts[i] = strconv.Itoa(u)
	}
	return strings.Join(parts, "_")
}

// Run trains until the last step, saving checkpoints as configured, and the final model into Output.
func (t *Trainer) Run(ctx context.Context, log io.Writer, hook StepHook) error {
	if t.loader == nil {
		return fmt.Errorf("train: no dataset")
	}
	if z := t.sched.ZeroLRCycles(); z > 0 && t.step == 0 && log != nil {
		fmt.Fprintf(log, "warning: warm-up makes the first %d cycle(s) (%d steps) run at lr 0\n", z, z*t.sched.cfg.StepsPerCycle)
	}
	metrics, err := openMetrics(t.opts.Output, t.step)
	if err != nil {
		return err
	}
	defer metrics.Close()
	prog := t.progressTo(log)
	if t.evalSet != nil && t.step == 0 {
		if err := t.runEval(metrics, log); err != nil {
			return err
		}
	}
	maxSkipped := t.opts.MaxSkippedSteps
	if maxSkipped == 0 {
		maxSkipped = DefaultMaxSkippedSteps
	}
	k := t.queue.StepsPerCycle()
	if t.opts.Full {
		k = 1
	}
	consecutive, zeroNorm, warnedZero := 0, 0, false
	for t.step < t.total {
		if ctx.Err() != nil {
			if err := t.saveCheckpoint(); err != nil {
				return errors.Join(ErrInterrupted, err)
			}
			return ErrInterrupted
		}
		m, err := t.TrainStep()
		if err != nil {
			return fmt.Errorf("step %d: %w", t.step, err)
		}
		if err := metrics.write(m); err != nil {
			return err
		}
		prog.Step(m)
		if m.Skipped {
			consecutive++
			if maxSkipped > 0 && consecutive >= maxSkipped {
				prog.Pause()
				return fmt.Errorf("%w: %d consecutive steps (the last at step %d) had a non-finite loss or gradient norm (loss %v, |g| %v); "+
					"nothing was applied and no model was written; the last good checkpoint is kept. Lower --lr, set --max-grad-norm, "+
					"or check the data (--max-skipped-steps sets the limit)", ErrDiverged, consecutive, m.Step+1, m.Loss, m.GradNorm)
			}
		} else {
			consecutive = 0
		}
		if m.GradNorm == 0 && !m.Skipped {
			zeroNorm++
			if zeroNorm >= k && !warnedZero && log != nil {
				prog.Pause()
				fmt.Fprintf(log, "warning: the gradient norm was exactly 0 for a whole cycle (%d steps up to step %d): nothing is being learned "+
					"(all labels masked? frozen units? lr 0?)\n", k, m.Step+1)
				warnedZero = true
			}
		} else {
			zeroNorm = 0
		}
		if t.evalSet != nil && t.opts.EvalEvery > 0 && t.step%t.opts.EvalEvery == 0 && t.step < t.total {
			if err := t.runEval(metrics, log); err != nil {
				return err
			}
		}
		// A checkpoint every --save-every steps, and at the last step (so a finished run can be extended).
		if t.opts.SaveEvery > 0 && (t.step%t.opts.SaveEvery == 0 || t.step == t.total) && consecutive == 0 {
			if err := t.saveCheckpoint(); err != nil {
				return err
			}
		}
		if hook != nil && !hook(m) {
			if err := t.saveCheckpoint(); err != nil {
				return errors.Join(ErrStopped, err)
			}
			return ErrStopped
		}
	}
	prog.Done()
	if t.evalSet != nil {
		if err := t.runEval(metrics, log); err != nil {
			return err
		}
	}
	if t.opts.Output != "" {
		return t.SaveModel(t.opts.Output)
	}
	return nil
}

// TrainStep takes one optimizer step: G micro-batches of the active group, clipping, update, offload.
func (t *Trainer) TrainStep() (StepMetrics, error) {
	start := time.Now()
	units := t.activeUnits(t.step)
	key := groupKey(units)
	if t.opts.Full {
		key = "full"
	}
	gs, ok := t.steps[key]
	if !ok {
		gs = newGroupStep(key, units, t.model, t.opts.DecayNormAndBias)
		gs.half = t.masters != nil
		t.steps[key] = gs
	}
	// Micro-batches and their share of the loss (token-weighted: identical to one batch of G·B).
	batches := make([]map[string]*tensors.Tensor, t.opts.GradAccum)
	weights := make([]float64, t.opts.GradAccum)
	var totalTokens float64
	for i := range batches {
		b := t.loader.Next()
		batches[i] = toTensors(b)
		weights[i] = lossTokens(t.model.Task, b)
		totalTokens += weights[i]
	}
	tokens := 0
	for _, b := range batches {
		tokens += int(b["input_ids"].Shape().Size())
	}
	lr := t.sched.LR(t.step)
	// Upload the next group's state while this step runs.
	var prefetch sync.WaitGroup
	var prefetchErr error
	if t.opts.Offload && t.opts.Prefetch && t.step+1 < t.total && !t.opts.Full {
		next := t.paramsOf(t.activeUnits(t.step + 1))
		cur := map[string]bool{}
		for _, p := range gs.params {
			cur[p] = true
		}
		// Resolve the states here: the step below may add entries to the store's map.
		var toUpload []*paramState
		var mastersUp []*tensors.Tensor
		for _, p := range next {
			if ps, ok := t.state.params[p]; ok && !cur[p] {
				toUpload = append(toUpload, ps)
			}
			if t.masters != nil && !cur[p] {
				mastersUp = append(mastersUp, t.masters[p])
			}
		}
		prefetch.Add(1)
		go func() {
			defer prefetch.Done()
			for _, ps := range toUpload {
				if err := ps.upload(t.be); err != nil {
					prefetchErr = err
					return
				}
			}
			for _, m := range mastersUp {
				if !m.IsOnDevice(0) {
					if err := m.MaterializeOnDevice(t.be, false, 0); err != nil {
						prefetchErr = err
						return
					}
				}
			}
		}()
	}
	firstCall := gs.calls == 0
	loss, norm, skipped, err := t.runGroup(gs, batches, weights, totalTokens, lr)
	prefetch.Wait()
	if err != nil {
		return StepMetrics{}, err
	}
	if prefetchErr != nil {
		return StepMetrics{}, fmt.Errorf("prefetching optimizer state: %w", prefetchErr)
	}
	elapsed := time.Since(start)
	if firstCall {
		gs.firstCall = elapsed
	}
	gs.calls++
	gs.totalTime += elapsed
	// Offload the state of every active parameter that is not active next step (HiFT only: full fine-tuning
	// keeps all state on the device, as the baseline does).
	if t.opts.Offload && !t.opts.Full {
		var next map[string]bool
		if t.step+1 < t.total && !t.opts.Full {
			next = map[string]bool{}
			for _, p := range t.paramsOf(t.activeUnits(t.step + 1)) {
				next[p] = true
			}
		}
		for _, p := range gs.params {
			if !next[p] {
				if err := t.state.offload(p); err != nil {
					return StepMetrics{}, fmt.Errorf("offloading %s: %w", p, err)
				}
				if m := t.masters[p]; m != nil && m.IsOnAnyDevice() {
					if err := m.ToLocal(); err != nil {
						return StepMetrics{}, fmt.Errorf("offloading the master of %s: %w", p, err)
					}
				}
			}
		}
	}
	m := StepMetrics{Step: t.step, Loss: loss, LR: lr, GradNorm: norm, Tokens: tokens, StepTime: elapsed.Seconds(),
		TokensPerS: float64(tokens) / elapsed.Seconds(), FirstCall: firstCall, Time: time.Now(), Group: -1, Skipped: skipped}
	if skipped {
		t.skipped++
	}
	if !t.opts.Full {
		m.Group = t.queue.GroupIndex(t.step)
	}
	for _, u := range units {
		m.Units = append(m.Units, t.model.Units[u].Name)
	}
	m.DeviceMem = t.Memory().DeviceTotal()
	t.losses = append(t.losses, loss)
	t.step++
	return m, nil
}

// paramsOf lists the parameters of units, in model order.
func (t *Trainer) paramsOf(units []int) []string {
	in := map[string]bool{}
	for _, u := range units {
		for _, p := range t.model.Units[u].Params {
			in[p] = true
		}
	}
	var out []string
	for _, p := range t.model.Params {
		if in[p.Name] {
			out = append(out, p.Name)
		}
	}
	return out
}

// runGroup executes the group's program(s) and installs the new weights and state.
func (t *Trainer) runGroup(gs *groupStep, batches []map[string]*tensors.Tensor, weights []float64, total float64, lr float64) (loss, norm float64, skipped bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	states := make([]*paramState, len(gs.params))
	var tail []any
	var gradBytes int64
	for i, p := range gs.params {
		spec, _ := t.model.Param(p)
		states[i] = t.state.get(p, spec.Shape)
		for _, st := range states[i].tensors {
			tail = append(tail, st)
		}
		gradBytes += int64(spec.NumElements()) * 4
	}
	stateArgs := len(tail)
	for _, ps := range states {
		tail = append(tail, tensors.FromScalar(float64(ps.steps+1)))
	}
	tail = append(tail, tensors.FromScalar(lr))
	t.lastGradBytes = gradBytes

	// The step reads the active parameters' float32 masters under Mixed^Hi, the device weights otherwise.
	inputs := t.weights
	if t.masters != nil {
		inputs = make(map[string]*tensors.Tensor, len(t.weights))
		for k, v := range t.weights {
			inputs[k] = v
		}
		for _, p := range gs.params {
			inputs[p] = t.masters[p]
		}
	}
	var outs []*tensors.Tensor
	if len(batches) == 1 {
		names, args, err := hgraph.BoundInputs(t.model, inputs, batches[0])
		if err != nil {
			return 0, 0, false, err
		}
		if gs.fused == nil {
			if err := gs.buildFused(t.be, t.model, t.rule, t.opts.MaxGradNorm, names); err != nil {
				return 0, 0, false, err
			}
		}
		// Donate the active parameters' and the state's device buffers: the step returns their new values, so
		// the program may write them in place instead of holding old and new side by side.
		active := map[string]bool{}
		for _, p := range gs.params {
			active[p] = true
		}
		for i, n := range names {
			if active[n] {
				if args[i], err = graph.DonateTensorBuffer(args[i].(*tensors.Tensor), t.be, 0); err != nil {
					return 0, 0, false, err
				}
			}
		}
		for i, a := range tail {
			if st, ok := a.(*tensors.Tensor); ok && i < stateArgs {
				if tail[i], err = graph.DonateTensorBuffer(st, t.be, 0); err != nil {
					return 0, 0, false, err
				}
			}
		}
		if outs, err = gs.fused.Exec(append(args, tail...)...); err != nil {
			return 0, 0, false, err
		}
	} else {
		var acc []*tensors.Tensor
		var lossSum float64
		for i, b := range batches {
			names, args, err := hgraph.BoundInputs(t.model, inputs, b)
			if err != nil {
				return 0, 0, false, err
			}
			if gs.accum == nil {
				if err := gs.buildAccum(t.be, t.model, names); err != nil {
					return 0, 0, false, err
				}
			}
			args = append(args, tensors.FromScalar(float32(weights[i]/total)))
			for _, a := range acc {
				args = append(args, a)
			}
			o, err := gs.accum.Exec(args...)
			if err != nil {
				return 0, 0, false, err
			}
			lossSum += float64(tensors.ToScalar[float32](o[0]))
			acc = o[1:]
		}
		if gs.apply == nil {
			if err := gs.buildApply(t.be, t.rule, t.opts.MaxGradNorm); err != nil {
				return 0, 0, false, err
			}
		}
		args := make([]any, 0, 2*len(gs.params)+len(tail))
		for _, p := range gs.params {
			args = append(args, inputs[p])
		}
		for _, a := range acc {
			args = append(args, a)
		}
		args = append(args, tensors.FromScalar(float32(lossSum)))
		if outs, err = gs.apply.Exec(append(args, tail...)...); err != nil {
			return 0, 0, false, err
		}
	}
	loss = float64(tensors.ToScalar[float32](outs[0]))
	norm = float64(tensors.ToScalar[float32](outs[1]))
	applied := tensors.ToScalar[float32](outs[2]) != 0
	i := 3
	for _, p := range gs.params {
		if t.masters != nil {
			t.masters[p].FinalizeAll()
			t.masters[p] = outs[i]
		} else {
			t.weights[p].FinalizeAll()
			t.weights[p] = outs[i]
		}
		i++
	}
	if t.masters != nil {
		for _, p := range gs.params {
			t.weights[p].FinalizeAll()
			t.weights[p] = outs[i]
			i++
		}
	}
	for _, ps := range states {
		for j := range ps.tensors {
			ps.tensors[j].FinalizeAll()
			ps.tensors[j] = outs[i]
			i++
		}
		if applied {
			ps.steps++
		}
	}
	return loss, norm, !applied, nil
}
