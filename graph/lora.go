package graph

// LoRA (hift-algorithm.md §8): y = W·x + (α/r)·B·A·x on target modules, A [r, in] Kaiming-uniform (a = √5),
// B [out, r] zeros, base weights frozen; PEFT-compatible names and defaults. The adapters hook into LinearW and
// GPT-2's Conv1D through the Weights map: a module with "<prefix>.lora_A.weight" gets the low-rank path.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// LoRAConfig configures the adapters.
type LoRAConfig struct {
	R       int      // rank (default 8)
	Alpha   float64  // scaling numerator: the update is (Alpha/R)·B·A (default 32)
	Targets []string // module names (the last path element, e.g. "q_proj"); default: PEFT's for the model type
}

// loraTargets are PEFT's default target modules by model_type (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING).
var loraTargets = map[string][]string{
	"llama": {"q_proj", "v_proj"}, "mistral": {"q_proj", "v_proj"}, "qwen2": {"q_proj", "v_proj"},
	"opt": {"q_proj", "v_proj"}, "gpt_neo": {"q_proj", "v_proj"}, "gpt2": {"c_attn"},
	"gpt_neox": {"query_key_value"}, "bert": {"query", "value"}, "roberta": {"query", "value"},
}

// LoRAScaleSuffix names the scaling constant bound next to each adapted module in Weights.
const loraScaleSuffix = ".lora_scale"

// withLoRA adds (α/r)·B·A·x to y when the module at prefix has adapters bound.
func withLoRA(w Weights, prefix string, x, y *Node) *Node {
	a, ok := w[prefix+".lora_A.weight"]
	if !ok {
		return y
	}
	b := w.Get(prefix + ".lora_B.weight")
	low := DotGeneral(x, []int{x.Rank() - 1}, nil, a, []int{1}, nil)    // [..., r]
	up := DotGeneral(low, []int{low.Rank() - 1}, nil, b, []int{1}, nil) // [..., out]
	return Add(y, Mul(up, w.Get(prefix+loraScaleSuffix)))
}

// WithLoRA derives the LoRA model of base: its trainable parameters are the adapters (and the task head, as
// PEFT's modules_to_save), its units are the blocks that hold adapters plus the head, and every base weight
// becomes a frozen buffer. Adapter names are HF names + ".lora_A.weight" / ".lora_B.weight".
func WithLoRA(base *Model, cfg LoRAConfig) (*Model, error) {
	if cfg.R == 0 {
		cfg.R = 8
	}
	if cfg.Alpha == 0 {
		cfg.Alpha = 32
	}
	if cfg.R < 1 {
		return nil, fmt.Errorf("lora: rank must be >= 1, got %d", cfg.R)
	}
	if len(cfg.Targets) == 0 {
		cfg.Targets = loraTargets[base.Config.ModelType]
		if len(cfg.Targets) == 0 {
			return nil, fmt.Errorf("lora: no default target modules for model_type %q; name them", base.Config.ModelType)
		}
	}
	m := &Model{Config: base.Config, Class: base.Class, Task: base.Task, Tied: base.Tied, BasePrefix: base.BasePrefix,
		IgnoreKeys: base.IgnoreKeys, LoRA: &cfg}
	m.Buffers = append(append([]ParamSpec{}, base.Params...), base.Buffers...)
	headUnit := -1
	if base.Task != TaskCausalLM && len(base.Units) > 0 {
		headUnit = len(base.Units) - 1 // classifier / score / qa_outputs: trained in full (modules_to_save)
	}
	var targets []string
	unitOf := map[string]int{}
	for ui, u := range base.Units {
		for _, p := range u.Params {
			unitOf[p] = ui
		}
	}
	found := map[string]bool{}
	for ui, u := range base.Units {
		unit := Unit{Name: u.Name}
		if ui == headUnit {
			unit.Params = append(unit.Params, u.Params...)
			for _, p := range u.Params {
				spec, _ := base.Param(p)
				m.Params = append(m.Params, spec)
			}
		} else {
			for _, p := range u.Params {
				module, ok := strings.CutSuffix(p, ".weight")
				if !ok {
					continue
				}
				last := module[strings.LastIndexByte(module, '.')+1:]
				spec, _ := base.Param(p)
				if !slices.Contains(cfg.Targets, last) || len(spec.Shape) != 2 {
					continue
				}
				found[last] = true
				in, out := spec.Shape[1], spec.Shape[0]
				if base.Config.ModelType == "gpt2" { // Conv1D stores [in, out]
					in, out = spec.Shape[0], spec.Shape[1]
				}
				a := ParamSpec{Name: module + ".lora_A.weight", Shape: []int{cfg.R, in}}
				b := ParamSpec{Name: module + ".lora_B.weight", Shape: []int{out, cfg.R}}
				m.Params = append(m.Params, a, b)
				unit.Params = append(unit.Params, a.Name, b.Name)
				targets = append(targets, module)
			}
		}
		if len(unit.Params) > 0 {
			m.Units = append(m.Units, unit)
		}
	}
	var missing []string
	for _, t := range cfg.Targets {
		if !found[t] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("lora: target module(s) %s not found among %s's linear layers", strings.Join(missing, ", "), base.Class)
	}
	scale := cfg.Alpha / float64(cfg.R)
	m.Forward = func(w Weights, b *Batch) *Outputs {
		g := b.InputIDs.Graph()
		for _, t := range targets {
			w[t+loraScaleSuffix] = Scalar(g, dtypes.Float32, scale)
		}
		return base.Forward(w, b)
	}
	return m, nil
}

