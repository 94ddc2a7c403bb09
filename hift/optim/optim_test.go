package optim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // SimpleGo, the pure-Go backend the tests run on.
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX convention.
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

var (
	backendOnce sync.Once
	backendVal  backends.Backend
	backendErr  error
)

// testBackend returns the SimpleGo backend (sequential ops), or the one $GOMLX_BACKEND names when it is a
// SimpleGo configuration.
func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	backendOnce.Do(func() {
		_ = os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
		cfg := os.Getenv("GOMLX_BACKEND")
		if len(cfg) < 2 || cfg[:2] != "go" {
			cfg = "go:ops_sequential"
		}
		backendVal, backendErr = backends.NewWithConfig(cfg)
	})
	if backendErr != nil {
		t.Fatalf("backend: %v", backendErr)
	}
	return backendVal
}

// stepper executes one rule's Update for a fixed decay flag.
type stepper struct {
	rule Rule
	exec *Exec
}

func newStepper(t testing.TB, r Rule, decay bool) *stepper {
	t.Helper()
	exec, err := NewExec(testBackend(t), func(in []*Node) []*Node {
		pNew, st := r.Update(in[0], in[1], in[4:], in[2], in[3], decay)
		return append([]*Node{pNew}, st...)
	})
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	return &stepper{rule: r, exec: exec}
}

// step runs one update on float32 data and returns the new parameter and state as float32 slices.
func (st *stepper) step(t testing.TB, dims []int, p, g []float32, state [][]float32, s, lr float64) ([]float32, [][]float32) {
	t.Helper()
	specs := st.rule.State(shapes.Make(dtypes.Float32, dims...))
	args := []any{tensors.FromFlatDataAndDimensions(p, dims...), tensors.FromFlatDataAndDimensions(g, dims...), s, lr}
	for i, spec := range specs {
		args = append(args, tensors.FromFlatDataAndDimensions(state[i], spec.Shape.Dimensions...))
	}
	outs, err := st.exec.Exec(args...)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if len(outs) != 1+len(specs) {
		t.Fatalf("got %d outputs, want %d", len(outs), 1+len(specs))
	}
	pNew := tensors.MustCopyFlatData[float32](outs[0])
	newState := make([][]float32, len(specs))
	for i := range specs {
		if !slicesEqualInt(outs[1+i].Shape().Dimensions, specs[i].Shape.Dimensions) {
			t.Fatalf("state %q: shape %s, want %s", specs[i].Name, outs[1+i].Shape(), specs[i].Shape)
		}
		newState[i] = tensors.MustCopyFlatData[float32](outs[1+i])
	}
	return pNew, newState
}

