package graph

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/safetensors"
)

// LoadWeights reads every parameter and buffer of m from a checkpoint as float32 tensors, by HF name.
// Any missing, unexpected or mis-shaped tensor is an error that lists all of them; nothing is ever initialised
// at random. A tied alias present in the file (e.g. lm_head.weight) must equal its owner and is not loaded twice.
func LoadWeights(m *Model, ckpt *safetensors.Checkpoint) (map[string]*tensors.Tensor, error) {
	where := strings.Join(ckpt.Files(), ", ")
	var missing, unexpected, misshaped []string
	out := map[string]*tensors.Tensor{}
	expected := map[string]ParamSpec{}
	for _, p := range m.Params {
		expected[p.Name] = p
	}
	buffers := map[string]ParamSpec{}
	for _, p := range m.Buffers {
		buffers[p.Name] = p
	}
	for _, name := range ckpt.Names() {
		spec, ok := expected[name]
		if !ok {
			spec, ok = buffers[name]
		}
		if !ok {
			if owner, tied := m.Tied[name]; tied {
				a, errA := ckpt.Bytes(name)
				b, errB := ckpt.Bytes(owner)
				if errA == nil && errB == nil && bytes.Equal(a, b) {
					continue
				}
				unexpected = append(unexpected, fmt.Sprintf("%s (tied to %s but different)", name, owner))
				continue
			}
			unexpected = append(unexpected, name)
			continue
		}
		info, _ := ckpt.Info(name)
		if !slices.Equal(info.Shape, spec.Shape) {
			misshaped = append(misshaped, fmt.Sprintf("%s: file %v, model expects %v", name, info.Shape, spec.Shape))
			continue
		}
		if !info.DType.IsFloat() {
			misshaped = append(misshaped, fmt.Sprintf("%s: dtype %s is not a float type", name, info.DType))
			continue
		}
		data, err := ckpt.Float32(name)
		if err != nil {
			return nil, fmt.Errorf("weights: %w", err)
		}
		out[name] = tensors.FromFlatDataAndDimensions(data, spec.Shape...)
	}
	for _, p := range m.Params {
		if _, ok := out[p.Name]; !ok && !contains(misshaped, p.Name+":") {
			missing = append(missing, p.Name)
		}
	}
	if len(missing)+len(unexpected)+len(misshaped) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "weights: %s does not match %s (%s):", where, m.Class, m.Config.Path)
		for _, l := range []struct {
			what  string
			names []string
		}{{"missing", missing}, {"unexpected", unexpected}, {"wrong shape or dtype", misshaped}} {
			if len(l.names) > 0 {
				sort.Strings(l.names)
				fmt.Fprintf(&b, "\n  %s (%d): %s", l.what, len(l.names), strings.Join(l.names, "\n    "))
			}
		}
		return nil, fmt.Errorf("%s", b.String())
	}
	return out, nil
}

func contains(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// LoadModel reads config.json and the safetensors weights of a checkpoint folder and builds the model.
func LoadModel(dir string) (*Model, map[string]*tensors.Tensor, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, nil, err
	}
	m, err := NewModel(cfg)
	if err != nil {
		return nil, nil, err
	}
	ck, err := safetensors.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	defer ck.Close()
	w, err := LoadWeights(m, ck)
	if err != nil {
		return nil, nil, err
	}
	return m, w, nil
}
