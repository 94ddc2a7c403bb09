package hift

import (
	"math"
	"strings"
	"testing"
)

func scheduleTestNew(t *testing.T, cfg ScheduleConfig) *Schedule {
	t.Helper()
	s, err := NewSchedule(cfg)
	if err != nil {
		t.Fatalf("NewSchedule(%+v): %v", cfg, err)
	}
	return s
}

// TestScheduleFixtureLinearSched is the hift_adamw_linear_sched golden: n = 5,
// m = 1 (k = 5), 15 steps, linear with warm-up of one cycle (W = 1, N = 3),
// lr per step 0×5, 1e-3×5, 5e-4×5, compared bit for bit.
func TestScheduleFixtureLinearSched(t *testing.T) {
	s := scheduleTestNew(t, ScheduleConfig{
		Kind: ScheduleLinear, BaseLR: 1e-3, TotalSteps: 15, WarmupSteps: 5, StepsPerCycle: 5, Horizon: HorizonCycles,
	})
	if w, n := s.Ticks(); w != 1 || n != 3 {
		t.Fatalf("Ticks = (%d, %d), want (1, 3)", w, n)
	}
	want := []float64{0, 0, 0, 0, 0, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 5e-4, 5e-4, 5e-4}
	for step, w := range want {
		if got := s.LR(step); got != w {
			t.Errorf("LR(%d) = %v, want %v", step, got, w)
		}
	}
	if got := s.ZeroLRCycles(); got != 1 {
		t.Errorf("ZeroLRCycles = %d, want 1", got)
	}
	if got := s.Cycles(); got != 3 {
		t.Errorf("Cycles = %d, want 3", got)
	}
	// The same schedule from a warm-up ratio: ⌈0.2·3⌉ = 1 tick.
	r := scheduleTestNew(t, ScheduleConfig{BaseLR: 1e-3, TotalSteps: 15, WarmupRatio: 0.2, StepsPerCycle: 5})
	for step, w := range want {
		if got := r.LR(step); got != w {
			t.Errorf("ratio 0.2, default kind and horizon: LR(%d) = %v, want %v", step, got, w)
		}
	}
}

// TestScheduleOriginalCosineLog reproduces the original's logged learning
// rates (hift-algorithm.md §6): faithful horizon, cosine over 2146 steps, no
// warm-up, k = 35, base 1e-5.
func TestScheduleOriginalCosineLog(t *testing.T) {
	s := scheduleTestNew(t, ScheduleConfig{
		Kind: ScheduleCosine, BaseLR: 1e-5, TotalSteps: 2146, StepsPerCycle: 35, Horizon: HorizonFaithful,
	})
	if w, n := s.Ticks(); w != 0 || n != 2146 {
		t.Fatalf("Ticks = (%d, %d), want (0, 2146)", w, n)
	}
	cases := []struct {
		step int
		want float64
	}{
		{0, 1e-05}, {34, 1e-05},
		{35, 9.999994642277187e-06}, {69, 9.999994642277187e-06},
		{70, 9.99997856912023e-06},
		{105, 9.999951780563573e-06},
	}
	for _, c := range cases {
		if got := s.LR(c.step); math.Abs(got-c.want) > 1e-18 {
			t.Errorf("LR(%d) = %.17g, want %.17g", c.step, got, c.want)
		}
	}
	if got := s.ZeroLRCycles(); got != 0 {
		t.Errorf("ZeroLRCycles = %d, want 0", got)
	}
}

