package graph

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/safetensors"
	"github.com/hift-go/hift/io/torchbin"
)

// TensorRow is one tensor of an inspected checkpoint.
type TensorRow struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	Bytes int64  `json:"bytes"`
	File  string `json:"file"`
}

// Inspection describes a checkpoint folder or safetensors file.
type Inspection struct {
	Path         string   `json:"path"`
	Files        []string `json:"files"`
	Architecture string   `json:"architecture,omitempty"` // HF class, when config.json is found and supported
	ModelType    string   `json:"model_type,omitempty"`
	Task         Task     `json:"task,omitempty"`
	ArchError    string   `json:"architecture_error,omitempty"` // why no architecture was detected
	// Parameters counts the elements of the floating-point tensors in the files, less the ignored ones.
	Parameters int64     `json:"parameters"`
	Bytes      int64     `json:"bytes"`
	Units      []UnitRow `json:"units,omitempty"`
	// AddedPrefix is the base-model prefix the loader adds to a bare base-model checkpoint's names.
	AddedPrefix string `json:"added_prefix,omitempty"`
	// Ignored are the tensors the loader skips unread (the architecture's IgnoreKeys, e.g. GPT-2's attn.bias).
	Ignored []string `json:"ignored,omitempty"`
	// Missing and Unexpected are what loading would report by name (shapes and dtypes are not checked here).
	Missing    []string `json:"missing,omitempty"`
	Unexpected []string `json:"unexpected,omitempty"`
	// Problems are the tensors whose shape or dtype does not match the config, and a config that cannot
	// describe the file (more layers than tensors); inspect exits non-zero when there are any.
	Problems []string          `json:"problems,omitempty"`
	Tensors  []TensorRow       `json:"tensors"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// UnitRow is one HiFT unit with its parameter count.
type UnitRow struct {
	Name       string `json:"name"`
	Parameters int64  `json:"parameters"`
}

// Inspect reads the safetensors header(s) at path (a folder, an index or a file) and, when a config.json sits
// beside them, the architecture it describes and how the tensor names match it. No tensor data is read.
func Inspect(path string) (*Inspection, error) {
	ck, err := torchbin.Open(path) // safetensors, or pytorch_model.bin read safely
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	in := &Inspection{Path: path, Files: ck.Files(), Metadata: ck.Metadata()}
	fileOf := func(info safetensors.TensorInfo) string { return filepath.Base(info.File) }
	if torchbin.HasTorchWeights(path) { // served through a temporary copy: name the .bin files
		binFiles, binOf, err := torchbin.Sources(path)
		if err != nil {
			return nil, err
		}
		in.Files, fileOf = binFiles, func(info safetensors.TensorInfo) string { return binOf(info.Name) }
	}
	for _, name := range ck.Names() {
		info, _ := ck.Info(name)
		row := TensorRow{Name: name, DType: string(info.DType), Shape: info.Shape,
			Bytes: info.Offsets[1] - info.Offsets[0], File: fileOf(info)}
		in.Tensors = append(in.Tensors, row)
		in.Bytes += row.Bytes
		if info.DType.IsFloat() {
			in.Parameters += int64(info.NumElements())
		}
	}
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir = filepath.Dir(path)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		cfg, err := LoadConfig(dir)
		if err == nil {
			in.ModelType = cfg.ModelType
			if layers := cfg.Sizes().Layers; layers > len(ck.Names()) {
				// Checked before building the model, which would list every layer's parameters.
				err = fmt.Errorf("%s describes %d layers, but the weights hold only %d tensors", cfg.Path, layers, len(ck.Names()))
				in.Problems = append(in.Problems, err.Error())
			}
		}
		if err == nil {
			var m *Model
			class := strings.Join(cfg.Architectures, ",")
			m, err = NewModel(cfg)
			headless := false
			if err != nil {
				// A bare encoder (BertModel/RobertaModel, as hift import writes llama.cpp's bert GGUFs) has no
				// class of its own: described as the encoder without a head.
				if hm, ok, _, herr := GGUFExportModel(cfg); herr == nil && ok {
					m, err, headless = hm, nil, true
				}
			}
			if err == nil {
				in.Architecture, in.Task = m.Class, m.Task
				if headless {
					in.Architecture, in.Task = class+" (encoder without a task head)", "embeddings"
				}
				nm := m.MatchNames(ck.Names())
				in.AddedPrefix, in.Ignored, in.Missing, in.Unexpected = nm.AddedPrefix, nm.Ignored, nm.Missing, nm.Unexpected
				for _, name := range nm.Ignored {
					if info, _ := ck.Info(name); info.DType.IsFloat() {
						in.Parameters -= int64(info.NumElements())
					}
				}
				specs := map[string]ParamSpec{} // one look-up table: m.Param is a linear search
				for _, p := range append(append([]ParamSpec(nil), m.Params...), m.Buffers...) {
					if _, dup := specs[p.Name]; !dup {
						specs[p.Name] = p
					}
				}
				units := m.Units
				if headless && len(units) > 0 {
					units = units[:len(units)-1] // the stand-in head GGUFExportModel built on
				}
				for _, u := range units {
					var n int64
					for _, p := range u.Params {
						n += int64(specs[p].NumElements())
					}
					in.Units = append(in.Units, UnitRow{Name: u.Name, Parameters: n})
				}
				in.Problems = append(in.Problems, mismatches(ck, specs, nm.AddedPrefix)...)
			}
		}
		if err != nil {
			in.ArchError = err.Error()
		}
	} else {
		in.ArchError = "no config.json beside the weights"
	}
	return in, nil
}

// mismatches lists the checkpoint tensors whose shape differs from the config's or whose dtype is not a float.
func mismatches(ck interface {
	Names() []string
	Info(string) (safetensors.TensorInfo, bool)
}, specs map[string]ParamSpec, prefix string) []string {
	var out []string
	for _, name := range ck.Names() {
		spec, ok := specs[name]
		if !ok {
			spec, ok = specs[prefix+name]
		}
		if !ok {
			continue
		}
		info, _ := ck.Info(name)
		if !slices.Equal(info.Shape, spec.Shape) {
			out = append(out, fmt.Sprintf("%s: shape %v in %s, config.json implies %v", name, info.Shape, filepath.Base(info.File), spec.Shape))
		} else if !info.DType.IsFloat() {
			out = append(out, fmt.Sprintf("%s: dtype %s in %s, a weight must be floating point", name, info.DType, filepath.Base(info.File)))
		}
	}
	return out
}

// ToSafetensors converts GoMLX tensors to safetensors records (float32, float64, int64, int32 and bool).
func ToSafetensors(ts map[string]*tensors.Tensor) ([]safetensors.Tensor, error) {
	var out []safetensors.Tensor
	for _, name := range SortedKeys(ts) {
		t := ts[name]
		var dt safetensors.DType
		switch t.DType() {
		case dtypes.Float32:
			dt = safetensors.DType("F32")
		case dtypes.Float64:
			dt = safetensors.DType("F64")
		case dtypes.Int64:
			dt = safetensors.DType("I64")
		case dtypes.Int32:
			dt = safetensors.DType("I32")
		case dtypes.Bool:
			dt = safetensors.DType("BOOL")
		default:
			return nil, fmt.Errorf("tensor %q: dtype %s cannot be written", name, t.DType())
		}
		var data []byte
		if err := t.ConstBytes(func(b []byte) { data = append([]byte(nil), b...) }); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		out = append(out, safetensors.Tensor{Name: name, DType: dt, Shape: t.Shape().Dimensions, Data: data})
	}
	return out, nil
}
