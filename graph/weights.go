package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/safetensors"
	"github.com/hift-go/hift/io/torchbin"
)

// NameMatch is how the tensor names of a checkpoint map onto a model's names, decided from the names alone
// (no tensor data is read). See Model.MatchNames.
type NameMatch struct {
	// AddedPrefix is m.BasePrefix when the checkpoint holds the bare base model (no name starts with it) and
	// the base model's names were read with it added; "" when the names are used as they are.
	AddedPrefix string
	// ModelName maps each checkpoint name the model reads (a parameter, a buffer or a tied alias) to the
	// model's name for it.
	ModelName map[string]string
	// Ignored are checkpoint names matched by m.IgnoreKeys: skipped without reading them, whatever their dtype.
	Ignored []string
	// Unexpected are checkpoint names the model neither reads nor ignores.
	Unexpected []string
	// Missing are model parameters the checkpoint lacks.
	Missing []string
}

// MatchNames maps checkpoint tensor names onto the model as HF's from_pretrained does: when no name starts with
// m.BasePrefix the checkpoint is the bare base model, and every name that is not one of the model's own
// unprefixed names (a head, a tied alias) is read with the prefix added. Names matched by m.IgnoreKeys (on the
// model-side name) are ignored. The lists are sorted.
func (m *Model) MatchNames(names []string) *NameMatch {
	known := map[string]bool{}
	for _, p := range m.Params {
		known[p.Name] = true
	}
	for _, p := range m.Buffers {
		known[p.Name] = true
	}
	for alias := range m.Tied {
		known[alias] = true
	}
	nm := &NameMatch{ModelName: map[string]string{}}
	if m.BasePrefix != "" && !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, m.BasePrefix) }) {
		nm.AddedPrefix = m.BasePrefix
	}
	for _, n := range names {
		name := n
		if nm.AddedPrefix != "" && !(known[n] && !strings.HasPrefix(n, m.BasePrefix)) {
			name = nm.AddedPrefix + n
		}
		switch {
		case known[name]:
			nm.ModelName[n] = name
		case m.Ignored(name):
			nm.Ignored = append(nm.Ignored, n)
		default:
			nm.Unexpected = append(nm.Unexpected, n)
		}
	}
	read := map[string]bool{}
	for _, name := range nm.ModelName {
		read[name] = true
	}
	for _, p := range m.Params {
		if !read[p.Name] {
			nm.Missing = append(nm.Missing, p.Name)
		}
	}
	sort.Strings(nm.Ignored)
	sort.Strings(nm.Unexpected)
	sort.Strings(nm.Missing)
	return nm
}

// LoadReport says how a checkpoint was read into a model besides the weights themselves.
type LoadReport struct {
	// AddedPrefix is the BasePrefix added to the names of a bare base-model checkpoint ("" when none was).
	AddedPrefix string
	// Ignored lists the checkpoint's tensors matched by Model.IgnoreKeys, which were skipped without being read.
	Ignored []string
	// TiedCopies lists tied aliases present in the checkpoint (e.g. lm_head.weight), checked equal to their
	// owner and not loaded twice.
	TiedCopies []string
	// Initialised lists the head tensors created because LoadOptions.InitHead was set.
	Initialised []string
	// Dropped lists checkpoint tensors the model has no use for, skipped because LoadOptions.InitHead was set
	// (e.g. a pre-training head such as lm_head.* or cls.* when fine-tuning a classifier).
	Dropped []string
}

// LoadOptions relax loading for starting a new task head from a base or pre-training checkpoint.
type LoadOptions struct {
	// InitHead creates the task head's missing tensors as HF does for a new head (weights ~ N(0,
	// initializer_range), biases 0) and drops tensors the model does not use. Missing tensors outside the head
	// are still an error. Everything created or dropped is listed in the LoadReport.
	InitHead bool
	Seed     uint64
}

// LoadWeights reads every parameter and buffer of m from a checkpoint as float32 tensors, by HF name, as
// LoadWeightsReport does, without the report.
func LoadWeights(m *Model, ckpt *safetensors.Checkpoint) (map[string]*tensors.Tensor, error) {
	w, _, err := LoadWeightsReport(m, ckpt)
	return w, err
}