func slicesEqualInt(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func numel(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

func to64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func to32s(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// maxErr returns the largest |got−ref| and the largest excess over the tolerance atol + rtol·|ref| (≤ 0 when
// every element passes).
func maxErr(got []float32, ref []float64, atol, rtol float64) (maxAbs, worstExcess float64) {
	worstExcess = math.Inf(-1)
	for i := range ref {
		d := math.Abs(float64(got[i]) - ref[i])
		if math.IsNaN(d) {
			return math.NaN(), math.Inf(1)
		}
		maxAbs = math.Max(maxAbs, d)
		worstExcess = math.Max(worstExcess, d-(atol+rtol*math.Abs(ref[i])))
	}
	return maxAbs, worstExcess
}

// ruleCase is one optimizer configuration under test.
type ruleCase struct {
	name string
	cfg  Config
	lr   float64 // base lr of the turns' schedule
}

func mustDefaults(t testing.TB, name string, edit func(*Config)) Config {
	t.Helper()
	c, err := Defaults(name)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&c)
	}
	return c
}

// ruleCases lists every rule with its important option combinations. Hyper-parameters are made large (lr
// 0.1, λ 0.5) where that makes formula differences (decay order, ε placement, bias corrections) visible above
// float32 noise.
func ruleCases(t testing.TB) []ruleCase {
	d := func(name string, edit func(*Config)) Config { return mustDefaults(t, name, edit) }
	return []ruleCase{
		{"adamw/defaults", d("adamw", nil), 0.1},
		{"adamw/wd0.5", d("adamw", func(c *Config) { c.WeightDecay = 0.5 }), 0.1},
		{"adamw/amsgrad", d("adamw", func(c *Config) { c.AMSGrad, c.WeightDecay = true, 0.5 }), 0.1},
		{"adamw/llama_fixture", d("adamw", func(c *Config) { c.LR, c.WeightDecay = 1e-3, 0.01 }), 1e-3},
		{"adamw/eps0.1", d("adamw", func(c *Config) { c.Eps, c.Beta1, c.Beta2 = 0.1, 0.8, 0.9 }), 0.1},
		{"adamw_hf/defaults", d("adamw_hf", nil), 0.1},
		{"adamw_hf/wd0.5", d("adamw_hf", func(c *Config) { c.WeightDecay, c.Eps = 0.5, 1e-8 }), 0.1},
		{"adamw_hf/no_correct_bias", d("adamw_hf", func(c *Config) { c.WeightDecay, c.CorrectBias = 0.4, false }), 0.1},
		{"adamw_hf/eps0.1", d("adamw_hf", func(c *Config) { c.Eps, c.WeightDecay = 0.1, 0.5 }), 0.1},
		{"adam/defaults", d("adam", nil), 0.1},
		{"adam/l2", d("adam", func(c *Config) { c.WeightDecay = 0.5 }), 0.1},
		{"adam/l2_amsgrad", d("adam", func(c *Config) { c.WeightDecay, c.AMSGrad = 0.5, true }), 0.1},
		{"sgd/plain", d("sgd", nil), 0.1},
		{"sgd/wd", d("sgd", func(c *Config) { c.WeightDecay = 0.5 }), 0.1},
		{"sgd/momentum", d("sgd", func(c *Config) { c.Momentum = 0.9 }), 0.1},
		{"sgd/momentum_dampening", d("sgd", func(c *Config) { c.Momentum, c.Dampening, c.WeightDecay = 0.9, 0.3, 0.5 }), 0.1},
		{"sgd/nesterov", d("sgd", func(c *Config) { c.Momentum, c.Nesterov = 0.9, true }), 0.1},
		{"sgd/nesterov_wd", d("sgd", func(c *Config) { c.Momentum, c.Nesterov, c.WeightDecay = 0.8, true, 0.5 }), 0.1},
		{"adagrad/defaults", d("adagrad", nil), 0.1},
		{"adagrad/lr_decay_init_acc_wd", d("adagrad", func(c *Config) {
			c.LRDecay, c.InitialAccumulatorValue, c.WeightDecay, c.Eps = 0.5, 0.3, 0.5, 1e-3
		}), 0.1},
		{"adafactor/hf_trainer", d("adafactor", func(c *Config) {
			c.ScaleParameter, c.RelativeStep, c.LR, c.LRSet = false, false, 1e-3, true
		}), 0.1},
		{"adafactor/hf_trainer_wd", d("adafactor", func(c *Config) {
			c.ScaleParameter, c.RelativeStep, c.LR, c.LRSet, c.WeightDecay = false, false, 1e-3, true, 0.5
		}), 0.1},
		{"adafactor/class_defaults", d("adafactor", nil), 0.1},
		{"adafactor/warmup_init_wd", d("adafactor", func(c *Config) { c.WarmupInit, c.WeightDecay = true, 0.5 }), 0.1},
		{"adafactor/beta1_scale_clip", d("adafactor", func(c *Config) {
			c.RelativeStep, c.LRSet, c.Beta1Set, c.Beta1, c.WeightDecay, c.ClipThreshold = false, true, true, 0.9, 0.5, 0.5
		}), 0.1},
		{"adafactor/beta1_relative", d("adafactor", func(c *Config) { c.Beta1Set, c.Beta1, c.DecayRate = true, 0.8, -0.5 }), 0.1},
		{"rmsprop/defaults", d("rmsprop", nil), 0.1},
		{"rmsprop/centered", d("rmsprop", func(c *Config) { c.Centered, c.Alpha = true, 0.9 }), 0.1},
		// α = 0.9 keeps g/d ≈ 3 (with α = 0.99 the buffer sums terms of ±17 into values near 1, whose float32
		// cancellation noise, ~2e-6, is what the fixed tolerance would then measure).
		{"rmsprop/momentum", d("rmsprop", func(c *Config) { c.Momentum, c.WeightDecay, c.Alpha = 0.9, 0.5, 0.9 }), 0.1},
		{"rmsprop/centered_momentum_wd", d("rmsprop", func(c *Config) {
			c.Centered, c.Momentum, c.WeightDecay, c.Eps = true, 0.5, 0.5, 1e-3
		}), 0.1},
		{"lion/defaults", d("lion", nil), 0.1},
		{"lion/wd", d("lion", func(c *Config) { c.WeightDecay, c.Beta2 = 0.5, 0.999 }), 0.1},
	}
}

// TestUpdateMatchesReference runs 4 turns (s = 1..4, different gradients each turn, lr = 0 on some turns so
// that the state must advance without moving p) of every case on 0-d, 1-d, 2-d and 3-d parameters, with and
// without decay, and compares parameter, state and the parameter's change against the float64 reference.
func TestUpdateMatchesReference(t *testing.T) {
	const atol, rtol = 1e-6, 1e-5
	allDims := [][]int{{}, {7}, {3, 5}, {2, 3, 4}}
	for _, rc := range ruleCases(t) {
		t.Run(rc.name, func(t *testing.T) {
			rule, err := New(rc.cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			ref := refFor(rule.Config().Name)
			for _, decay := range []bool{true, false} {
				if !decay && rc.cfg.WeightDecay == 0 {
					continue
				}
				stp := newStepper(t, rule, decay)
				for di, dims := range allDims {
					for si, lrs := range [][]float64{{rc.lr, 0, rc.lr / 2, rc.lr}, {0, 0, rc.lr, rc.lr}} {
						seed := uint64(1000*di + 10*si + 1)
						if decay {
							seed += 7
						}
						worstP, worstS, worstD := runTurns(t, stp, ref, rc.cfg, dims, lrs, decay, seed, atol, rtol)
						t.Logf("decay=%v dims=%v lrs=%v: max p err %.3g, max state err %.3g, max update err %.3g",
							decay, dims, lrs, worstP, worstS, worstD)
					}
				}
			}
		})
	}
}

// runTurns runs len(lrs) turns and checks each against the reference; it returns the largest errors seen.
func runTurns(t *testing.T, stp *stepper, ref refFn, cfg Config, dims []int, lrs []float64, decay bool,
	seed uint64, atol, rtol float64) (worstP, worstS, worstD float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	n := numel(dims)
	p := make([]float32, n)
	for i := range p {
		p[i] = float32(rng.Float64()*2 - 1)
	}
	specs := stp.rule.State(shapes.Make(dtypes.Float32, dims...))
	state := make([][]float32, len(specs))
	for i, spec := range specs {
		state[i] = make([]float32, spec.Shape.Size())
		for j := range state[i] {
			state[i][j] = float32(spec.Init)
		}
	}
	refP, refState := to64(p), make([][]float64, len(state))
	for i := range state {
		refState[i] = to64(state[i])
	}
	for turn, lr := range lrs {
		s := float64(turn + 1)
		g := make([]float32, n)
		for i := range g {
			g[i] = float32((rng.Float64()*2 - 1) * (1 + float64(turn)))
		}
		gotP, gotState := stp.step(t, dims, p, g, state, s, lr)
		newRefP, newRefState := ref(cfg, dims, refP, to64(g), refState, s, lr, decay)

		where := fmt.Sprintf("decay=%v dims=%v turn s=%d lr=%g", decay, dims, turn+1, lr)
		if e, ex := maxErr(gotP, newRefP, atol, rtol); ex > 0 {
			t.Errorf("%s: parameter max error %.3g exceeds tolerance\n got %v\n ref %v", where, e, gotP, newRefP)
		} else {
			worstP = math.Max(worstP, e)
		}
		for i := range specs {
			if e, ex := maxErr(gotState[i], newRefState[i], atol, rtol); ex > 0 {
				t.Errorf("%s: state %q max error %.3g exceeds tolerance\n got %v\n ref %v", where, specs[i].Name, e,
					gotState[i], newRefState[i])
			} else {
				worstS = math.Max(worstS, e)
			}
		}
		// The change of p, compared with the reference's change (a check that is far more sensitive than p's
		// own tolerance to small formula differences such as the order of decay and update).
		gotD, refD := make([]float32, n), make([]float64, n)
		for i := range gotD {
			gotD[i] = gotP[i] - p[i]
			refD[i] = newRefP[i] - refP[i]
		}
		if e, ex := maxErr(gotD, refD, atol, rtol); ex > 0 {
			t.Errorf("%s: update (new p − old p) max error %.3g exceeds tolerance\n got %v\n ref %v", where, e, gotD, refD)
		} else {
			worstD = math.Max(worstD, e)
		}
		// At lr = 0 p stays put, except for adafactor with a relative step (which ignores lr) or a first moment
		// (u = M = β1·M keeps moving p, as in transformers).
		if lr == 0 && !(cfg.Name == NameAdafactor && (cfg.RelativeStep || cfg.Beta1Set)) {
			for i := range p {
				if gotP[i] != p[i] {
					t.Errorf("%s: lr = 0 changed p[%d] from %v to %v", where, i, p[i], gotP[i])
					break
				}
			}
		}
		p, state, refP, refState = gotP, gotState, newRefP, newRefState
	}
	return
}

// TestAdamWFirstTurnByHand checks hand-computable AdamW values with the LLaMA fixture's hyper-parameters
// (lr 1e-3, β (0.9, 0.999), ε 1e-8, λ 0.01): on the first turn m/(1−β1) = g and √(v/(1−β2)) = |g|, so
// p₁ = p·(1 − lr·λ) − lr·g/(|g| + ε); with a constant gradient this stays true at every s (also after a first
// turn at lr = 0), and a zero gradient only decays p.
func TestAdamWFirstTurnByHand(t *testing.T) {
	cfg := mustDefaults(t, "adamw", func(c *Config) { c.LR, c.WeightDecay = 1e-3, 0.01 })
	rule, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stp := newStepper(t, rule, true)
	const lr, wd, eps = 1e-3, 0.01, 1e-8
	for _, tc := range []struct{ p, g float32 }{{0.5, 0.25}, {-1.25, -3}, {2, 1e-6}, {0.75, 0}, {-0.1, 1e-9}} {
		want := func(p float64) float64 {
			g := float64(tc.g)
			return p*(1-lr*wd) - lr*g/(math.Abs(g)+eps)
		}
		zero := [][]float32{{0}, {0}}
		got, st := stp.step(t, []int{1}, []float32{tc.p}, []float32{tc.g}, zero, 1, lr)
		w := want(float64(tc.p))
		if d := math.Abs(float64(got[0]) - w); d > 1e-7*math.Max(1, math.Abs(w)) {
			t.Errorf("p=%v g=%v: first turn gives %v, want %v (err %.3g)", tc.p, tc.g, got[0], w, d)
		}
		t.Logf("p=%v g=%v: p1 = %.9f (hand %.9f), m = %v, v = %v", tc.p, tc.g, got[0], w, st[0][0], st[1][0])
		// A first turn at lr = 0 leaves p alone but advances m, v; the second turn (s = 2) with the same
		// gradient then moves p exactly like a first turn.
		p1, st1 := stp.step(t, []int{1}, []float32{tc.p}, []float32{tc.g}, zero, 1, 0)
		if p1[0] != tc.p {
			t.Errorf("lr = 0 moved p from %v to %v", tc.p, p1[0])
		}
		p2, _ := stp.step(t, []int{1}, p1, []float32{tc.g}, st1, 2, lr)
		if d := math.Abs(float64(p2[0]) - w); d > 1e-7*math.Max(1, math.Abs(w)) {
			t.Errorf("p=%v g=%v: turn s=2 after an lr=0 turn gives %v, want %v (err %.3g)", tc.p, tc.g, p2[0], w, d)
		}
	}
}

// TestParamDTypes checks that bfloat16 and float64 parameters are updated in float32 and converted back.
func TestParamDTypes(t *testing.T) {
	cfg := mustDefaults(t, "adamw", func(c *Config) { c.WeightDecay = 0.5 })
	rule, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	backend := testBackend(t)
	exec, err := NewExec(backend, func(in []*Node) []*Node {
		pNew, st := rule.Update(in[0], in[1], in[4:], in[2], in[3], true)
		return append([]*Node{pNew}, st...)
	})
	if err != nil {
		t.Fatal(err)
	}
	p32 := []float32{0.5, -1, 2}
	g := []float32{0.25, -0.5, 1}
	ref, _ := refAdamW(cfg, []int{3}, to64(p32), to64(g), [][]float64{{0, 0, 0}, {0, 0, 0}}, 1, 0.1, true)
	z := func() *tensors.Tensor { return tensors.FromFlatDataAndDimensions([]float32{0, 0, 0}, 3) }
	gT := tensors.FromFlatDataAndDimensions(g, 3)

	outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(to64(p32), 3), gT, 1.0, 0.1, z(), z())
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].DType() != dtypes.Float64 {
		t.Fatalf("float64 parameter came back as %s", outs[0].DType())
	}
	for i, v := range tensors.MustCopyFlatData[float64](outs[0]) {
		if float32(v) != float32(ref[i]) && math.Abs(v-ref[i]) > 1e-6 {
			t.Errorf("float64 p[%d] = %v, want %v", i, v, ref[i])
		}
	}

	outs, err = exec.Exec(toBF16(t, backend, p32), gT, 1.0, 0.1, z(), z())
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].DType() != dtypes.BFloat16 {
		t.Fatalf("bfloat16 parameter came back as %s", outs[0].DType())
	}
	back, err := ExecOnce(backend, func(x *Node) *Node { return ConvertDType(x, dtypes.Float32) }, outs[0])
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range tensors.MustCopyFlatData[float32](back) {
		if math.Abs(float64(v)-ref[i]) > 1e-2*math.Abs(ref[i]) {
			t.Errorf("bfloat16 p[%d] = %v, want ≈ %v", i, v, ref[i])
		}
	}
}

