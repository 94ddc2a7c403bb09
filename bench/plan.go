package bench

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// PlanOptions configure MakePlan.
type PlanOptions struct {
	// GPUMemory is the device memory in bytes; HostMemory the host RAM (0: not checked).
	GPUMemory, HostMemory int64
	// Reserve is set aside from GPUMemory for the runtime: CUDA context, library workspaces, fragmentation.
	Reserve    int64
	Batch, Seq int
	Optimizer  string
	Precision  Precision
	GroupSize  int
	// Prefetch: HiFT uploads the next group's optimizer state while a step runs (hift train's default), so
	// two groups' state are on the device at once.
	Prefetch bool
}

// Breakdown is the device memory of one training step, in bytes, by category.
type Breakdown struct {
	// Para, Gra and Sta are the paper's categories (weights; fp32 gradients and optimizer state of the trained
	// parameters).
	Para, Gra, Sta int64
	// Prefetch is the next group's optimizer state (and fp32 master under Mixed^Hi) uploaded during the step.
	Prefetch int64
	// Copies are the new values of the trained weights and their optimizer state, which the step writes
	// beside the old ones (the trainer does not donate its input buffers). They appear at the update, once
	// the activations are freed, and the new weights take over the dying gradients' buffers.
	Copies int64
	// Act is the activation estimate (see activation.go).
	Act ActivationEstimate
}

// Total is Para + Sta + Prefetch + max(Gra + activations, copies): the activations peak at the start of the
// backward pass, while the gradients are produced; at the update the activations are gone and the new
// weights are written into the gradients' buffers as each gradient dies (measured on SimpleGo; XLA shares a
// dying operand's buffer with an elementwise result the same way), so the copies replace the gradients.
func (b Breakdown) Total() int64 {
	return b.Para + b.Sta + b.Prefetch + max(b.Gra+b.Act.Total(), b.Copies)
}

// GroupLoad is the device memory of one HiFT group's step.
type GroupLoad struct {
	Group     int // index into Analysis.Groups
	Breakdown Breakdown
}

// MethodPlan is the planner's answer for one method.
type MethodPlan struct {
	Method Method
	// Precision is the scheme planned: the requested one, except Mixed for full fine-tuning under Mixed^Hi.
	Precision Precision
	// Peak is the breakdown of the step with the most device memory; PeakGroup its group (-1 for FPFT).
	Peak      Breakdown
	PeakGroup int
	// Top lists the HiFT groups with the most device memory, largest first (at most 3).
	Top []GroupLoad
	// Fits says whether the peak fits in GPUMemory − Reserve.
	Fits bool
	// MaxBatch is the largest batch that fits at the sequence length (0: not even 1).
	MaxBatch int
	// MaxSeq is the longest sequence that fits at batch 1, capped by a learned position table; MaxSeqMemory
	// is the memory's limit alone.
	MaxSeq, MaxSeqMemory int
	// Host is the host RAM the method keeps (HiFT: every unit's optimizer state, plus fp32 masters under
	// Mixed^Hi).
	Host int64
}

// Plan is the answer of `hift plan`.
type Plan struct {
	Options  PlanOptions
	Analysis *Analysis
	Dims     Dims
	HiFT     MethodPlan
	FPFT     MethodPlan
	// HostFits is false when HostMemory is given and HiFT's host state exceeds it.
	HostFits bool
}

// maxSearch bounds the batch and sequence searches.
const maxSearch = 1 << 22

// MakePlan predicts device and host memory for HiFT and full fine-tuning.
func MakePlan(a *Analysis, d Dims, o PlanOptions) (*Plan, error) {
	if o.Batch < 1 || o.Seq < 1 {
		return nil, fmt.Errorf("batch size and sequence length must be >= 1, got %d and %d", o.Batch, o.Seq)
	}
	if o.GPUMemory <= o.Reserve {
		return nil, fmt.Errorf("GPU memory %s is not above the runtime reserve %s", FormatBytes(o.GPUMemory), FormatBytes(o.Reserve))
	}
	cfg, err := OptimizerConfig(o.Optimizer)
	if err != nil {
		return nil, err
	}
	if _, err := a.Footprint(cfg, o.Precision, HiFT); err != nil {
		return nil, err
	}
	p := &Plan{Options: o, Analysis: a, Dims: d, HostFits: true}
	budget := o.GPUMemory - o.Reserve
	for _, m := range Methods() {
		mo := o
		if m == FPFT && o.Precision == MixedHi {
			mo.Precision = Mixed // Mixed^Hi is HiFT's scheme; full fine-tuning's mixed precision is AMP
		}
		pl := planner{a: a, d: d, o: mo}
		if err := pl.init(); err != nil {
			return nil, err
		}
		mp := MethodPlan{Method: m, PeakGroup: -1, Precision: mo.Precision}
		loads := pl.loads(m, o.Batch, o.Seq)
		sort.SliceStable(loads, func(i, j int) bool { return loads[i].Breakdown.Total() > loads[j].Breakdown.Total() })
		mp.Peak, mp.PeakGroup = loads[0].Breakdown, loads[0].Group
		if m == HiFT {
			mp.Top = loads[:min(3, len(loads))]
			mp.Host = pl.host
		}
		mp.Fits = mp.Peak.Total() <= budget
		fits := func(b, t int) bool { return pl.peak(m, b, t) <= budget }
		mp.MaxBatch = search(func(b int) bool { return fits(b, o.Seq) })
		mp.MaxSeqMemory = search(func(t int) bool { return fits(1, t) })
		mp.MaxSeq = mp.MaxSeqMemory
		if d.LearnedPositions && d.MaxPositions > 0 {
			mp.MaxSeq = min(mp.MaxSeq, d.MaxPositions)
		}
		if m == HiFT {
			p.HiFT = mp
		} else {
			p.FPFT = mp
		}
	}
	if o.HostMemory > 0 && p.HiFT.Host > o.HostMemory {
		p.HostFits = false
	}
	return p, nil
}