// InitLoRA creates the adapters of m as PEFT does: A Kaiming-uniform with a = √5 (U(±1/√in)), B zeros.
func InitLoRA(m *Model, seed uint64) map[string]*tensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0x6c6f7261))
	out := map[string]*tensors.Tensor{}
	for _, p := range m.Params {
		switch {
		case strings.HasSuffix(p.Name, ".lora_A.weight"):
			bound := 1 / math.Sqrt(float64(p.Shape[1]))
			vals := make([]float32, p.NumElements())
			for i := range vals {
				vals[i] = float32((2*rng.Float64() - 1) * bound)
			}
			out[p.Name] = tensors.FromFlatDataAndDimensions(vals, p.Shape...)
		case strings.HasSuffix(p.Name, ".lora_B.weight"):
			out[p.Name] = tensors.FromFlatDataAndDimensions(make([]float32, p.NumElements()), p.Shape...)
		}
	}
	return out
}

// MergeLoRA returns the base weights with every adapter folded in: W + (α/r)·B·A (GPT-2's Conv1D: the
// transpose), so the result loads as a plain HF checkpoint.
func MergeLoRA(m *Model, weights map[string]*tensors.Tensor) (map[string]*tensors.Tensor, error) {
	if m.LoRA == nil {
		return nil, fmt.Errorf("lora: %s has no adapters", m.Class)
	}
	scale := m.LoRA.Alpha / float64(m.LoRA.R)
	out := map[string]*tensors.Tensor{}
	for _, p := range m.Buffers {
		if t, ok := weights[p.Name]; ok {
			out[p.Name] = t
		}
	}
	for _, p := range m.Params {
		module, isA := strings.CutSuffix(p.Name, ".lora_A.weight")
		switch {
		case isA:
			a := tensors.MustCopyFlatData[float32](weights[p.Name])
			bT := weights[module+".lora_B.weight"]
			b := tensors.MustCopyFlatData[float32](bT)
			base := weights[module+".weight"]
			wv := tensors.MustCopyFlatData[float32](base)
			r, in := p.Shape[0], p.Shape[1]
			outDim := bT.Shape().Dimensions[0]
			conv := m.Config.ModelType == "gpt2"
			for o := 0; o < outDim; o++ {
				for i := 0; i < in; i++ {
					var d float64
					for k := 0; k < r; k++ {
						d += float64(b[o*r+k]) * float64(a[k*in+i])
					}
					idx := o*in + i // nn.Linear [out, in]
					if conv {
						idx = i*outDim + o // Conv1D [in, out]
					}
					wv[idx] += float32(scale * d)
				}
			}
			out[module+".weight"] = tensors.FromFlatDataAndDimensions(wv, base.Shape().Dimensions...)
		case strings.HasSuffix(p.Name, ".lora_B.weight"):
		default:
			out[p.Name] = weights[p.Name] // the trained head
		}
	}
	return out, nil
}
