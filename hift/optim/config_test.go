package optim

import (
	"strings"
	"testing"
)

func TestDefaults(t *testing.T) {
	for _, name := range Names() {
		c, err := Defaults(name)
		if err != nil {
			t.Fatalf("Defaults(%q): %v", name, err)
		}
		if c.Name != name {
			t.Errorf("Defaults(%q).Name = %q", name, c.Name)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Defaults(%q) does not validate: %v", name, err)
		}
		r, err := New(c)
		if err != nil || r.Config().Name != name {
			t.Errorf("New(Defaults(%q)) = %v, %v", name, r, err)
		}
	}
	want := map[string]Config{
		"adamw":     {Name: "adamw", LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-2},
		"adamw_hf":  {Name: "adamw_hf", LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-6, CorrectBias: true},
		"adam":      {Name: "adam", LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		"sgd":       {Name: "sgd", LR: 1e-3},
		"adagrad":   {Name: "adagrad", LR: 1e-2, Eps: 1e-10},
		"adafactor": {Name: "adafactor", LR: 1e-3, Eps: 1e-30, Eps2: 1e-3, ClipThreshold: 1, DecayRate: -0.8, ScaleParameter: true, RelativeStep: true},
		"rmsprop":   {Name: "rmsprop", LR: 1e-2, Alpha: 0.99, Eps: 1e-8},
		"lion":      {Name: "lion", LR: 1e-4, Beta1: 0.9, Beta2: 0.99},
	}
	for name, w := range want {
		if c, _ := Defaults(name); c != w {
			t.Errorf("Defaults(%q) = %+v\nwant %+v", name, c, w)
		}
	}
	if c, err := Defaults("adamw_torch"); err != nil || c.Name != "adamw" {
		t.Errorf("Defaults(adamw_torch) = %+v, %v", c, err)
	}
	if _, err := Defaults("adamax"); err == nil || !strings.Contains(err.Error(), "unknown optimizer") {
		t.Errorf("Defaults(adamax) error = %v", err)
	}
}

func TestValidate(t *testing.T) {
	d := func(name string, edit func(*Config)) Config {
		c := mustDefaults(t, name, nil)
		edit(&c)
		return c
	}
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{Name: "nadam"}, "unknown optimizer"},
		{d("adamw", func(c *Config) { c.LR = -1 }), "invalid learning rate"},
		{d("adamw", func(c *Config) { c.LR = nan() }), "lr must be finite"},
		{d("adamw", func(c *Config) { c.Beta1 = 1 }), "invalid beta1"},
		{d("adam", func(c *Config) { c.Beta2 = -0.1 }), "invalid beta2"},
		{d("adamw_hf", func(c *Config) { c.Eps = 0 }), "invalid eps"},
		{d("adamw", func(c *Config) { c.WeightDecay = -0.1 }), "invalid weight_decay"},
		{d("sgd", func(c *Config) { c.Nesterov = true }), "Nesterov momentum requires"},
		{d("sgd", func(c *Config) { c.Nesterov, c.Momentum, c.Dampening = true, 0.9, 0.1 }), "zero dampening"},
		{d("sgd", func(c *Config) { c.Momentum = -0.9 }), "invalid momentum"},
		{d("adagrad", func(c *Config) { c.LRDecay = -1 }), "invalid lr_decay"},
		{d("adagrad", func(c *Config) { c.InitialAccumulatorValue = -1 }), "invalid initial_accumulator_value"},
		{d("adagrad", func(c *Config) { c.Eps = -1 }), "invalid eps"},
		{d("adafactor", func(c *Config) { c.LRSet = true }), "cannot combine manual lr and relative_step"},
		{d("adafactor", func(c *Config) { c.RelativeStep, c.WarmupInit = false, true }), "warmup_init=true requires relative_step"},
		{d("adafactor", func(c *Config) { c.ClipThreshold = 0 }), "invalid clip_threshold"},
		{d("adafactor", func(c *Config) { c.DecayRate = 0.5 }), "invalid decay_rate"},
		{d("adafactor", func(c *Config) { c.Eps = 0 }), "invalid eps1"},
		{d("adafactor", func(c *Config) { c.Beta1Set, c.Beta1 = true, 1.5 }), "invalid beta1"},
		{d("rmsprop", func(c *Config) { c.Alpha = 1.5 }), "invalid alpha"},
		{d("rmsprop", func(c *Config) { c.Momentum = -1 }), "invalid momentum"},
		{d("lion", func(c *Config) { c.Beta2 = 1.1 }), "invalid beta2"},
	}
	for _, b := range bad {
		err := b.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", b.cfg, err, b.want)
			continue
		}
		if _, err2 := New(b.cfg); err2 == nil {
			t.Errorf("New accepted a config Validate rejects: %v", err)
		}
		t.Logf("%s", err)
	}
	good := []Config{
		d("sgd", func(c *Config) { c.Nesterov, c.Momentum = true, 0.9 }),
		d("adafactor", func(c *Config) { c.RelativeStep, c.ScaleParameter, c.LRSet = false, false, true }),
		d("adafactor", func(c *Config) { c.WarmupInit = true }),
		d("lion", func(c *Config) { c.Beta1, c.Beta2 = 1, 1 }),
		d("adamw", func(c *Config) { c.Name, c.LR = "adamw_torch", 0 }),
	}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", c, err)
		}
	}
}

