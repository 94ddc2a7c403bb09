package graph

import (
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/gguf"
)

// GGUF conversion of Qwen2 (llama.cpp's "qwen2"): the LLaMA layout and keys under qwen2., biases on q/k/v,
// q/k rows kept in HF's order (llama.cpp runs Qwen2 with NEOX-style rotary), as convert_hf_to_gguf.py's
// Qwen2Model writes it.

func init() {
	ggufConverters["qwen2"] = func(m *Model, w GGUFWeights) (*ggufModel, error) {
		c, err := DecodeQwen2Config(m.Config)
		if err != nil {
			return nil, err
		}
		return llamaLayoutGGUF(m, w, c, "qwen2", false)
	}
	ggufImporters["qwen2"] = func(g *gguf.File) (map[string]any, map[string]*tensors.Tensor, error) {
		return llamaLayoutFromGGUF(g, "qwen2", "Qwen2ForCausalLM", false)
	}
}
