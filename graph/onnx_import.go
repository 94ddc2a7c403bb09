package graph

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/onnx"
)

// ImportONNX recovers an HF checkpoint from an ONNX model whose initializers carry HF tensor names (hift's
// exports, and optimum's of the same architectures). The config comes from the model's hift.config_json
// metadata, else from cfg (config.json beside the model; nil when absent). dir is the model's folder (for
// external data); path names the model in errors. Float16/bfloat16 initializers are widened to float32.
// Initializers that are not parameters or buffers of the model are listed in the error, never dropped; so are
// missing and mis-shaped ones.
func ImportONNX(mp *onnx.ModelProto, path, dir string, cfg *Config) (*Model, map[string]*tensors.Tensor, error) {
	for _, p := range mp.GetMetadataProps() {
		if p.GetKey() == ONNXMetaConfig {
			c, err := ParseConfig([]byte(p.GetValue()), path+" (metadata "+ONNXMetaConfig+")")
			if err != nil {
				return nil, nil, err
			}
			cfg = c
		}
	}
	if cfg == nil {
		return nil, nil, fmt.Errorf("onnx import: %s: no %s metadata and no config.json beside it; put the model's HF config.json next to it", path, ONNXMetaConfig)
	}
	m, err := NewModel(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("onnx import: %s: %w", path, err)
	}
	out := map[string]*tensors.Tensor{}
	var unmapped, misshaped []string
	aliases := map[string][]float32{}
	for _, init := range mp.GetGraph().GetInitializer() {
		name := init.GetName()
		spec, ok := m.Param(name)
		owner, tied := m.Tied[name]
		if !ok && !tied {
			unmapped = append(unmapped, fmt.Sprintf("%s %s %v", name, onnx.DTypeName(init.GetDataType()), init.GetDims()))
			continue
		}
		vals, err := onnx.TensorFloat32(init, dir)
		if err != nil {
			return nil, nil, fmt.Errorf("onnx import: %s: %w", path, err)
		}
		if tied {
			aliases[name] = vals
			spec, _ = m.Param(owner)
		}
		if !slices.Equal(onnx.Shape(init), spec.Shape) {
			misshaped = append(misshaped, fmt.Sprintf("%s: file %v, model expects %v", name, init.GetDims(), spec.Shape))
			continue
		}
		if !tied {
			out[name] = tensors.FromFlatDataAndDimensions(vals, spec.Shape...)
		}
	}
	for alias, vals := range aliases { // a tied copy must equal its owner
		t, ok := out[m.Tied[alias]]
		if !ok {
			continue // reported as missing below
		}
		same := true
		tensors.MustConstFlatData(t, func(flat []float32) {
			for i := range flat {
				if math.Float32bits(flat[i]) != math.Float32bits(vals[i]) {
					same = false
					break
				}
			}
		})
		if !same {
			misshaped = append(misshaped, fmt.Sprintf("%s: tied to %s but different", alias, m.Tied[alias]))
		}
	}
	var missing []string // buffers (GPT-NeoX inv_freq) are optional, as in HF checkpoints
	for _, p := range m.Params {
		if _, ok := out[p.Name]; !ok {
			missing = append(missing, p.Name)
		}
	}
	if len(unmapped)+len(missing)+len(misshaped) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "onnx import: %s does not map onto %s (%s):", path, m.Class, cfg.Path)
		for _, l := range []struct {
			what  string
			names []string
		}{{"initializers that are not HF tensors of the model", unmapped}, {"missing", missing}, {"wrong shape", misshaped}} {
			if len(l.names) > 0 {
				sort.Strings(l.names)
				fmt.Fprintf(&b, "\n  %s (%d): %s", l.what, len(l.names), strings.Join(l.names, "\n    "))
			}
		}
		return nil, nil, fmt.Errorf("%s", b.String())
	}
	return m, out, nil
}
