package hift

// Learning-rate schedules for HiFT: HF's LambdaLR schedules, ticked once per
// HiFT cycle (every k optimizer steps) as in the original implementation.
// See /work/shared/design/hift-algorithm.md §6.

import (
	"fmt"
	"math"
)

// ScheduleKind names one of HF transformers' learning-rate schedules.
type ScheduleKind string

const (
	// ScheduleConstant keeps λ = 1 (HF get_constant_schedule; warm-up ignored).
	ScheduleConstant ScheduleKind = "constant"
	// ScheduleLinear is HF get_linear_schedule_with_warmup, the default (the
	// empty ScheduleKind means ScheduleLinear, as HF's lr_scheduler_type).
	ScheduleLinear ScheduleKind = "linear"
	// ScheduleCosine is HF get_cosine_schedule_with_warmup with num_cycles 0.5.
	ScheduleCosine ScheduleKind = "cosine"
	// ScheduleConstantWithWarmup is HF get_constant_schedule_with_warmup.
	ScheduleConstantWithWarmup ScheduleKind = "constant_with_warmup"
)

// Horizon selects how the scheduler's warm-up and horizon are measured.
type Horizon string

const (
	// HorizonCycles (the default; the empty Horizon means HorizonCycles)
	// measures the schedule in ticks, i.e. cycles: N = ⌈TotalSteps/k⌉ and
	// W = ⌈WarmupSteps/k⌉ or ⌈WarmupRatio·N⌉, so the schedule the user asked
	// for actually completes by the end of training.
	HorizonCycles Horizon = "cycles"
	// HorizonFaithful reproduces the original: HF's scheduler is built with
	// N = TotalSteps and W = WarmupSteps or ⌈WarmupRatio·TotalSteps⌉ but ticked
	// only once per cycle, so only TotalSteps/k ticks ever happen (linear decay
	// ends near (1 − 1/k)·lr, warm-up lasts k times longer).
	HorizonFaithful Horizon = "faithful"
)

// ScheduleConfig describes a learning-rate schedule.
type ScheduleConfig struct {
	// Kind is the schedule's shape; empty means ScheduleLinear.
	Kind ScheduleKind
	// BaseLR is the peak learning rate (finite, ≥ 0).
	BaseLR float64
	// TotalSteps is the number of optimizer steps of the run (HF max_steps), ≥ 0.
	TotalSteps int
	// WarmupSteps, when > 0, is the warm-up length in optimizer steps; it takes
	// precedence over WarmupRatio (as in HF). Must be ≥ 0.
	WarmupSteps int
	// WarmupRatio, used when WarmupSteps is 0, is the warm-up as a fraction
	// of the horizon, in [0, 1].
	WarmupRatio float64
	// StepsPerCycle is k, the number of optimizer steps between scheduler
	// ticks (Queue.StepsPerCycle; 1 under full fine-tuning, ticking every
	// step). Must be ≥ 1.
	StepsPerCycle int
	// Horizon selects how W and N are computed; empty means HorizonCycles.
	Horizon Horizon
}

// Schedule gives the learning rate of every optimizer step. The scheduler
// ticks once per cycle of k steps, so the learning rate is constant within a
// cycle: lr(t) = BaseLR · λ(⌊t/k⌋). As with HF's LambdaLR, which applies
// λ(0) at construction, the first cycle runs at BaseLR·λ(0) (0 under
// warm-up). A Schedule is immutable and safe for concurrent use.
type Schedule struct {
	cfg             ScheduleConfig
	warmup, horizon int // W and N, in ticks
}

// NewSchedule validates cfg and builds the schedule.
func NewSchedule(cfg ScheduleConfig) (*Schedule, error) {
	if cfg.Kind == "" {
		cfg.Kind = ScheduleLinear
	}
	if cfg.Horizon == "" {
		cfg.Horizon = HorizonCycles
	}
	if !scheduleKindKnown(cfg.Kind) {
		return nil, fmt.Errorf("schedule: unknown kind %q (want %q, %q, %q or %q)", cfg.Kind,
			ScheduleConstant, ScheduleLinear, ScheduleCosine, ScheduleConstantWithWarmup)
	}
	switch cfg.Horizon {
	case HorizonCycles, HorizonFaithful:
	default:
		return nil, fmt.Errorf("schedule: unknown horizon %q (want %q or %q)",
			cfg.Horizon, HorizonCycles, HorizonFaithful)
	}
	if cfg.StepsPerCycle < 1 {
		return nil, fmt.Errorf("schedule: steps per cycle k must be at least 1, got %d", cfg.StepsPerCycle)
	}
	if cfg.TotalSteps < 0 {
		return nil, fmt.Errorf("schedule: total steps must not be negative, got %d", cfg.TotalSteps)
	}
	if cfg.WarmupSteps < 0 {
		return nil, fmt.Errorf("schedule: warm-up steps must not be negative, got %d", cfg.WarmupSteps)
	}
	if !(cfg.WarmupRatio >= 0 && cfg.WarmupRatio <= 1) { // also rejects NaN
		return nil, fmt.Errorf("schedule: warm-up ratio must be in [0, 1], got %v", cfg.WarmupRatio)
	}
	if !(cfg.BaseLR >= 0) || math.IsInf(cfg.BaseLR, 0) {
		return nil, fmt.Errorf("schedule: base learning rate must be finite and not negative, got %v", cfg.BaseLR)
	}

	s := &Schedule{cfg: cfg}
	k := cfg.StepsPerCycle
	switch cfg.Horizon {
	case HorizonFaithful:
		s.horizon = cfg.TotalSteps
		if cfg.WarmupSteps > 0 {
			s.warmup = cfg.WarmupSteps
		} else {
			s.warmup = int(math.Ceil(cfg.WarmupRatio * float64(cfg.TotalSteps)))
		}
	case HorizonCycles:
		s.horizon = scheduleCeilDiv(cfg.TotalSteps, k)
		if cfg.WarmupSteps > 0 {
			s.warmup = scheduleCeilDiv(cfg.WarmupSteps, k)
		} else {
			s.warmup = int(math.Ceil(cfg.WarmupRatio * float64(s.horizon)))
		}
	}
	return s, nil
}