// TestScheduleRobertaCoLAFaithful is the RoBERTa-large CoLA example of §6:
// 106,900 steps, k = 26, warm-up ratio 0.02 under the faithful horizon.
func TestScheduleRobertaCoLAFaithful(t *testing.T) {
	base := 1e-5 // a variable: expected values use float64 arithmetic, as LR does
	s := scheduleTestNew(t, ScheduleConfig{
		Kind: ScheduleLinear, BaseLR: base, TotalSteps: 106900, WarmupRatio: 0.02, StepsPerCycle: 26, Horizon: HorizonFaithful,
	})
	w, n := s.Ticks()
	if w != 2138 || n != 106900 {
		t.Fatalf("Ticks = (%d, %d), want (2138, 106900)", w, n)
	}
	// Warm-up lasts 2,138 ticks = 55,588 real steps (52 % of training).
	if got := s.LR(55587); got != base*(2137.0/2138.0) || got >= base {
		t.Errorf("LR(55587) = %v, want %v", got, base*(2137.0/2138.0))
	}
	if got := s.LR(55588); got != base {
		t.Errorf("LR(55588) = %v, want the peak %v", got, base)
	}
	if got := s.LR(25); got != 0 {
		t.Errorf("LR(25) = %v, want 0 (first cycle)", got)
	}
	if got, want := s.LR(26), base*(1.0/2138.0); got != want {
		t.Errorf("LR(26) = %v, want %v", got, want)
	}
	// 4,111 ticks in total; the final lr is ≈ 0.98 of the peak.
	if got := s.Tick(106899); got != 4111 {
		t.Errorf("Tick(last step) = %d, want 4111", got)
	}
	final := s.LR(106899)
	if want := base * (106900.0 - 4111.0) / (106900.0 - 2138.0); math.Abs(final-want) > 1e-20 {
		t.Errorf("final LR = %v, want %v", final, want)
	}
	if r := final / base; r < 0.98 || r > 0.982 {
		t.Errorf("final LR ratio = %v, want ≈ 0.98", r)
	}
	if got := s.ZeroLRCycles(); got != 1 {
		t.Errorf("ZeroLRCycles = %d, want 1", got)
	}
	// The same run under the cycles horizon completes its schedule:
	// N = ⌈106900/26⌉ = 4112 ticks, W = ⌈0.02·4112⌉ = 83 ticks.
	c := scheduleTestNew(t, ScheduleConfig{
		Kind: ScheduleLinear, BaseLR: base, TotalSteps: 106900, WarmupRatio: 0.02, StepsPerCycle: 26,
	})
	if w, n := c.Ticks(); w != 83 || n != 4112 {
		t.Errorf("cycles horizon: Ticks = (%d, %d), want (83, 4112)", w, n)
	}
	if got, want := c.LR(106899), base*(1.0/(4112.0-83.0)); got != want {
		t.Errorf("cycles horizon: final LR = %v, want %v", got, want)
	}
}

// TestScheduleLlamaE2EFaithful: 26,290 steps, k = 35, linear, no warm-up →
// 751 ticks, final lr ≈ 0.971 · 5e-5.
func TestScheduleLlamaE2EFaithful(t *testing.T) {
	s := scheduleTestNew(t, ScheduleConfig{
		Kind: ScheduleLinear, BaseLR: 5e-5, TotalSteps: 26290, StepsPerCycle: 35, Horizon: HorizonFaithful,
	})
	if got := s.Tick(26289); got != 751 {
		t.Errorf("Tick(last step) = %d, want 751", got)
	}
	r := s.LR(26289) / 5e-5
	if math.Abs(r-(26290.0-751.0)/26290.0) > 1e-15 || math.Abs(r-0.971) > 0.001 {
		t.Errorf("final LR ratio = %v, want ≈ 0.971", r)
	}
}

// TestScheduleFullFineTuning: with k = 1 the scheduler ticks every step and
// both horizons are HF's plain schedule.
func TestScheduleFullFineTuning(t *testing.T) {
	for _, kind := range []ScheduleKind{ScheduleConstant, ScheduleLinear, ScheduleCosine, ScheduleConstantWithWarmup} {
		for _, h := range []Horizon{HorizonCycles, HorizonFaithful} {
			for _, cfg := range []ScheduleConfig{
				{WarmupSteps: 3},
				{WarmupRatio: 0.1},
				{},
			} {
				cfg.Kind, cfg.Horizon, cfg.BaseLR, cfg.TotalSteps, cfg.StepsPerCycle = kind, h, 2e-4, 37, 1
				s := scheduleTestNew(t, cfg)
				w, n := s.Ticks()
				wantW := cfg.WarmupSteps
				if wantW == 0 {
					wantW = int(math.Ceil(cfg.WarmupRatio * 37))
				}
				if w != wantW || n != 37 {
					t.Errorf("%s %s %+v: Ticks = (%d, %d), want (%d, 37)", kind, h, cfg, w, n, wantW)
				}
				for step := range 40 {
					if got, want := s.LR(step), 2e-4*Lambda(kind, step, wantW, 37); got != want {
						t.Errorf("%s %s: LR(%d) = %v, want %v", kind, h, step, got, want)
					}
				}
			}
		}
	}
}

func TestScheduleTicksHorizons(t *testing.T) {
	cases := []struct {
		name         string
		cfg          ScheduleConfig
		wantW, wantN int
	}{
		{"cycles ratio", ScheduleConfig{TotalSteps: 100, StepsPerCycle: 7, WarmupRatio: 0.1}, 2, 15},
		{"faithful ratio", ScheduleConfig{TotalSteps: 100, StepsPerCycle: 7, WarmupRatio: 0.1, Horizon: HorizonFaithful}, 10, 100},
		{"cycles steps", ScheduleConfig{TotalSteps: 100, StepsPerCycle: 5, WarmupSteps: 13}, 3, 20},
		{"faithful steps", ScheduleConfig{TotalSteps: 100, StepsPerCycle: 5, WarmupSteps: 13, Horizon: HorizonFaithful}, 13, 100},
		{"steps beat ratio", ScheduleConfig{TotalSteps: 100, StepsPerCycle: 5, WarmupSteps: 13, WarmupRatio: 0.5}, 3, 20},
		{"no warm-up", ScheduleConfig{TotalSteps: 100, StepsPerCycle: 35}, 0, 3},
		{"zero steps", ScheduleConfig{TotalSteps: 0, StepsPerCycle: 4, WarmupRatio: 0.5}, 0, 0},
		{"ratio 1", ScheduleConfig{TotalSteps: 10, StepsPerCycle: 3, WarmupRatio: 1}, 4, 4},
	}
	for _, c := range cases {
		c.cfg.BaseLR = 1
		s := scheduleTestNew(t, c.cfg)
		if w, n := s.Ticks(); w != c.wantW || n != c.wantN {
			t.Errorf("%s: Ticks = (%d, %d), want (%d, %d)", c.name, w, n, c.wantW, c.wantN)
		}
	}
}

