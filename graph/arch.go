package graph

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// Task is what the model's head computes.
type Task string

// Tasks.
const (
	TaskCausalLM       Task = "causal_lm"
	TaskSeqCls         Task = "seq_cls"
	TaskTokenCls       Task = "token_cls"
	TaskQA             Task = "qa"
	TaskMultipleChoice Task = "multiple_choice"
)

// Arch is one architecture family (one HF model_type), registered by its own file.
type Arch struct {
	// ModelType is HF's model_type ("llama").
	ModelType string
	// Classes maps each supported HF class name (architectures[0]) to its task.
	Classes map[string]Task
	// Build makes the model description for a config and task.
	Build func(cfg *Config, task Task) (*Model, error)
}

// registry holds the architectures; it is filled by init functions only and read-only afterwards.
var registry = map[string]*Arch{}

// Register adds an architecture. It is called from the init function of the architecture's file and panics
// on a duplicate model type or class.
func Register(a Arch) {
	if _, dup := registry[a.ModelType]; dup {
		panic("graph: architecture registered twice: " + a.ModelType)
	}
	for cls := range a.Classes {
		for _, other := range registry {
			if _, dup := other.Classes[cls]; dup {
				panic("graph: class registered twice: " + cls)
			}
		}
	}
	registry[a.ModelType] = &a
}