// planner computes breakdowns; everything that does not depend on batch and length is computed once.
type planner struct {
	a *Analysis
	d Dims
	o PlanOptions

	sta       []int64 // per group
	staAll    int64
	host      int64
	storedBPP int64 // bytes per trained parameter written by the update (weights; master + half copy)
	all       []int
}

func (pl *planner) init() error {
	cfg, err := OptimizerConfig(pl.o.Optimizer)
	if err != nil {
		return err
	}
	for _, g := range pl.a.Groups {
		pl.sta = append(pl.sta, pl.a.StateBytes(cfg, g.Params))
	}
	pl.staAll = pl.a.StateBytes(cfg, pl.a.AllParams())
	pl.host = pl.staAll
	pl.storedBPP = 4
	switch pl.o.Precision {
	case Mixed, MixedHi:
		pl.storedBPP = 6
	}
	if pl.o.Precision == MixedHi {
		pl.host += 4 * pl.a.NumParams
	}
	pl.all = make([]int, len(pl.a.Model.Units))
	for i := range pl.all {
		pl.all[i] = i
	}
	return nil
}

func (pl *planner) loads(m Method, b, t int) []GroupLoad {
	half := pl.o.Precision != FP32
	a := pl.a
	if m == FPFT {
		br := Breakdown{Para: a.weightBytes(pl.o.Precision), Gra: 4 * a.NumParams, Sta: pl.staAll,
			Copies: pl.storedBPP*a.NumParams + pl.staAll, Act: pl.d.Activations(b, t, pl.all, half)}
		return []GroupLoad{{Group: -1, Breakdown: br}}
	}
	out := make([]GroupLoad, len(a.Groups))
	for i, g := range a.Groups {
		br := Breakdown{Para: a.weightBytes(pl.o.Precision), Gra: 4 * g.NumParams, Sta: pl.sta[i],
			Copies: pl.storedBPP*g.NumParams + pl.sta[i], Act: pl.d.Activations(b, t, g.Units, half)}
		if pl.o.Precision == MixedHi {
			br.Para += 4 * g.NumParams
		}
		if next := (i + 1) % len(a.Groups); pl.o.Prefetch && next != i {
			br.Prefetch = pl.sta[next]
			if pl.o.Precision == MixedHi {
				br.Prefetch += 4 * a.Groups[next].NumParams
			}
		}
		out[i] = GroupLoad{Group: i, Breakdown: br}
	}
	return out
}

func (pl *planner) peak(m Method, b, t int) int64 {
	var p int64
	for _, l := range pl.loads(m, b, t) {
		p = max(p, l.Breakdown.Total())
	}
	return p
}

// search returns the largest n in [1, maxSearch] with ok(n), assuming ok is monotone (true then false); 0 if
// ok(1) is false.
func search(ok func(int) bool) int {
	if !ok(1) {
		return 0
	}
	lo, hi := 1, 2
	for hi <= maxSearch && ok(hi) {
		lo, hi = hi, hi*2
	}
	if hi > maxSearch {
		return maxSearch
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// FormatBytes prints a size in GiB (or MiB below 1 GiB) with two decimals.
func FormatBytes(n int64) string {
	if n >= GiB || n <= -GiB {
		return fmt.Sprintf("%.2f GiB", float64(n)/GiB)
	}
	return fmt.Sprintf("%.2f MiB", float64(n)/MiB)
}

// CheckRunnable refuses a measured run on the pure-Go backend, whose device memory is this machine's RAM,
// when full fine-tuning with AdamW in FP32 at batch × seq (the most demanding run of `hift bench`) is planned
// to need more than 80% of the RAM. Other backends are not checked.
func CheckRunnable(be interface{ String() string }, a *Analysis, d Dims, batch, seq int) error {
	if be.String() != "go" {
		return nil
	}
	ram := HostRAM()
	if ram == 0 {
		return nil
	}
	pl := planner{a: a, d: d, o: PlanOptions{Batch: batch, Seq: seq, Optimizer: "adamw", Precision: FP32, GroupSize: a.GroupSize}}
	if err := pl.init(); err != nil {
		return err
	}
	need := pl.peak(FPFT, batch, seq)
	if need > ram/10*8 {
		return fmt.Errorf("%s at batch %d × sequence %d needs about %s for full fine-tuning, more than 80%% of this machine's %s of RAM (the pure-Go backend computes in RAM): use a smaller model or batch, or an XLA backend (--backend xla:/path/plugin.so): %w",
			a.Model.Class, batch, seq, FormatBytes(need), FormatBytes(ram), ErrDoesNotFit)
	}
	return nil
}

// ErrDoesNotFit is returned (errors.Is) when a planned run needs more memory than the machine has.
var ErrDoesNotFit = errors.New("does not fit in memory")

// HostRAM returns the machine's total memory from /proc/meminfo (0 when unknown).
func HostRAM() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
