package hift

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/data"
	hgraph "github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/hift/optim"
	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/safetensors"
)

var sharedBackend = sync.OnceValues(func() (backends.Backend, error) { return hgraph.NewBackend("") })

func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, err := sharedBackend()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMain(m *testing.M) {
	_ = os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	os.Exit(m.Run())
}

// goldenRun describes one HiFT trajectory file of a fixture (fixtures/README.md, "HiFT goldens").
type goldenRun struct {
	file     string
	optName  string
	strategy Strategy
	m        int
	steps    int
	sched    ScheduleKind
	warmup   int
}

var goldenRuns = []goldenRun{
	{"hift_adamw.safetensors", "adamw", StrategyDown2Up, 1, 10, ScheduleConstant, 0},
	{"hift_sgd.safetensors", "sgd", StrategyDown2Up, 1, 10, ScheduleConstant, 0},
	{"hift_adamw_m2_up2down.safetensors", "adamw", StrategyUp2Down, 2, 10, ScheduleConstant, 0},
	{"hift_adagrad.safetensors", "adagrad", StrategyDown2Up, 1, 10, ScheduleConstant, 0},
	{"hift_adafactor.safetensors", "adafactor", StrategyDown2Up, 1, 10, ScheduleConstant, 0},
	{"hift_adamw_linear_sched.safetensors", "adamw", StrategyDown2Up, 1, 15, ScheduleLinear, 5},
}

// manifestFile is the per-file part of a fixture manifest's hift section.
type manifestFile struct {
	Optimizer struct {
		Hyperparameters map[string]any `json:"hyperparameters"`
	} `json:"optimizer"`
	NoiseDominated []struct {
		Param  string   `json:"param"`
		Ranges [][2]int `json:"exclude_flat_ranges"`
	} `json:"noise_dominated_entries"`
}

func num(v any) float64 {
	if f, ok := v.(float64); ok {
		return f
	}
	return 0
}

// optimizerFromManifest builds the optimizer exactly as the manifest's constructor describes it.
func optimizerFromManifest(t *testing.T, name string, hp map[string]any) optim.Config {
	t.Helper()
	c, err := optim.Defaults(name)
	if err != nil {
		t.Fatal(err)
	}
	c.LR = num(hp["lr"])
	c.WeightDecay = num(hp["weight_decay"])
	switch name {
	case "adamw":
		b := hp["betas"].([]any)
		c.Beta1, c.Beta2, c.Eps = num(b[0]), num(b[1]), num(hp["eps"])
	case "sgd":
		c.Momentum, c.Dampening = num(hp["momentum"]), num(hp["dampening"])
	case "adagrad":
		c.Eps, c.LRDecay, c.InitialAccumulatorValue = num(hp["eps"]), num(hp["lr_decay"]), num(hp["initial_accumulator_value"])
	case "adafactor":
		e := hp["eps"].([]any)
		c.Eps, c.Eps2 = num(e[0]), num(e[1])
		c.ClipThreshold, c.DecayRate = num(hp["clip_threshold"]), num(hp["decay_rate"])
		c.ScaleParameter, c.RelativeStep, c.WarmupInit = false, false, false
		c.LRSet = true
	}
	return c
}

// goldenOptions returns the options of a golden run: the CLI's
// --batch-size 2 --no-shuffle --decay-norm-and-bias --max-grad-norm 0 plus the file's optimizer and queue.
func goldenOptions(t *testing.T, fx *fixture.Fixture, r goldenRun) (Options, manifestFile) {
	var hift struct {
		Files map[string]manifestFile `json:"files"`
	}
	if err := json.Unmarshal(fx.Manifest.HiFT, &hift); err != nil {
		t.Fatal(err)
	}
	mf, ok := hift.Files[r.file]
	if !ok {
		t.Fatalf("manifest has no %s", r.file)
	}
	o := DefaultOptions()
	o.Optimizer = optimizerFromManifest(t, r.optName, mf.Optimizer.Hyperparameters)
	o.GroupSize, o.Strategy, o.Steps = r.m, r.strategy, r.steps
	o.BatchSize, o.Shuffle, o.DecayNormAndBias, o.MaxGradNorm = 2, false, true, 0
	o.LRScheduler, o.WarmupSteps = r.sched, r.warmup
	return o, mf
}