// SupportedClasses lists every registered HF class name, sorted.
func SupportedClasses() []string {
	var out []string
	for _, a := range registry {
		for c := range a.Classes {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// Lookup finds the architecture and task of a config: by architectures[0] first, then by model_type (which
// then defaults to the causal LM class when the family has one).
func Lookup(cfg *Config) (*Arch, string, Task, error) {
	if cls := cfg.Class(); cls != "" {
		for _, a := range registry {
			if t, ok := a.Classes[cls]; ok {
				return a, cls, t, nil
			}
		}
		return nil, "", "", withKind(ErrUnsupportedArchitecture, fmt.Errorf("%s: unsupported architecture %q (model_type %q); supported: %s",
			cfg.Path, cls, cfg.ModelType, strings.Join(SupportedClasses(), ", ")))
	}
	if a, ok := registry[cfg.ModelType]; ok {
		for cls, t := range a.Classes {
			if t == TaskCausalLM {
				return a, cls, t, nil
			}
		}
	}
	return nil, "", "", withKind(ErrUnsupportedArchitecture, fmt.Errorf("%s: unsupported model_type %q and no architectures entry; supported: %s",
		cfg.Path, cfg.ModelType, strings.Join(SupportedClasses(), ", ")))
}

// NewModel looks up the architecture of cfg and builds its model description.
func NewModel(cfg *Config) (*Model, error) {
	a, cls, task, err := Lookup(cfg)
	if err != nil {
		return nil, err
	}
	m, err := a.Build(cfg, task)
	if err != nil {
		if !errors.Is(err, ErrUnsupportedArchitecture) {
			err = withKind(ErrBadConfig, err) // the family could not build from the config's values
		}
		return nil, fmt.Errorf("%s: %s: %w", cfg.Path, cls, err)
	}
	m.Class, m.Task, m.Config = cls, task, cfg
	if err := m.checkUnits(); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", cfg.Path, cls, err)
	}
	return m, nil
}

// ParamSpec describes one tensor the model expects in the checkpoint, by its HF name.
type ParamSpec struct {
	Name  string
	Shape []int
	// NoDecay marks biases and norm weights, which HF Trainer excludes from weight decay.
	NoDecay bool
}

// NumElements is the product of the shape.
func (p ParamSpec) NumElements() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Unit is a HiFT unit: the smallest piece trained as a whole (an embedding, a block, a norm, a head).
type Unit struct {
	// Name is the HF module path ("model.layers.3").
	Name string
	// Params are the HF names of its parameters.
	Params []string
}

// Model is an architecture instantiated for one config and task: its expected tensors, HiFT units and forward.
type Model struct {
	Config *Config
	Class  string
	Task   Task
	// Params are the trainable parameters in HF's named_parameters order (tied duplicates excluded).
	Params []ParamSpec
	// Buffers are persistent non-parameter tensors HF writes to the checkpoint (e.g. GPT-NeoX inv_freq).
	// They are loaded when present and never trained.
	Buffers []ParamSpec
	// BufferValues holds the content of buffers that is computed from the config (e.g. rotary inv_freq), by
	// name, so that synthetic checkpoints (RandomWeights, hift init) carry what HF would save.
	BufferValues map[string][]float32
	// Tied maps a tied alias (e.g. "lm_head.weight") to the parameter it shares storage with.
	Tied map[string]string
	// Units are the HiFT units in depth order (embeddings first).
	Units []Unit
	// BasePrefix is HF's base_model_prefix of the class followed by a dot ("transformer.", "model.",
	// "gpt_neox.", "bert.", "roberta."). A checkpoint in which no tensor name starts with it holds the bare base
	// model (e.g. the original gpt2 and opt-125m files): its names are read as if they had the prefix, and the
	// head's names are taken as they are, as HF's from_pretrained does.
	BasePrefix string
	// IgnoreKeys match model-side names (after BasePrefix is added) of checkpoint tensors that are skipped without
	// being read: HF's _keys_to_ignore_on_load_unexpected and the buffers older versions saved but current
	// ones keep out of the state dict (attention masks, rotary inv_freq, position_ids). They are reported, never
	// silently dropped (LoadReport.Ignored, Inspection.Ignored).
	IgnoreKeys []*regexp.Regexp
	// Forward builds the computation; it reads weights by HF name.
	Forward func(w Weights, b *Batch) *Outputs
	// Decoder, when set, generates token by token against a key/value cache (causal LMs that support it).
	Decoder *Decoder
	// LoRA is set on a model derived by WithLoRA: Params are the adapters (and the task head), the base
	// weights are frozen Buffers.
	LoRA *LoRAConfig
	// ggufEmbeddings and ggufPooling are set by GGUFExportEmbeddings: an encoder written as llama.cpp's
	// embedding model, its head dropped.
	ggufEmbeddings bool
	ggufPooling    int
}

// ignoreKeys compiles the IgnoreKeys patterns of an architecture file; each is anchored at both ends.
func ignoreKeys(patterns ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		out[i] = regexp.MustCompile("^(?:" + p + ")$")
	}
	return out
}

// Ignored reports whether a model-side tensor name matches one of m.IgnoreKeys.
func (m *Model) Ignored(name string) bool {
	for _, re := range m.IgnoreKeys {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

// Param returns the spec of a parameter or buffer by name.
func (m *Model) Param(name string) (ParamSpec, bool) {
	for _, p := range m.Params {
		if p.Name == name {
			return p, true
		}
	}
	for _, p := range m.Buffers {
		if p.Name == name {
			return p, true
		}
	}
	return ParamSpec{}, false
}

// NumParameters counts the trainable parameters.
func (m *Model) NumParameters() int64 {
	var n int64
	for _, p := range m.Params {
		n += int64(p.NumElements())
	}
	return n
}

// checkUnits verifies that every parameter is in exactly one unit and every unit's parameters exist.
func (m *Model) checkUnits() error {
	owner := map[string]string{}
	var problems []string
	known := map[string]bool{}
	for _, p := range m.Params {
		known[p.Name] = true
	}
	for _, u := range m.Units {
		if len(u.Params) == 0 {
			problems = append(problems, fmt.Sprintf("unit %q has no parameters", u.Name))
		}
		for _, p := range u.Params {
			if !known[p] {
				problems = append(problems, fmt.Sprintf("unit %q lists unknown parameter %q", u.Name, p))
			}
			if o, dup := owner[p]; dup {
				problems = append(problems, fmt.Sprintf("parameter %q is in units %q and %q", p, o, u.Name))
			}
			owner[p] = u.Name
		}
	}
	for _, p := range m.Params {
		if _, ok := owner[p.Name]; !ok {
			problems = append(problems, fmt.Sprintf("parameter %q is in no unit", p.Name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("HiFT unit list is inconsistent: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Weights gives the graph nodes of the model's tensors by HF name.
type Weights map[string]*Node

// Get returns the node of a tensor; a missing name is a programming error of the architecture file.
func (w Weights) Get(name string) *Node {
	n, ok := w[name]
	if !ok {
		panicf("graph: weight %q is not bound", name)
	}
	return n
}

// Batch holds the graph inputs of one batch; nil fields are absent.
type Batch struct {
	InputIDs       *Node // [B, T] int64 (multiple choice: [B, C, T])
	AttentionMask  *Node // [B, T] int64, 1 = real token
	TokenTypeIDs   *Node // [B, T] int64
	Labels         *Node // causal LM / token cls: [B, T]; seq cls: [B] (int64) or [B] / [B, L] (float)
	StartPositions *Node // [B] int64 (QA)
	EndPositions   *Node // [B] int64 (QA)
}

// Outputs are what a forward pass produces; nil fields are not computed by the task.
type Outputs struct {
	Logits      *Node
	StartLogits *Node
	EndLogits   *Node
	Loss        *Node   // scalar, when labels are given
	Hidden      []*Node // HF output_hidden_states
}

// BatchInputNames are the batch tensor names a forward accepts, in graph-input order.
var BatchInputNames = []string{"input_ids", "attention_mask", "token_type_ids", "labels", "start_positions", "end_positions"}

func (b *Batch) field(name string) **Node {
	switch name {
	case "input_ids":
		return &b.InputIDs
	case "attention_mask":
		return &b.AttentionMask
	case "token_type_ids":
		return &b.TokenTypeIDs
	case "labels":
		return &b.Labels
	case "start_positions":
		return &b.StartPositions
	case "end_positions":
		return &b.EndPositions
	}
	return nil
}

// Decoder runs a causal LM one token at a time against a key/value cache.
type Decoder struct {
	// CacheShapes lists the float32 cache tensors for a batch size and a maximum length.
	CacheShapes func(batch, maxLen int) [][]int
	// Step computes the logits [B, V] of token ids [B] at position pos (int32 scalar; every row at the same
	// position) and returns the updated cache.
	Step func(w Weights, ids, pos *Node, cache []*Node) (*Node, []*Node)
}