// LoadWeightsReport reads every parameter and buffer of m from a checkpoint as float32 tensors, keyed by the
// model's HF names, and reports what it ignored. Any missing, unexpected or mis-shaped tensor is an error that
// lists all of them; nothing is ever initialised at random. Names are matched by Model.MatchNames: a bare
// base-model checkpoint gets m.BasePrefix (so a head that is neither in the file nor tied is missing), and
// tensors matched by m.IgnoreKeys are skipped unread, whatever their dtype. A tied alias present in the file
// must equal its owner and is not loaded twice.
func LoadWeightsReport(m *Model, ckpt *safetensors.Checkpoint) (map[string]*tensors.Tensor, *LoadReport, error) {
	return LoadWeightsWith(m, ckpt, LoadOptions{})
}

// LoadWeightsWith is LoadWeightsReport with options.
func LoadWeightsWith(m *Model, ckpt *safetensors.Checkpoint, opts LoadOptions) (map[string]*tensors.Tensor, *LoadReport, error) {
	where := strings.Join(ckpt.Files(), ", ")
	nm := m.MatchNames(ckpt.Names())
	report := &LoadReport{AddedPrefix: nm.AddedPrefix, Ignored: nm.Ignored}
	fileName := make(map[string]string, len(nm.ModelName)) // model name → checkpoint name
	for f, name := range nm.ModelName {
		fileName[name] = f
	}
	unexpected := append([]string(nil), nm.Unexpected...)
	var misshaped []string
	out := map[string]*tensors.Tensor{}
	for _, f := range ckpt.Names() {
		name, ok := nm.ModelName[f]
		if !ok {
			continue // ignored or unexpected
		}
		spec, ok := m.Param(name)
		if !ok {
			owner := m.Tied[name]
			ownerFile, present := fileName[owner]
			if !present {
				ownerFile = owner
			}
			a, errA := ckpt.Bytes(f)
			b, errB := ckpt.Bytes(ownerFile)
			if errA == nil && errB == nil && bytes.Equal(a, b) {
				report.TiedCopies = append(report.TiedCopies, f)
				continue
			}
			unexpected = append(unexpected, fmt.Sprintf("%s (tied to %s but different)", f, owner))
			continue
		}
		info, _ := ckpt.Info(f)
		if !slices.Equal(info.Shape, spec.Shape) {
			misshaped = append(misshaped, fmt.Sprintf("%s: file %v, model expects %v", f, info.Shape, spec.Shape))
			continue
		}
		if !info.DType.IsFloat() {
			misshaped = append(misshaped, fmt.Sprintf("%s: dtype %s is not a float type", f, info.DType))
			continue
		}
		data, err := ckpt.Float32(f)
		if err != nil {
			return nil, nil, fmt.Errorf("weights: %w", err)
		}
		out[name] = tensors.FromFlatDataAndDimensions(data, spec.Shape...)
	}
	missing := nm.Missing
	if opts.InitHead {
		var err error
		if missing, err = initHead(m, missing, out, report, opts.Seed); err != nil {
			return nil, nil, err
		}
		report.Dropped, unexpected = unexpected, nil
		sort.Strings(report.Dropped)
	}
	if len(missing)+len(unexpected)+len(misshaped) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "weights: %s does not match %s (%s):", where, m.Class, configPath(m))
		if nm.AddedPrefix != "" {
			fmt.Fprintf(&b, "\n  no tensor name starts with %q: read as the bare base model, with that prefix added", nm.AddedPrefix)
		}
		for _, l := range []struct {
			what  string
			names []string
		}{{"missing", missing}, {"unexpected", unexpected}, {"wrong shape or dtype", misshaped}} {
			if len(l.names) > 0 {
				sort.Strings(l.names)
				fmt.Fprintf(&b, "\n  %s (%d): %s", l.what, len(l.names), strings.Join(l.names, "\n    "))
			}
		}
		return nil, nil, fmt.Errorf("%s", b.String())
	}
	sort.Strings(report.TiedCopies)
	return out, report, nil
}

// configPath names the config a model was built from, for error messages.
func configPath(m *Model) string {
	if m.Config == nil {
		return "no config"
	}
	return m.Config.Path
}

// LoadModel reads config.json and the safetensors weights of a checkpoint folder and builds the model.
func LoadModel(dir string) (*Model, map[string]*tensors.Tensor, error) {
	m, w, _, err := LoadModelReport(dir)
	return m, w, err
}

