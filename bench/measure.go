package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/data"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/hift"
)

// RandomDataset returns n random training examples of length seq for m's task, for benchmarks and memory
// measurements: causal LM (labels = input ids) and sequence classification (a random class per example).
func RandomDataset(m *graph.Model, n, seq int, seed uint64) (*data.TensorDataset, error) {
	if n < 1 || seq < 2 {
		return nil, fmt.Errorf("random dataset: need batch >= 1 and sequence length >= 2, got %d × %d", n, seq)
	}
	vocab := m.Params[0].Shape[0] // every architecture lists its token embedding [V, D] first
	var bt map[string]*tensors.Tensor
	switch m.Task {
	case graph.TaskCausalLM:
		bt = graph.RandomBatch(n, seq, vocab, seed)
	case graph.TaskSeqCls:
		head, err := m.Config.Head()
		if err != nil {
			return nil, err
		}
		bt = graph.RandomBatch(n, seq, vocab, seed)
		rng := rand.New(rand.NewPCG(seed, 0x6c61626c))
		labels := make([]int64, n)
		for i := range labels {
			labels[i] = int64(rng.IntN(head.NumLabels))
		}
		bt["labels"] = tensors.FromFlatDataAndDimensions(labels, n)
	default:
		return nil, fmt.Errorf("%s: random batches exist for causal LM and sequence classification models, not %s", m.Class, m.Task)
	}
	ds := &data.TensorDataset{Path: "random", N: n, Columns: map[string]data.Column{}}
	for name, t := range bt {
		ds.Columns[name] = data.Column{Shape: t.Shape().Dimensions, Ints: tensors.MustCopyFlatData[int64](t)}
	}
	return ds, nil
}

// RunOptions configure one measured training run on random weights.
type RunOptions struct {
	Optimizer string
	Method    Method
	// Precision is FP32 (the default), MixedHi (HiFT in bfloat16: bf16 weights, the active group's fp32
	// master, gradients and state) or Mixed (full fine-tuning in bfloat16: bf16 weights and fp32 masters of
	// every parameter on the device, as AMP). The trainer runs both with its "bf16" precision.
	Precision Precision
	Batch     int
	Seq       int
	GroupSize int
	// Steps is the number of recorded steps; 0 means one HiFT period (every distinct group once) or 2 full
	// steps.
	Steps int
	Seed  uint64
	// Prefetch uploads the next group's state during a step (hift train's default). Off for the paper's
	// PGS, which counts one group's state.
	Prefetch bool
	// Warmup runs one HiFT period (or one full step) before the recorded steps, so that every program is
	// compiled and the weights are on the device when the memory is recorded.
	Warmup bool
	// HeapSampling samples the Go heap during every step (meaningful on SimpleGo, whose device memory is the
	// Go heap); it lowers GOGC for the run so that the heap stays close to the live bytes.
	HeapSampling bool
	// OnStep, if set, is called after every step, warm-up steps included.
	OnStep func(m hift.StepMetrics)
}

// RunResult is what one measured run observed.
type RunResult struct {
	// Peak device bytes by category, each the largest after any step (Trainer.StepMemory).
	Para, Gra, Sta int64
	// Host is the largest host-resident ledger total (offloaded optimizer state).
	Host int64
	// Trainable is the largest number of parameters trained in one step.
	Trainable int64
	// HeapPeak is the largest in-step device total seen on the Go heap: the ledger's device bytes at the start
	// of a step (weights, resident optimizer state) plus the peak growth of the heap during the step, which
	// covers gradients, activations, the update's new copies and uploaded state (0 without HeapSampling).
	HeapPeak int64
	// StepHeap is that total for each recorded step (nil without HeapSampling).
	StepHeap []int64
	// Steps are the per-step metrics.
	Steps []hift.StepMetrics
}