func TestScheduleLRConstantWithinCycle(t *testing.T) {
	for _, kind := range []ScheduleKind{ScheduleLinear, ScheduleCosine, ScheduleConstantWithWarmup} {
		s := scheduleTestNew(t, ScheduleConfig{Kind: kind, BaseLR: 3e-4, TotalSteps: 130, WarmupRatio: 0.2, StepsPerCycle: 13})
		w, n := s.Ticks()
		for step := range 130 {
			tick := step / 13
			if got, want := s.LR(step), 3e-4*Lambda(kind, tick, w, n); got != want {
				t.Fatalf("%s: LR(%d) = %v, want base·λ(%d) = %v", kind, step, got, tick, want)
			}
		}
		// The cycles horizon finishes: the linear schedule's last cycle is
		// the last tick before λ reaches 0.
		if kind == ScheduleLinear {
			if got, want := s.LR(129), 3e-4*(1.0/float64(n-w)); got != want {
				t.Errorf("linear final LR = %v, want %v", got, want)
			}
		}
	}
}

func TestScheduleLambdaTable(t *testing.T) {
	c34 := 0.5 * (1 + math.Cos(math.Pi*0.25))
	cases := []struct {
		kind                ScheduleKind
		tick, warmup, horiz int
		want                float64
	}{
		// constant ignores warm-up.
		{ScheduleConstant, 0, 5, 10, 1},
		{ScheduleConstant, 7, 0, 5, 1},
		{ScheduleConstant, 100, 0, 5, 1},
		// linear, W = 2, N = 6.
		{ScheduleLinear, 0, 2, 6, 0},
		{ScheduleLinear, 1, 2, 6, 0.5},
		{ScheduleLinear, 2, 2, 6, 1},
		{ScheduleLinear, 3, 2, 6, 0.75},
		{ScheduleLinear, 4, 2, 6, 0.5},
		{ScheduleLinear, 5, 2, 6, 0.25},
		{ScheduleLinear, 6, 2, 6, 0},
		{ScheduleLinear, 9, 2, 6, 0},
		// linear without warm-up, and degenerate horizons.
		{ScheduleLinear, 0, 0, 4, 1},
		{ScheduleLinear, 1, 0, 4, 0.75},
		{ScheduleLinear, 0, 0, 0, 0},
		{ScheduleLinear, 0, 3, 3, 0},
		{ScheduleLinear, 3, 3, 3, 0},
		{ScheduleLinear, 1, 0, 1, 0},
		{"", 1, 2, 6, 0.5}, // empty kind = linear
		// cosine, W = 2, N = 6.
		{ScheduleCosine, 0, 2, 6, 0},
		{ScheduleCosine, 1, 2, 6, 0.5},
		{ScheduleCosine, 2, 2, 6, 1},
		{ScheduleCosine, 3, 2, 6, c34},
		{ScheduleCosine, 4, 2, 6, 0.5},
		{ScheduleCosine, 5, 2, 6, 1 - c34},
		{ScheduleCosine, 6, 2, 6, 0},
		{ScheduleCosine, 8, 2, 6, 0.5}, // HF does not clamp progress
		{ScheduleCosine, 0, 0, 0, 1},
		{ScheduleCosine, 1, 0, 2146, 0.5 * (1 + math.Cos(math.Pi*(1.0/2146.0)))},
		// constant_with_warmup, W = 4.
		{ScheduleConstantWithWarmup, 0, 4, 10, 0},
		{ScheduleConstantWithWarmup, 1, 4, 10, 0.25},
		{ScheduleConstantWithWarmup, 3, 4, 10, 0.75},
		{ScheduleConstantWithWarmup, 4, 4, 10, 1},
		{ScheduleConstantWithWarmup, 50, 4, 10, 1},
		{ScheduleConstantWithWarmup, 0, 0, 10, 1},
	}
	for _, c := range cases {
		got := Lambda(c.kind, c.tick, c.warmup, c.horiz)
		if math.Abs(got-c.want) > 1e-15 || got < 0 {
			t.Errorf("Lambda(%q, s=%d, W=%d, N=%d) = %.17g, want %.17g", c.kind, c.tick, c.warmup, c.horiz, got, c.want)
		}
	}
	// Linear and warm-up values are exact divisions, as in HF.
	if got := Lambda(ScheduleLinear, 1, 0, 3); got != 2.0/3.0 {
		t.Errorf("Lambda(linear, 1, 0, 3) = %.17g, want 2/3 exactly", got)
	}
	if got := Lambda(ScheduleCosine, 1, 3, 9); got != 1.0/3.0 {
		t.Errorf("Lambda(cosine, 1, 3, 9) = %.17g, want 1/3 exactly", got)
	}
}

