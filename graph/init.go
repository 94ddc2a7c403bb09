package graph

import (
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// RandomWeights returns synthetic weights for m, for benchmarks and memory measurements only (checkpoints are
// never initialised at random): matrices ~ N(0, 1/fan_in), norm weights 1, biases 0, from a seeded PCG;
// buffers computed from the config (Model.BufferValues, e.g. rotary inv_freq) get their real values.
func RandomWeights(m *Model, seed uint64) map[string]*tensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0x68696674))
	out := map[string]*tensors.Tensor{}
	for _, p := range append(append([]ParamSpec{}, m.Params...), m.Buffers...) {
		data := make([]float32, p.NumElements())
		switch {
		case m.BufferValues[p.Name] != nil:
			copy(data, m.BufferValues[p.Name])
		case len(p.Shape) >= 2:
			std := 1 / math.Sqrt(float64(p.Shape[len(p.Shape)-1]))
			for i := range data {
				data[i] = float32(rng.NormFloat64() * std)
			}
		case strings.HasSuffix(p.Name, ".bias"):
		default:
			for i := range data {
				data[i] = 1
			}
		}
		out[p.Name] = tensors.FromFlatDataAndDimensions(data, p.Shape...)
	}
	return out
}

// RandomBatch returns a causal-LM batch of B sequences of T token ids below vocab, all real, labels = ids.
func RandomBatch(b, t, vocab int, seed uint64) map[string]*tensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0x62617463))
	ids := make([]int64, b*t)
	mask := make([]int64, b*t)
	for i := range ids {
		ids[i] = int64(rng.IntN(vocab))
		mask[i] = 1
	}
	return map[string]*tensors.Tensor{
		"input_ids":      tensors.FromFlatDataAndDimensions(ids, b, t),
		"attention_mask": tensors.FromFlatDataAndDimensions(mask, b, t),
		"labels":         tensors.FromFlatDataAndDimensions(append([]int64(nil), ids...), b, t),
	}
}
