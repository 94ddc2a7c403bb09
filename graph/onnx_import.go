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
// Initializers torch.onnx.export renamed "onnx::MatMul_<n>" (transposed nn.Linear weights, as in optimum's
// files) are mapped back through the name of the MatMul node that reads them. Initializers that are not
// parameters or buffers of the model are listed in the error, never dropped; so are missing and mis-shaped ones.
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
	renamed := torchRenamed(mp.GetGraph())
	seen := map[string]string{}
	for _, init := range mp.GetGraph().GetInitializer() {
		name, transposed := init.GetName(), false
		if hf, ok := renamed[name]; ok {
			name, transposed = hf, true
		}
		spec, ok := m.Param(name)
		owner, tied := m.Tied[name]
		if !ok && !tied {
			unmapped = append(unmapped, fmt.Sprintf("%s %s %v", init.GetName(), onnx.DTypeName(init.GetDataType()), init.GetDims()))
			continue
		}
		if prev, dup := seen[name]; dup {
			misshaped = append(misshaped, fmt.Sprintf("%s: given twice (initializers %s and %s)", name, prev, init.GetName()))
			continue
		}
		seen[name] = init.GetName()
		vals, err := onnx.TensorFloat32(init, dir)
		if err != nil {
			return nil, nil, fmt.Errorf("onnx import: %s: %w", path, err)
		}
		shape := onnx.Shape(init)
		if transposed { // torch's MatMul operand [in, out] back to nn.Linear's [out, in]
			vals, shape = onnxTranspose2D(vals, shape)
		}
		if tied {
			aliases[name] = vals
			spec, _ = m.Param(owner)
		}
		if !slices.Equal(shape, spec.Shape) {
			misshaped = append(misshaped, fmt.Sprintf("%s: file %v, model expects %v", init.GetName(), shape, spec.Shape))
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

// torchRenamed finds the initializers torch.onnx.export (and so optimum) renamed "onnx::MatMul_<n>": an
// nn.Linear weight stored transposed ([in, out]) and read only by one MatMul node named after the module path
// ("/model/layers.0/self_attn/q_proj/MatMul"). It maps each to the HF name of the weight
// ("model.layers.0.self_attn.q_proj.weight").
func torchRenamed(g *onnx.GraphProto) map[string]string {
	users := map[string][]*onnx.NodeProto{}
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			users[in] = append(users[in], n)
		}
	}
	out := map[string]string{}
	for _, init := range g.GetInitializer() {
		name := init.GetName()
		u := users[name]
		if !strings.HasPrefix(name, "onnx::MatMul_") || len(init.GetDims()) != 2 || len(u) != 1 || u[0].GetOpType() != "MatMul" || len(u[0].GetInput()) != 2 || u[0].GetInput()[1] != name {
			continue
		}
		module, _, ok := strings.Cut(strings.TrimPrefix(u[0].GetName(), "/"), "/MatMul")
		if !ok || module == "" {
			continue
		}
		out[name] = strings.ReplaceAll(module, "/", ".") + ".weight"
	}
	return out
}

// onnxTranspose2D transposes a row-major [r, c] matrix.
func onnxTranspose2D(vals []float32, shape []int) ([]float32, []int) {
	r, c := shape[0], shape[1]
	t := make([]float32, len(vals))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			t[j*r+i] = vals[i*c+j]
		}
	}
	return t, []int{c, shape[0]}
}
