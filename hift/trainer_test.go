package hift

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/data"
	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/safetensors"
)

func llamaFixture(t *testing.T) (*fixture.Fixture, *data.TensorDataset) {
	t.Helper()
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := data.LoadTensorDataset(fx.Path("inputs.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return fx, ds
}

func adamwOptions(t *testing.T) Options {
	o := DefaultOptions()
	c := o.Optimizer
	c.LR, c.WeightDecay = 1e-3, 0.01
	o.Optimizer = c
	o.BatchSize, o.Shuffle, o.MaxGradNorm, o.Steps = 2, false, 0, 10
	o.DecayNormAndBias = true
	return o
}

func weightsOf(tr *Trainer) map[string][]float32 {
	out := map[string][]float32{}
	for n, w := range tr.Weights() {
		out[n] = tensors.MustCopyFlatData[float32](w)
	}
	return out
}

func runAll(t *testing.T, tr *Trainer) {
	t.Helper()
	for tr.Step() < tr.TotalSteps() {
		if _, err := tr.TrainStep(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestResumeIsBitIdentical: 2n steps straight equal n steps, stop (checkpoint), resume, n steps — weights and
// losses bit for bit, with shuffling, batch 1 (data cursor mid-epoch) and a per-cycle linear schedule.
func TestResumeIsBitIdentical(t *testing.T) {
	fx, ds := llamaFixture(t)
	o := adamwOptions(t)
	o.BatchSize, o.Shuffle, o.LRScheduler, o.WarmupSteps, o.MaxGradNorm = 1, true, ScheduleLinear, 5, 1.0
	dirA, dirB := t.TempDir(), t.TempDir()
	o.Output = dirA
	a, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background(), nil, nil); err != nil {
		t.Fatal(err)
	}
	o.Output = dirB
	b, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Run(context.Background(), nil, func(m StepMetrics) bool { return m.Step+1 < 5 })
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("stop hook: %v", err)
	}
	c, err := Resume(testBackend(t), filepath.Join(dirB, "checkpoint-5"), ds, dirB, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Step() != 5 {
		t.Fatalf("resumed at step %d", c.Step())
	}
	if err := c.Run(context.Background(), nil, nil); err != nil {
		t.Fatal(err)
	}
	losses := append(b.Losses(), c.Losses()...)
	if !slices.Equal(losses, a.Losses()) {
		t.Errorf("losses differ:\nstraight %v\nresumed  %v", a.Losses(), losses)
	}
	wa, wc := weightsOf(a), weightsOf(c)
	for n := range wa {
		if !slices.Equal(wa[n], wc[n]) {
			t.Errorf("%s differs after resume", n)
		}
	}
	// The final saved model equals the in-memory weights.
	ck, err := safetensors.Open(dirB)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	for n := range wc {
		v, err := ck.Float32(n)
		if err != nil || !slices.Equal(v, wc[n]) {
			t.Errorf("saved %s differs (%v)", n, err)
		}
	}
	t.Logf("10 steps straight == 5 + resume + 5, bit for bit; final loss %.6f", losses[len(losses)-1])
}

// TestLedgerAndOffload: after every step no optimizer state outside the current and next groups is on the
// device (none outside the current∩next without prefetch), and offloading never changes the result.
func TestLedgerAndOffload(t *testing.T) {
	fx, ds := llamaFixture(t)
	results := map[string]map[string][]float32{}
	for _, mode := range []struct {
		name              string
		offload, prefetch bool
	}{{"offload+prefetch", true, true}, {"offload", true, false}, {"no offload", false, false}} {
		o := adamwOptions(t)
		o.GroupSize, o.Strategy = 2, StrategyUp2Down
		o.Offload, o.Prefetch = mode.offload, mode.prefetch
		tr, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
		if err != nil {
			t.Fatal(err)
		}
		for tr.Step() < tr.TotalSteps() {
			s := tr.Step()
			if _, err := tr.TrainStep(); err != nil {
				t.Fatal(err)
			}
			cur, next := tr.paramsOf(tr.activeUnits(s)), []string{}
			if s+1 < tr.TotalSteps() {
				next = tr.paramsOf(tr.activeUnits(s + 1))
			}
			rep := tr.Memory()
			for _, p := range rep.StateOnDevice {
				inCur, inNext := slices.Contains(cur, p), slices.Contains(next, p)
				switch {
				case !mode.offload:
				case mode.prefetch && !(inCur || inNext):
					t.Errorf("%s step %d: state of inactive %s is on the device", mode.name, s, p)
				case !mode.prefetch && !(inCur && inNext):
					t.Errorf("%s step %d: state of %s is on the device (not active in this and the next step)", mode.name, s, p)
				}
			}
			if mode.offload && rep.Host[CatOptimizer] == 0 && s > 0 {
				t.Errorf("%s step %d: no optimizer state on the host", mode.name, s)
			}
			if s == 3 {
				t.Logf("%s after step %d: device %d B (state %d B), host %d B", mode.name, s, rep.DeviceTotal(), rep.Device[CatOptimizer], rep.HostTotal())
			}
		}
		results[mode.name] = weightsOf(tr)
	}
	for n, w := range results["no offload"] {
		if !slices.Equal(w, results["offload+prefetch"][n]) || !slices.Equal(w, results["offload"][n]) {
			t.Errorf("%s: offloading changed the weights", n)
		}
	}
}

// TestFullAdamWOneStep: one --full AdamW step equals the hand computation from the fixture's gradients:
// p1 = p0·(1 − lr·wd) − lr·g/(|g| + eps) (first turn: m̂ = g, v̂ = g²).
func TestFullAdamWOneStep(t *testing.T) {
	fx, ds := llamaFixture(t)
	o := adamwOptions(t)
	o.Full, o.Steps = true, 1
	tr, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	w0 := weightsOf(tr)
	runAll(t, tr)
	w1 := weightsOf(tr)
	golden, err := safetensors.Open(fx.Path("golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer golden.Close()
	gradTol, _ := fx.Tolerance("grad")
	const lr, wd, eps = 1e-3, 0.01, 1e-8
	worst, uncertain := 0.0, 0
	for n := range w0 {
		g, err := golden.Float32("grad." + n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range g {
			// Where |g| is within the gradients' own tolerance its sign is not determined by the fixture.
			if math.Abs(float64(g[i])) < 10*gradTol.ATol && g[i] != 0 {
				uncertain++
				continue
			}
			gi := float64(g[i])
			want := float64(w0[n][i])*(1-lr*wd) - lr*gi/(math.Abs(gi)+eps)
			d := math.Abs(float64(w1[n][i]) - want)
			worst = math.Max(worst, d)
			if d > 1e-6 {
				t.Errorf("%s[%d]: %g, hand computation %g", n, i, w1[n][i], want)
				return
			}
		}
	}
	t.Logf("one full AdamW step: max |hift − hand| = %.3g over all entries with |g| >= %.1g (%d smaller ones skipped)", worst, 10*gradTol.ATol, uncertain)
}

// TestGradAccumulationMatchesOneBatch: 2 micro-batches of 1 example equal one batch of 2 (token-weighted),
// and the queue advances once per optimizer step.
func TestGradAccumulationMatchesOneBatch(t *testing.T) {
	fx, ds := llamaFixture(t)
	o := adamwOptions(t)
	o.Steps = 6
	one, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	runAll(t, one)
	o.BatchSize, o.GradAccum = 1, 2
	acc, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	var groups []int
	for acc.Step() < acc.TotalSteps() {
		m, err := acc.TrainStep()
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, m.Group)
	}
	if !slices.Equal(groups, []int{0, 1, 2, 3, 4, 0}) {
		t.Errorf("groups per step %v", groups)
	}
	worst := 0.0
	for i, l := range acc.Losses() {
		worst = math.Max(worst, math.Abs(l-one.Losses()[i]))
	}
	wa, wo := weightsOf(acc), weightsOf(one)
	for n := range wo {
		rep, _ := fixture.Compare(wa[n], wo[n], fixture.Tol{ATol: 1e-6, RTol: 1e-5}, nil)
		if !rep.OK() {
			t.Errorf("%s: %s", n, rep)
		}
	}
	if worst > 1e-5 {
		t.Errorf("losses differ by %g", worst)
	}
	t.Logf("grad-accum 2×1 vs batch 2: max loss diff %.3g", worst)
}

// TestClipping: one --full SGD step with lr 1 and max-grad-norm c moves p by −g·c/(‖g‖+1e-6).
func TestClipping(t *testing.T) {
	fx, ds := llamaFixture(t)
	o := adamwOptions(t)
	sgd := o.Optimizer
	sgd.Name, sgd.LR, sgd.WeightDecay = "sgd", 1, 0
	o.Optimizer, o.Full, o.Steps, o.MaxGradNorm = sgd, true, 1, 0.1
	tr, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	w0 := weightsOf(tr)
	m, err := tr.TrainStep()
	if err != nil {
		t.Fatal(err)
	}
	w1 := weightsOf(tr)
	golden, _ := safetensors.Open(fx.Path("golden.safetensors"))
	defer golden.Close()
	var sq float64
	grads := map[string][]float32{}
	for n := range w0 {
		grads[n], _ = golden.Float32("grad." + n)
		for _, g := range grads[n] {
			sq += float64(g) * float64(g)
		}
	}
	norm := math.Sqrt(sq)
	if math.Abs(m.GradNorm-norm) > 1e-4*norm {
		t.Errorf("grad_norm_active %g, golden gradients' norm %g", m.GradNorm, norm)
	}
	coef := 0.1 / (norm + 1e-6)
	worst := 0.0
	for n := range w0 {
		for i, g := range grads[n] {
			want := float64(w0[n][i]) - float64(g)*coef
			worst = math.Max(worst, math.Abs(float64(w1[n][i])-want))
		}
	}
	if worst > 1e-6 {
		t.Errorf("clipped step differs from −g·c/‖g‖ by %g", worst)
	}
	t.Logf("norm %.5f (golden %.5f), clipped update max error %.3g", m.GradNorm, norm, worst)
}

// TestInterruptSavesCheckpoint: cancelling the context (Ctrl-C in the CLI) saves checkpoint-<step> before
// returning ErrInterrupted, and the checkpoint resumes.
func TestInterruptSavesCheckpoint(t *testing.T) {
	fx, ds := llamaFixture(t)
	o := adamwOptions(t)
	o.Output = t.TempDir()
	tr, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = tr.Run(ctx, nil, func(m StepMetrics) bool {
		if m.Step == 2 {
			cancel()
		}
		return true
	})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run after cancel: %v", err)
	}
	ck := filepath.Join(o.Output, "checkpoint-3")
	r, err := Resume(testBackend(t), ck, ds, t.TempDir(), 0, 0)
	if err != nil {
		t.Fatalf("resume from %s: %v", ck, err)
	}
	if r.Step() != 3 {
		t.Errorf("resumed at step %d, want 3", r.Step())
	}
}