// checkGolden trains as the golden file says and compares losses, active groups, lrs and final weights.
func checkGolden(t *testing.T, fixtureName string, r goldenRun) {
	fx, err := fixture.Load(fixtureName)
	if err != nil {
		t.Fatal(err)
	}
	opts, mf := goldenOptions(t, fx, r)
	ds, err := data.LoadTensorDataset(fx.Path("inputs.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(testBackend(t), fx.Dir, ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	var groups []int
	var lrs []float64
	for tr.Step() < tr.TotalSteps() {
		m, err := tr.TrainStep()
		if err != nil {
			t.Fatal(err)
		}
		groups, lrs = append(groups, m.Group), append(lrs, m.LR)
	}
	golden, err := safetensors.Open(fx.Path(r.file))
	if err != nil {
		t.Fatal(err)
	}
	defer golden.Close()
	wantLoss, _ := golden.Float32("loss_per_step")
	wantGroups, _ := golden.Int64("active_group_per_step")
	worstLoss := 0.0
	for i, l := range tr.Losses() {
		d := math.Abs(l-float64(wantLoss[i])) / math.Abs(float64(wantLoss[i]))
		worstLoss = math.Max(worstLoss, d)
		if d > 1e-5 {
			t.Errorf("step %d: loss %.7f, golden %.7f (rel %.2g)", i, l, wantLoss[i], d)
		}
		if int64(groups[i]) != wantGroups[i] {
			t.Errorf("step %d: active group %d, golden %d", i, groups[i], wantGroups[i])
		}
	}
	if wantLR, err := golden.Float32("lr_per_step"); err == nil { // F64 in the file, read through float32
		for i := range wantLR {
			if math.Abs(lrs[i]-float64(wantLR[i])) > 1e-7*math.Abs(lrs[i]) {
				t.Errorf("step %d: lr %g, golden %g", i, lrs[i], wantLR[i])
			}
		}
	}
	skip := map[string][][2]int{}
	for _, e := range mf.NoiseDominated {
		skip[e.Param] = append(skip[e.Param], e.Ranges...)
	}
	// Manifest tolerance: weights atol 1e-5, rtol 1e-4. Its note allows that "a float32 implementation with
	// different rounding may find a few other isolated entries with a ~1e-8 gradient on some turn off by more
	// than atol" (AdamW, Adagrad and Adafactor normalise such noise into ~lr-sized moves): at most
	// maxIsolated such entries per file are accepted, each within isolatedATol, and all are printed.
	const maxIsolated, isolatedATol = 2, 1e-4
	tol := fixture.Tol{ATol: 1e-5, RTol: 1e-4}
	isolated := 0
	worst, worstName, compared := 0.0, "", 0
	for _, p := range tr.Model().Params {
		want, err := golden.Float32(p.Name)
		if err != nil {
			t.Errorf("golden lacks %s: %v", p.Name, err)
			continue
		}
		got := tensors.MustCopyFlatData[float32](tr.Weights()[p.Name])
		ranges := skip[p.Name]
		rep, err := fixture.Compare(got, want, tol, func(i int) bool {
			return slices.ContainsFunc(ranges, func(r [2]int) bool { return i >= r[0] && i < r[1] })
		})
		if err != nil {
			t.Fatal(err)
		}
		compared++
		if rep.MaxAbs > worst {
			worst, worstName = rep.MaxAbs, p.Name
		}
		if !rep.OK() {
			loose, _ := fixture.Compare(got, want, fixture.Tol{ATol: isolatedATol, RTol: tol.RTol}, func(i int) bool {
				return slices.ContainsFunc(ranges, func(r [2]int) bool { return i >= r[0] && i < r[1] })
			})
			isolated += rep.Fails
			if !loose.OK() || r.optName == "sgd" {
				t.Errorf("%s: %s", p.Name, rep)
			} else {
				t.Logf("isolated amplified-rounding entry accepted: %s: %s", p.Name, rep)
			}
		}
	}
	if isolated > maxIsolated {
		t.Errorf("%d entries outside atol 1e-5 (at most %d isolated ones are accepted)", isolated, maxIsolated)
	}
	t.Logf("%s/%s: %d steps, %d weights compared, max|Δw| %.3g (%s), max rel loss err %.3g", fixtureName, r.file, len(groups), compared, worst, worstName, worstLoss)
}

func TestHiFTGoldensLlama(t *testing.T) {
	for _, r := range goldenRuns {
		t.Run(r.file, func(t *testing.T) { checkGolden(t, "llama_causal_lm", r) })
	}
}

func TestHiFTGoldensGPT2(t *testing.T) {
	for _, r := range goldenRuns {
		t.Run(r.file, func(t *testing.T) { checkGolden(t, "gpt2_causal_lm", r) })
	}
}