func TestScheduleZeroLRCycles(t *testing.T) {
	cases := []struct {
		name string
		cfg  ScheduleConfig
		want int
	}{
		{"no warm-up", ScheduleConfig{Kind: ScheduleLinear, BaseLR: 1, TotalSteps: 50, StepsPerCycle: 5}, 0},
		{"warm-up", ScheduleConfig{Kind: ScheduleCosine, BaseLR: 1, TotalSteps: 50, StepsPerCycle: 5, WarmupSteps: 20}, 1},
		{"constant ignores warm-up", ScheduleConfig{Kind: ScheduleConstant, BaseLR: 1, TotalSteps: 50, StepsPerCycle: 5, WarmupSteps: 20}, 0},
		{"zero base", ScheduleConfig{Kind: ScheduleLinear, BaseLR: 0, TotalSteps: 52, StepsPerCycle: 5}, 11},
		{"zero steps", ScheduleConfig{Kind: ScheduleLinear, BaseLR: 1, TotalSteps: 0, StepsPerCycle: 5, WarmupRatio: 0.5}, 0},
		// Warm-up over the whole horizon (W = N = 4): still only λ(0) = 0.
		{"full warm-up", ScheduleConfig{Kind: ScheduleLinear, BaseLR: 1, TotalSteps: 20, StepsPerCycle: 5, WarmupRatio: 1}, 1},
	}
	for _, c := range cases {
		s := scheduleTestNew(t, c.cfg)
		if got := s.ZeroLRCycles(); got != c.want {
			t.Errorf("%s: ZeroLRCycles = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestScheduleErrors(t *testing.T) {
	ok := ScheduleConfig{Kind: ScheduleLinear, BaseLR: 1e-3, TotalSteps: 10, StepsPerCycle: 2}
	cases := []struct {
		name string
		edit func(*ScheduleConfig)
		want string
	}{
		{"k = 0", func(c *ScheduleConfig) { c.StepsPerCycle = 0 }, "steps per cycle"},
		{"k < 0", func(c *ScheduleConfig) { c.StepsPerCycle = -3 }, "steps per cycle"},
		{"negative total", func(c *ScheduleConfig) { c.TotalSteps = -1 }, "total steps"},
		{"negative warm-up", func(c *ScheduleConfig) { c.WarmupSteps = -1 }, "warm-up steps"},
		{"ratio < 0", func(c *ScheduleConfig) { c.WarmupRatio = -0.01 }, "warm-up ratio"},
		{"ratio > 1", func(c *ScheduleConfig) { c.WarmupRatio = 1.5 }, "warm-up ratio"},
		{"ratio NaN", func(c *ScheduleConfig) { c.WarmupRatio = math.NaN() }, "warm-up ratio"},
		{"unknown kind", func(c *ScheduleConfig) { c.Kind = "polynomial" }, "unknown kind"},
		{"unknown horizon", func(c *ScheduleConfig) { c.Horizon = "forever" }, "unknown horizon"},
		{"negative lr", func(c *ScheduleConfig) { c.BaseLR = -1e-3 }, "learning rate"},
		{"NaN lr", func(c *ScheduleConfig) { c.BaseLR = math.NaN() }, "learning rate"},
		{"Inf lr", func(c *ScheduleConfig) { c.BaseLR = math.Inf(1) }, "learning rate"},
	}
	if _, err := NewSchedule(ok); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for _, c := range cases {
		cfg := ok
		c.edit(&cfg)
		_, err := NewSchedule(cfg)
		if err == nil {
			t.Errorf("%s: NewSchedule succeeded, want an error", c.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "schedule: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want prefix \"schedule: \" and %q", c.name, err, c.want)
		}
	}
}

func TestSchedulePanics(t *testing.T) {
	s := scheduleTestNew(t, ScheduleConfig{BaseLR: 1, TotalSteps: 10, StepsPerCycle: 2})
	for name, f := range map[string]func(){
		"LR(-1)":         func() { s.LR(-1) },
		"Tick(-1)":       func() { s.Tick(-1) },
		"Lambda unknown": func() { Lambda("polynomial", 0, 0, 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
}