// Run trains m from random weights (graph.RandomWeights) on the backend for o.Steps steps and records the
// trainer's memory ledger after every step.
func Run(be backends.Backend, m *graph.Model, o RunOptions) (res RunResult, err error) {
	cfg, err := OptimizerConfig(o.Optimizer)
	if err != nil {
		return res, err
	}
	if o.Method != FPFT && o.Method != HiFT {
		return res, fmt.Errorf("unknown method %q (fpft or hift)", o.Method)
	}
	if o.GroupSize == 0 {
		o.GroupSize = 1
	}
	ds, err := RandomDataset(m, o.Batch, o.Seq, o.Seed+1)
	if err != nil {
		return res, err
	}
	opts := hift.DefaultOptions()
	opts.Optimizer, opts.Full, opts.BatchSize, opts.GroupSize = cfg, o.Method == FPFT, o.Batch, o.GroupSize
	opts.Steps, opts.Shuffle, opts.Prefetch, opts.Offload = 1<<30, false, o.Prefetch, true
	if opts.Precision, err = trainerPrecision(o.Precision, o.Method); err != nil {
		return res, err
	}
	var mon *heapMonitor
	if o.HeapSampling {
		mon = startHeapMonitor()
		defer mon.stop()
	}
	tr, err := hift.NewTrainerFromWeights(be, m, graph.RandomWeights(m, o.Seed), nil, ds, opts)
	if err != nil {
		return res, err
	}
	defer releaseTrainer(tr)
	steps := o.Steps
	if steps == 0 {
		steps = 2
		if o.Method == HiFT {
			steps = tr.Queue().Period()
		}
	}
	warmup := 0
	if o.Warmup {
		warmup = 1
		if o.Method == HiFT {
			warmup = tr.Queue().Period()
		}
	}
	sizes := hift.UnitParams(m)
	for i := range warmup + steps {
		var devStart int64
		if mon != nil {
			mem := tr.Memory()
			devStart = mem.DeviceTotal() - mem.Device[hift.CatGradients]
			mon.resetPeak()
		}
		sm, err := tr.TrainStep()
		if err != nil {
			return res, fmt.Errorf("%s %s step %d: %w", o.Method, o.Optimizer, i, err)
		}
		if o.OnStep != nil {
			o.OnStep(sm)
		}
		if i < warmup {
			continue
		}
		if mon != nil {
			g := mon.peakGrowth() + devStart
			res.HeapPeak = max(res.HeapPeak, g)
			res.StepHeap = append(res.StepHeap, g)
		}
		r := tr.StepMemory()
		res.Para = max(res.Para, r.Device[hift.CatParameters]+r.Device[hift.CatBuffers]+r.Device[hift.CatMasters])
		res.Gra = max(res.Gra, r.Device[hift.CatGradients])
		res.Sta = max(res.Sta, r.Device[hift.CatOptimizer])
		res.Host = max(res.Host, r.HostTotal())
		var n int64
		for _, name := range sm.Units {
			for i, u := range m.Units {
				if u.Name == name {
					n += sizes[i]
				}
			}
		}
		res.Trainable = max(res.Trainable, n)
		res.Steps = append(res.Steps, sm)
	}
	return res, nil
}

// trainerPrecision maps a table precision and method to the trainer's precision: FP32 → fp32; Mixed^Hi with
// HiFT and Mixed with full fine-tuning → bf16. Mixed with HiFT (AMP copies of every weight while one group
// trains) and Mixed^Hi with full fine-tuning are not trainer modes.
func trainerPrecision(p Precision, m Method) (string, error) {
	switch {
	case p == "" || p == FP32:
		return hift.PrecisionFP32, nil
	case p == MixedHi && m == HiFT, p == Mixed && m == FPFT:
		return hift.PrecisionBF16, nil
	}
	return "", fmt.Errorf("the trainer has no %s mode for %s (measurable: fp32; mixed_hi with hift; mixed with fpft)", p, m)
}

// Measurable reports whether the trainer can run a precision × method (see trainerPrecision).
func Measurable(p Precision, m Method) bool {
	_, err := trainerPrecision(p, m)
	return err == nil
}

// releaseTrainer frees the trainer's weights now rather than at garbage collection, so that consecutive runs
// do not hold two models on the device.
func releaseTrainer(tr *hift.Trainer) {
	for _, w := range tr.Weights() {
		w.FinalizeAll()
	}
	for _, p := range tr.Model().Params {
		tr.Master(p.Name).FinalizeAll()
	}
	runtime.GC()
}

// MeasureOptions configure the measured rows of the memory table.
type MeasureOptions struct {
	Batch, Seq int
	GroupSize  int
	Optimizers []string
	// Precisions to measure (default FP32); those the trainer has no mode for are skipped.
	Precisions []Precision
	Seed       uint64
	// NoHeap skips the Go-heap sampling behind Total on SimpleGo (faster).
	NoHeap bool
	// Log receives one line per run (optional).
	Log io.Writer
	// Progress, when set, is called before each run with the runs done, their total and what runs next, and
	// once at the end (hift bench memory --measured draws its bar with it).
	Progress func(done, total int, next string)
}

