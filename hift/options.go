package hift

import (
	"fmt"

	hgraph "github.com/hift-go/hift/graph"

	"github.com/hift-go/hift/hift/optim"
)

// Options configure a training run. The zero value is not usable: start from DefaultOptions.
type Options struct {
	// Queue (HiFT): m units per group, strategy, freezing (unit indices or names), rotate/partition.
	GroupSize          int       `json:"group_size"`
	Strategy           Strategy  `json:"strategy"`
	Mode               GroupMode `json:"mode"`
	Seed               int64     `json:"seed"`
	ReshuffleEachCycle bool      `json:"reshuffle_each_cycle"`
	FreezeLayers       []string  `json:"freeze_layers,omitempty"`
	// UnitOrder is "depth" (default) or "registration" (the original's order, for paper reproductions).
	UnitOrder string `json:"unit_order,omitempty"`
	// Full runs plain full fine-tuning: every parameter every step (the baseline); the schedule ticks per step.
	Full bool `json:"full"`

	Optimizer optim.Config `json:"optimizer"`
	// DecayNormAndBias applies weight decay to biases and norm weights too (HF Trainer excludes them).
	DecayNormAndBias bool `json:"decay_norm_and_bias"`
	// MaxGradNorm clips the active group's gradients by their global norm; 0 disables.
	MaxGradNorm float64 `json:"max_grad_norm"`

	LRScheduler ScheduleKind `json:"lr_scheduler"`
	WarmupSteps int          `json:"warmup_steps"`
	WarmupRatio float64      `json:"warmup_ratio"`
	LRHorizon   Horizon      `json:"lr_horizon"`

	// GradAccum micro-batches are accumulated into one optimizer step of the same active group.
	GradAccum int `json:"grad_accum"`
	// Steps is the number of optimizer steps; when 0, Epochs over the data decide.
	Steps     int     `json:"steps"`
	Epochs    float64 `json:"epochs"`
	BatchSize int     `json:"batch_size"`
	Shuffle   bool    `json:"shuffle"`
	DropLast  bool    `json:"drop_last"`

	// Offload keeps inactive groups' optimizer state in host memory (HiFT); Prefetch uploads the next group's
	// state while the current step runs.
	Offload  bool `json:"offload"`
	Prefetch bool `json:"prefetch"`

	// Precision is "fp32" (everything float32) or "bf16" (Mixed^Hi: bfloat16 weights on the device, float32
	// masters in host memory, the active group's master, gradients and state in float32 on the device for its
	// step, written back to bfloat16 with round-to-nearest-even).
	Precision string `json:"precision"`

	// Task, when set, switches the checkpoint to its family's class for that task (causal_lm, seq_cls,
	// token_cls, qa, multiple_choice) with NumLabels classes; InitHead creates the new head (HF's
	// initialisation) and drops the checkpoint's unused tensors, both listed in the load report.
	Task      string `json:"task,omitempty"`
	NumLabels int    `json:"num_labels,omitempty"`
	InitHead  bool   `json:"init_head,omitempty"`
	// LabelNames, when set, become the saved config's id2label/label2id (class i is LabelNames[i]).
	LabelNames []string `json:"label_names,omitempty"`
	// PadToken (with its id PadTokenID) pads a tokenizer that has no pad token: written as pad_token_id into the
	// config and as pad_token into tokenizer_config.json (and special_tokens_map.json when present).
	PadToken   string `json:"pad_token,omitempty"`
	PadTokenID int    `json:"pad_token_id,omitempty"`

	// LoRA trains low-rank adapters (and the task head) instead of the full model; HiFT then rotates over the
	// blocks that hold adapters. The base weights stay frozen.
	LoRA *hgraph.LoRAConfig `json:"lora,omitempty"`

	// MaxSkippedSteps stops the run after this many consecutive steps skipped for a non-finite loss or gradient
	// norm (0: DefaultMaxSkippedSteps; negative: never).
	MaxSkippedSteps int `json:"max_skipped_steps,omitempty"`

	// EvalEvery runs the evaluation set (Trainer.SetEval) every N steps (0: only at the end).
	EvalEvery int `json:"eval_every"`

	// Output receives the final model, periodic checkpoints (checkpoint-<step>/) and metrics.jsonl.
	Output         string `json:"-"`
	SaveEvery      int    `json:"-"`
	SaveTotalLimit int    `json:"-"`
}

// Precisions.
const (
	PrecisionFP32 = "fp32"
	PrecisionBF16 = "bf16"
)

// DefaultOptions returns HF-Trainer-like defaults with HiFT m=1 down2up and AdamW (torch).
func DefaultOptions() Options {
	o, _ := optim.Defaults("adamw")
	o.LR = 5e-5
	o.WeightDecay = 0
	return Options{
		GroupSize: 1, Strategy: StrategyDown2Up, Mode: GroupModeRotate, Seed: 42,
		Optimizer: o, MaxGradNorm: 1, LRScheduler: ScheduleLinear, LRHorizon: HorizonCycles,
		GradAccum: 1, Epochs: 1, BatchSize: 8, Shuffle: true, Offload: true, Prefetch: true, Precision: PrecisionFP32,
	}
}

// Validate reports every problem at once.
func (o *Options) Validate() error {
	var errs []error
	if o.GroupSize < 1 {
		errs = append(errs, fmt.Errorf("group size must be >= 1, got %d", o.GroupSize))
	}
	if o.GradAccum < 1 {
		errs = append(errs, fmt.Errorf("gradient accumulation must be >= 1, got %d", o.GradAccum))
	}
	if o.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("batch size must be >= 1, got %d", o.BatchSize))
	}
	if o.Steps < 0 || (o.Steps == 0 && o.Epochs <= 0) {
		errs = append(errs, fmt.Errorf("give --steps > 0 or --epochs > 0"))
	}
	if o.MaxGradNorm < 0 {
		errs = append(errs, fmt.Errorf("max grad norm must be >= 0, got %g", o.MaxGradNorm))
	}
	if o.Precision != "" && o.Precision != PrecisionFP32 && o.Precision != PrecisionBF16 {
		errs = append(errs, fmt.Errorf("precision must be fp32 or bf16 (Mixed^Hi), got %q (fp16 needs loss scaling and the XLA backend: not yet)", o.Precision))
	}
	if o.SaveEvery < 0 || o.SaveTotalLimit < 0 {
		errs = append(errs, fmt.Errorf("save-every and save-total-limit must be >= 0"))
	}
	if err := o.Optimizer.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil
	}
	msg := "invalid training options:"
	for _, e := range errs {
		msg += "\n  " + e.Error()
	}
	return fmt.Errorf("%s", msg)
}