func nan() float64 { var z float64; return z / z }

func TestStateBytes(t *testing.T) {
	d := func(name string, edit func(*Config)) Config {
		c := mustDefaults(t, name, nil)
		if edit != nil {
			edit(&c)
		}
		return c
	}
	big := []int{4096, 4096}
	const nBig = 4096 * 4096
	cases := []struct {
		name  string
		cfg   Config
		shape []int
		want  int64
	}{
		{"adamw matrix", d("adamw", nil), big, 8 * nBig},
		{"adamw amsgrad", d("adamw", func(c *Config) { c.AMSGrad = true }), big, 12 * nBig},
		{"adamw_hf", d("adamw_hf", nil), []int{10}, 80},
		{"adam", d("adam", nil), []int{3, 5}, 120},
		{"sgd", d("sgd", nil), big, 0},
		{"sgd momentum", d("sgd", func(c *Config) { c.Momentum = 0.9 }), big, 4 * nBig},
		{"adagrad", d("adagrad", nil), big, 4 * nBig},
		{"adafactor matrix", d("adafactor", nil), big, 4 * 8192},
		{"adafactor vector", d("adafactor", nil), []int{4096}, 4 * 4096},
		{"adafactor scalar", d("adafactor", nil), []int{}, 4},
		{"adafactor 3-d", d("adafactor", nil), []int{2, 3, 4}, 4 * (2*3 + 2*4)},
		{"adafactor beta1 matrix", d("adafactor", func(c *Config) { c.Beta1Set, c.Beta1 = true, 0.9 }), []int{3, 5}, 4 * (3 + 5 + 15)},
		{"rmsprop", d("rmsprop", nil), []int{10}, 40},
		{"rmsprop centered momentum", d("rmsprop", func(c *Config) { c.Centered, c.Momentum = true, 0.9 }), []int{10}, 120},
		{"lion", d("lion", nil), big, 4 * nBig},
		{"unknown", Config{Name: "nadam"}, big, 0},
	}
	for _, c := range cases {
		if got := StateBytes(c.cfg, c.shape); got != c.want {
			t.Errorf("%s: StateBytes(%v) = %d, want %d", c.name, c.shape, got, c.want)
		}
		if r, err := New(c.cfg); err == nil {
			if got := r.StateBytes(c.shape); got != c.want {
				t.Errorf("%s: Rule.StateBytes(%v) = %d, want %d", c.name, c.shape, got, c.want)
			}
		}
	}
}