// MeasuredRows trains m (random weights) with every optimizer and every precision × method the trainer has
// (FP32 full fine-tuning and HiFT; bfloat16 full fine-tuning as Mixed, HiFT in bfloat16 as Mixed^Hi) among
// precisions, and returns one measured row per run: Para, Gra and Sta are the peak device bytes of the
// trainer's ledger (Para includes fp32 masters on the device; prefetch off, as the paper counts one group's
// state). On SimpleGo, whose device memory is the Go heap, Total is the largest in-step device total
// (RunResult.HeapPeak) and Residual = Total − PGS (activations, workspace, the update's new copies); other
// backends report no Total.
func MeasuredRows(be backends.Backend, m *graph.Model, o MeasureOptions) ([]Row, error) {
	heap := be.String() == "go" && !o.NoHeap
	if len(o.Precisions) == 0 {
		o.Precisions = []Precision{FP32}
	}
	var rows []Row
	done, total := 0, 0
	for range o.Optimizers {
		for _, prec := range o.Precisions {
			for _, method := range Methods() {
				if Measurable(prec, method) {
					total++
				}
			}
		}
	}
	if o.Progress != nil {
		defer func() { o.Progress(done, total, "") }()
	}
	for _, opt := range o.Optimizers {
		for _, prec := range o.Precisions {
			for _, method := range Methods() {
				if !Measurable(prec, method) {
					continue
				}
				if o.Progress != nil {
					o.Progress(done, total, fmt.Sprintf("%s %s %s", opt, prec, method))
				}
				done++
				start := time.Now()
				res, err := Run(be, m, RunOptions{Optimizer: opt, Method: method, Precision: prec, Batch: o.Batch, Seq: o.Seq,
					GroupSize: o.GroupSize, Seed: o.Seed, HeapSampling: heap, Warmup: heap})
				if err != nil {
					return nil, err
				}
				r := Row{Optimizer: opt, Precision: prec, Method: method, Source: Measured, TrainableParams: res.Trainable,
					ParaMB: float64(res.Para) / MiB, GraMB: float64(res.Gra) / MiB, StaMB: float64(res.Sta) / MiB}
				r.setPGS()
				if heap {
					total := float64(res.HeapPeak) / GiB
					residual := total - r.PGSGB
					r.TotalGB, r.ResidualGB = &total, &residual
					r.Note = fmt.Sprintf("batch %d × seq %d, bfloat16 for the mixed schemes; Total = the largest in-step device total on the Go heap (SimpleGo)", o.Batch, o.Seq)
				} else {
					r.Note = fmt.Sprintf("batch %d × seq %d, bfloat16 for the mixed schemes; backend %s reports no device memory: Total unknown", o.Batch, o.Seq, be.String())
				}
				rows = append(rows, r)
				if o.Log != nil {
					fmt.Fprintf(o.Log, "measured %-9s %-8s %-4s: %d steps in %.1fs, PGS %.4f GB\n", opt, prec, method, len(res.Steps), time.Since(start).Seconds(), r.PGSGB)
				}
			}
		}
	}
	return rows, nil
}

// heapMonitor samples the Go heap's object bytes every 500µs and tracks the peak since the last reset. While
// it runs, GOGC is 10 so that garbage (including SimpleGo's pooled buffers) is collected quickly.
type heapMonitor struct {
	start    uint64
	mu       sync.Mutex
	peak     uint64
	done     chan struct{}
	wg       sync.WaitGroup
	oldGOGC  int
	samples  []metrics.Sample
	sampleMu sync.Mutex
}

const heapObjectsMetric = "/memory/classes/heap/objects:bytes"

func startHeapMonitor() *heapMonitor {
	h := &heapMonitor{done: make(chan struct{}), samples: []metrics.Sample{{Name: heapObjectsMetric}}}
	h.oldGOGC = debug.SetGCPercent(1)
	h.resetPeak()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-tick.C:
				v := h.read()
				h.mu.Lock()
				h.peak = max(h.peak, v)
				h.mu.Unlock()
			}
		}
	}()
	return h
}

func (h *heapMonitor) read() uint64 {
	h.sampleMu.Lock()
	defer h.sampleMu.Unlock()
	metrics.Read(h.samples)
	return h.samples[0].Value.Uint64()
}

// resetPeak starts a new peak window at the current heap size. Two collections empty the sync.Pools (and
// their victim caches) in which SimpleGo keeps freed buffers, so the window starts from live bytes only.
func (h *heapMonitor) resetPeak() {
	runtime.GC()
	runtime.GC()
	v := h.read()
	h.mu.Lock()
	h.start, h.peak = v, v
	h.mu.Unlock()
}

// peakGrowth is the peak of the current window over the heap at its start.
func (h *heapMonitor) peakGrowth() int64 {
	v := h.read()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.peak = max(h.peak, v)
	return int64(h.peak) - int64(h.start)
}

func (h *heapMonitor) stop() {
	close(h.done)
	h.wg.Wait()
	debug.SetGCPercent(h.oldGOGC)
}