func toBF16(t *testing.T, backend backends.Backend, x []float32) *tensors.Tensor {
	t.Helper()
	out, err := ExecOnce(backend, func(v *Node) *Node { return ConvertDType(v, dtypes.BFloat16) },
		tensors.FromFlatDataAndDimensions(x, len(x)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUpdateRejectsBadInputs checks that graph building fails clearly on a wrong state count or shape.
func TestUpdateRejectsBadInputs(t *testing.T) {
	rule, err := New(mustDefaults(t, "adamw", nil))
	if err != nil {
		t.Fatal(err)
	}
	backend := testBackend(t)
	p := tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4}, 2, 2)
	cases := map[string][]any{
		"missing state": {p, p, 1.0, 0.1, p},
		"bad state":     {p, p, 1.0, 0.1, p, tensors.FromFlatDataAndDimensions([]float32{1, 2}, 2)},
		"bad grad":      {p, tensors.FromFlatDataAndDimensions([]float32{1, 2}, 2), 1.0, 0.1, p, p},
		"vector s":      {p, p, tensors.FromFlatDataAndDimensions([]float64{1, 2}, 2), 0.1, p, p},
	}
	for name, args := range cases {
		exec, err := NewExec(backend, func(in []*Node) []*Node {
			pNew, st := rule.Update(in[0], in[1], in[4:], in[2], in[3], true)
			return append([]*Node{pNew}, st...)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := exec.Exec(args...); err == nil {
			t.Errorf("%s: Exec succeeded, want an error", name)
		} else {
			t.Logf("%s: %v", name, firstLine(err.Error()))
		}
	}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

// TestAdafactorLargeMatrix checks adafactor's whole-tensor reductions (RMS for clipping and parameter scale,
// row/column means) on a 1024×1024 weight, where float32 sequential accumulation would drift from PyTorch.
func TestAdafactorLargeMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("large matrix")
	}
	const atol, rtol = 1e-6, 1e-5
	for _, rc := range []ruleCase{
		{"hf_trainer", mustDefaults(t, "adafactor", func(c *Config) {
			c.ScaleParameter, c.RelativeStep, c.LRSet = false, false, true
		}), 0.1},
		{"class_defaults", mustDefaults(t, "adafactor", nil), 0.1},
	} {
		rule, err := New(rc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		stp := newStepper(t, rule, false)
		worstP, worstS, worstD := runTurns(t, stp, refAdafactor, rc.cfg, []int{1024, 1024}, []float64{rc.lr, rc.lr}, false, 99, atol, rtol)
		t.Logf("%s [1024 1024]: max p err %.3g, max state err %.3g, max update err %.3g", rc.name, worstP, worstS, worstD)
	}
}
