package graph

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hift-go/hift/io/gguf"
)

// GGUF LoRA adapters in llama.cpp's format (convert_lora_to_gguf.py): general.type=adapter, adapter.type=lora,
// adapter.lora.alpha, and per adapted module <gguf weight name>.lora_a ([r, in]) and .lora_b ([out, r]), B's
// rows permuted/regrouped exactly as the base weight's rows are (llama q/k, gpt-neox qkv). llama.cpp scales
// B·A by alpha/r, as PEFT does.

// GGUFAdapter converts PEFT adapters (names as in the model: "<module>.lora_A.weight", "<module>.lora_B.weight")
// of the base model m to GGUF keys and float32 tensors. base serves the base weights' shapes (the converter's
// name map is the base export's); alpha is adapter_config.json's lora_alpha.
func GGUFAdapter(m *Model, base, adapter GGUFWeights, names []string, alpha float64, name string) ([]gguf.KV, []gguf.Tensor, error) {
	conv, ok := ggufConverters[m.Config.ModelType]
	if !ok {
		return nil, nil, fmt.Errorf("gguf: model_type %q has no llama.cpp architecture hift can write", m.Config.ModelType)
	}
	gm, err := conv(m, base)
	if err != nil {
		return nil, nil, err
	}
	byHF := map[string]ggufSource{}
	for _, s := range gm.tensors {
		byHF[s.hf] = s
	}
	modules := map[string]bool{}
	for _, n := range names {
		mod, ok := strings.CutSuffix(n, ".lora_A.weight")
		if !ok {
			mod, ok = strings.CutSuffix(n, ".lora_B.weight")
		}
		if !ok {
			return nil, nil, fmt.Errorf("gguf: adapter tensor %q is not a LoRA A/B matrix (llama.cpp adapters carry only lora_a/lora_b: modules_to_save and trained biases cannot be exported; merge the adapter and export the model instead)", n)
		}
		modules[mod] = true
	}
	if len(modules) == 0 {
		return nil, nil, fmt.Errorf("gguf: the adapter holds no LoRA tensors")
	}
	sorted := make([]string, 0, len(modules))
	for mod := range modules {
		sorted = append(sorted, mod)
	}
	sort.Strings(sorted)
	var out []gguf.Tensor
	rank := 0
	for _, mod := range sorted {
		src, ok := byHF[mod+".weight"]
		if !ok {
			return nil, nil, fmt.Errorf("gguf: adapter module %q has no weight in the %s GGUF map", mod, gm.arch)
		}
		aShape, okA := adapter.Shape(mod + ".lora_A.weight")
		bShape, okB := adapter.Shape(mod + ".lora_B.weight")
		if !okA || !okB || len(aShape) != 2 || len(bShape) != 2 {
			return nil, nil, fmt.Errorf("gguf: adapter module %q needs 2-D lora_A and lora_B", mod)
		}
		out0, in0 := src.shape[0], src.shape[1] // GGUF-side [out, in]
		if aShape[1] != in0 || bShape[0] != out0 || aShape[0] != bShape[1] {
			return nil, nil, fmt.Errorf("gguf: adapter module %q: lora_A %v and lora_B %v do not fit the weight [%d, %d]", mod, aShape, bShape, out0, in0)
		}
		if rank != 0 && aShape[0] != rank {
			return nil, nil, fmt.Errorf("gguf: adapter module %q has rank %d, the others %d (one adapter file has one alpha, so one rank)", mod, aShape[0], rank)
		}
		rank = aShape[0]
		aName, bName, rows := mod+".lora_A.weight", mod+".lora_B.weight", src.rows
		out = append(out,
			gguf.Tensor{Name: src.name + ".lora_a", Type: gguf.TypeF32, Shape: aShape, Encode: func() ([]byte, error) {
				v, err := adapter.Float32(aName)
				if err != nil {
					return nil, err
				}
				return gguf.Quantize(gguf.TypeF32, v, aShape[1])
			}},
			gguf.Tensor{Name: src.name + ".lora_b", Type: gguf.TypeF32, Shape: bShape, Encode: func() ([]byte, error) {
				v, err := adapter.Float32(bName)
				if err != nil {
					return nil, err
				}
				if rows != nil {
					v = rows(v, bShape)
				}
				return gguf.Quantize(gguf.TypeF32, v, bShape[1])
			}})
	}
	kvs := []gguf.KV{kv("general.architecture", gm.arch), kv("general.type", "adapter"), kv("general.name", name),
		kv("adapter.type", "lora"), kv("adapter.lora.alpha", float32(alpha))}
	return kvs, out, nil
}