// LoadModelReport is LoadModel with the LoadReport of the weights (ignored tensors, added base prefix).
func LoadModelReport(dir string) (*Model, map[string]*tensors.Tensor, *LoadReport, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := NewModel(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	ck, err := torchbin.Open(dir) // safetensors, or pytorch_model.bin read safely
	if err != nil {
		return nil, nil, nil, err
	}
	defer ck.Close()
	w, report, err := LoadWeightsReport(m, ck)
	if err != nil {
		return nil, nil, nil, err
	}
	return m, w, report, nil
}

// initHead creates the missing tensors that belong to the model's head unit (its last unit) or to an encoder's
// pooler, and returns the missing tensors it could not create.
func initHead(m *Model, missing []string, out map[string]*tensors.Tensor, report *LoadReport, seed uint64) ([]string, error) {
	if len(m.Units) == 0 {
		return missing, nil
	}
	head := map[string]bool{}
	for _, p := range m.Units[len(m.Units)-1].Params {
		head[p] = true
	}
	// An encoder's pooler feeds only the sequence-classification head: a base checkpoint saved without it (a
	// BertModel(add_pooling_layer=False), an import from llama.cpp's "bert" GGUF) gets a new one, as HF does.
	for _, u := range m.Units {
		if strings.HasSuffix(u.Name, ".pooler") {
			for _, p := range u.Params {
				head[p] = true
			}
		}
	}
	std := 0.02
	if m.Config != nil && m.Config.Has("initializer_range") {
		var c struct {
			R float64 `json:"initializer_range"`
		}
		if err := m.Config.Decode(&c); err == nil && c.R > 0 {
			std = c.R
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x68656164))
	var rest []string
	for _, name := range missing {
		spec, ok := m.Param(name)
		if !ok || !head[name] {
			rest = append(rest, name)
			continue
		}
		vals := make([]float32, spec.NumElements())
		if !strings.HasSuffix(name, ".bias") && len(spec.Shape) >= 2 {
			for i := range vals {
				vals[i] = float32(rng.NormFloat64() * std)
			}
		} else if !strings.HasSuffix(name, ".bias") { // a norm weight
			for i := range vals {
				vals[i] = 1
			}
		}
		out[name] = tensors.FromFlatDataAndDimensions(vals, spec.Shape...)
		report.Initialised = append(report.Initialised, name)
	}
	sort.Strings(report.Initialised)
	return rest, nil
}

// RetargetConfig switches a config to the model_type's class for task (e.g. a RobertaForMaskedLM checkpoint to
// RobertaForSequenceClassification) and, when numLabels > 0, sets num_labels and a matching id2label/label2id.
func RetargetConfig(cfg *Config, task Task, numLabels int) error {
	a, ok := registry[cfg.ModelType]
	if !ok {
		return withKind(ErrUnsupportedArchitecture, fmt.Errorf("%s: unsupported model_type %q; supported: %s", cfg.Path, cfg.ModelType, strings.Join(SupportedClasses(), ", ")))
	}
	class := ""
	for c, t := range a.Classes {
		if t == task && (class == "" || c < class) {
			class = c
		}
	}
	if class == "" {
		return fmt.Errorf("%s: model_type %q has no class for task %s", cfg.Path, cfg.ModelType, task)
	}
	cfg.Architectures = []string{class}
	cfg.Raw["architectures"], _ = json.Marshal(cfg.Architectures)
	if numLabels > 0 {
		head, _ := cfg.Head()
		if len(head.ID2Label) != numLabels {
			id2 := map[string]string{}
			l2i := map[string]int{}
			for i := 0; i < numLabels; i++ {
				id2[fmt.Sprint(i)] = fmt.Sprintf("LABEL_%d", i)
				l2i[fmt.Sprintf("LABEL_%d", i)] = i
			}
			cfg.Raw["id2label"], _ = json.Marshal(id2)
			cfg.Raw["label2id"], _ = json.Marshal(l2i)
		}
		cfg.Raw["num_labels"], _ = json.Marshal(numLabels)
	}
	return nil
}

// JSON renders the config (with any changes made through RetargetConfig) as config.json bytes.
func (c *Config) JSON() ([]byte, error) {
	return json.MarshalIndent(c.Raw, "", "  ")
}