// Tick returns the number of scheduler ticks before optimizer step t
// (0-based): ⌊t/k⌋. It panics if t is negative.
func (s *Schedule) Tick(t int) int {
	if t < 0 {
		panic(fmt.Sprintf("schedule: negative step %d", t))
	}
	return t / s.cfg.StepsPerCycle
}

// LR returns the learning rate used by optimizer step t (0-based):
// BaseLR · Lambda(Kind, ⌊t/k⌋, W, N). It panics if t is negative.
func (s *Schedule) LR(t int) float64 {
	return s.cfg.BaseLR * Lambda(s.cfg.Kind, s.Tick(t), s.warmup, s.horizon)
}

// Ticks returns the warm-up length W and the horizon N of the schedule, both
// in scheduler ticks (see Horizon).
func (s *Schedule) Ticks() (warmup, horizon int) { return s.warmup, s.horizon }

// Cycles returns the number of cycles the run starts, ⌈TotalSteps/k⌉ (the last
// one may be partial).
func (s *Schedule) Cycles() int { return scheduleCeilDiv(s.cfg.TotalSteps, s.cfg.StepsPerCycle) }

// ZeroLRCycles returns the number of leading cycles of the run that train at
// learning rate 0 (1 whenever there is a warm-up, since λ(0) = 0; every cycle
// when BaseLR is 0), for a CLI warning: units still take turns and advance
// their optimizer state, but the weights do not move.
func (s *Schedule) ZeroLRCycles() int {
	cycles := s.Cycles()
	c := 0
	for c < cycles && s.LR(c*s.cfg.StepsPerCycle) == 0 {
		c++
	}
	return c
}

// Lambda returns HF transformers' LambdaLR multiplier λ(s) for tick s, warm-up
// W and horizon N (both in ticks), computed in float64 with HF's operation
// order:
//
//	constant:             1
//	linear:               s < W ? s/max(1,W) : max(0, (N−s)/max(1,N−W))
//	cosine:               s < W ? s/max(1,W) : max(0, 0.5·(1 + cos(π·p))), p = (s−W)/max(1,N−W)
//	constant_with_warmup: s < W ? s/max(1,W) : 1
//
// The cosine is HF's num_cycles = 0.5 form, 0.5·(1 + cos(π·0.5·2·p)); like HF
// it does not clamp p, so past the horizon it rises again. An empty kind
// means ScheduleLinear. Lambda panics on an unknown kind (NewSchedule
// rejects those).
func Lambda(kind ScheduleKind, tick, warmup, horizon int) float64 {
	s, w, n := tick, warmup, horizon
	switch kind {
	case ScheduleConstant:
		return 1
	case ScheduleLinear, "":
		if s < w {
			return float64(s) / float64(max(1, w))
		}
		return max(0, float64(n-s)/float64(max(1, n-w)))
	case ScheduleCosine:
		if s < w {
			return float64(s) / float64(max(1, w))
		}
		progress := float64(s-w) / float64(max(1, n-w))
		return max(0, 0.5*(1+math.Cos(math.Pi*0.5*2*progress)))
	case ScheduleConstantWithWarmup:
		if s < w {
			return float64(s) / float64(max(1, w))
		}
		return 1
	}
	panic(fmt.Sprintf("schedule: Lambda: unknown kind %q", kind))
}

// scheduleKindKnown reports whether kind is one of the supported schedules.
func scheduleKindKnown(kind ScheduleKind) bool {
	switch kind {
	case ScheduleConstant, ScheduleLinear, ScheduleCosine, ScheduleConstantWithWarmup:
		return true
	}
	return false
}

// scheduleCeilDiv returns ⌈a/b⌉ for a ≥ 0, b ≥ 1.
func scheduleCeilDiv(a, b int) int { return (a + b - 1) / b }
