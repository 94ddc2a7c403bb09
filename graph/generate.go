package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Forwarder runs a model's forward pass repeatedly with one compiled program per batch shape (evaluation,
// generation). It returns the logits (QA: start and end logits) and the loss when the batch has labels.
type Forwarder struct {
	be     backends.Backend
	m      *Model
	exec   *Exec
	names  []string
	outs   []string
	lastAt bool // the program also takes a position and returns only that position's logits
}

// NewForwarder prepares a forward pass of m on be.
func NewForwarder(be backends.Backend, m *Model) *Forwarder {
	PatchGoMLX()
	return &Forwarder{be: be, m: m}
}

// Run evaluates one batch. Programs are compiled on first use and reused for batches of the same shape and
// fields.
func (f *Forwarder) Run(weights, batch map[string]*tensors.Tensor) (out map[string]*tensors.Tensor, err error) {
	names, args, err := BoundInputs(f.m, weights, batch)
	if err != nil {
		return nil, err
	}
	if f.exec == nil || !slices.Equal(names, f.names) {
		f.names = names
		f.exec, err = NewExec(f.be, func(inputs []*Node) []*Node {
			w, b := BindInputs(f.m, names, inputs)
			o := f.m.Forward(w, b)
			f.outs = f.outs[:0]
			var nodes []*Node
			for _, p := range []struct {
				n string
				v *Node
			}{{"logits", o.Logits}, {"start_logits", o.StartLogits}, {"end_logits", o.EndLogits}, {"loss", o.Loss}} {
				if p.v != nil {
					f.outs, nodes = append(f.outs, p.n), append(nodes, p.v)
				}
			}
			return nodes
		})
		if err != nil {
			return nil, err
		}
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%s forward: %v", f.m.Class, r)
		}
	}()
	res, err := f.exec.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("%s forward: %w", f.m.Class, err)
	}
	out = map[string]*tensors.Tensor{}
	for i, t := range res {
		out[f.outs[i]] = t
	}
	return out, nil
}

// GenerateOptions control decoding.
type GenerateOptions struct {
	MaxNewTokens int
	// Temperature 0 (or TopK 1) decodes greedily; otherwise tokens are sampled from softmax(logits/T),
	// restricted to the TopK most likely (0 = all) and to the smallest set reaching TopP (1 = all).
	Temperature float64
	TopK        int
	TopP        float64
	Seed        uint64
	// Stop ids end generation (EOS); the stop token is included in the result.
	Stop []int
	// NoCache reruns the whole sequence for every token instead of using the model's key/value cache.
	NoCache bool
}

// Generate continues prompt (token ids) with a causal LM. Without a KV cache each new token reruns the model on
// a fixed-length window (prompt + MaxNewTokens, right-padded and masked) so the program compiles once.
func Generate(be backends.Backend, m *Model, weights map[string]*tensors.Tensor, prompt []int, o GenerateOptions) ([]int, error) {
	if m.Task != TaskCausalLM {
		return nil, fmt.Errorf("generate needs a causal LM, %s is %s", m.Class, m.Task)
	}
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate: empty prompt")
	}
	if o.MaxNewTokens < 1 {
		return nil, fmt.Errorf("generate: max new tokens must be >= 1")
	}
	if o.TopP <= 0 || o.TopP > 1 {
		o.TopP = 1
	}
	if m.Decoder != nil && !o.NoCache {
		return generateCached(be, m, weights, prompt, o)
	}
	L := len(prompt) + o.MaxNewTokens
	ids := make([]int64, L)
	mask := make([]int64, L)
	for i, t := range prompt {
		ids[i], mask[i] = int64(t), 1
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x67656e))
	f := NewForwarder(be, m)
	var out []int
	for n := len(prompt); n < L; n++ {
		batch := map[string]*tensors.Tensor{
			"input_ids":      tensors.FromFlatDataAndDimensions(append([]int64(nil), ids...), 1, L),
			"attention_mask": tensors.FromFlatDataAndDimensions(append([]int64(nil), mask...), 1, L),
		}
		res, err := f.Run(weights, batch)
		if err != nil {
			return nil, err
		}
		logits := res["logits"]
		V := logits.Shape().Dimensions[2]
		row := make([]float64, V)
		tensors.MustConstFlatData[float32](logits, func(flat []float32) {
			for v := 0; v < V; v++ {
				row[v] = float64(flat[(n-1)*V+v])
			}
		})
		next := pick(row, o, rng)
		ids[n], mask[n] = int64(next), 1
		out = append(out, next)
		for _, s := range o.Stop {
			if next == s {
				return out, nil
			}
		}
	}
	return out, nil
}

// pick chooses the next token from logits.
func pick(logits []float64, o GenerateOptions, rng *rand.Rand) int {
	if o.Temperature <= 0 || o.TopK == 1 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return best
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	if o.TopK > 0 && o.TopK < len(idx) {
		idx = idx[:o.TopK]
	}
	maxL := logits[idx[0]]
	probs := make([]float64, len(idx))
	var sum float64
	for i, k := range idx {
		probs[i] = math.Exp((logits[k] - maxL) / o.Temperature)
		sum += probs[i]
	}
	var cum float64
	for i := range probs {
		probs[i] /= sum
		cum += probs[i]
		if cum >= o.TopP {
			idx, probs = idx[:i+1], probs[:i+1]
			break
		}
	}
	var total float64
	for _, p := range probs {
		total += p
	}
	r := rng.Float64() * total
	for i, p := range probs {
		r -= p
		if r <= 0 {
			return idx[i]
		}
	}
	return idx[len(idx)-1]
}

// generateCached decodes one token per step against the model's key/value cache: one compiled program for the
// whole generation, the cache donated back to it at every step.
func generateCached(be backends.Backend, m *Model, weights map[string]*tensors.Tensor, prompt []int, o GenerateOptions) (out []int, err error) {
	L := len(prompt) + o.MaxNewTokens
	var names []string
	var args []any
	for _, p := range m.Params {
		names, args = append(names, p.Name), append(args, weights[p.Name])
	}
	for _, p := range m.Buffers {
		if t, ok := weights[p.Name]; ok {
			names, args = append(names, p.Name), append(args, t)
		}
	}
	nw := len(names)
	exec, err := NewExec(be, func(inputs []*Node) []*Node {
		w, _ := BindInputs(m, names, inputs[:nw])
		logits, cache := m.Decoder.Step(w, inputs[nw], inputs[nw+1], inputs[nw+2:])
		return append([]*Node{logits}, cache...)
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%s generate: %v", m.Class, r)
		}
	}()
	var cache []*tensors.Tensor
	for _, dims := range m.Decoder.CacheShapes(1, L) {
		cache = append(cache, tensors.FromShape(shapes.Make(dtypes.Float32, dims...)))
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x67656e))
	next := prompt[0]
	for pos := 0; pos < L-1; pos++ {
		step := append([]any{}, args...)
		step = append(step, tensors.FromFlatDataAndDimensions([]int64{int64(next)}, 1), tensors.FromScalar(int32(pos)))
		for _, c := range cache {
			d, err := DonateTensorBuffer(c, be, 0)
			if err != nil {
				return nil, err
			}
			step = append(step, d)
		}
		res, err := exec.Exec(step...)
		if err != nil {
			return nil, fmt.Errorf("%s generate: %w", m.Class, err)
		}
		cache = res[1:]
		if pos+1 < len(prompt) {
			next = prompt[pos+1]
			continue
		}
		logits := tensors.MustCopyFlatData[float32](res[0])
		row := make([]float64, len(logits))
		for i, v := range logits {
			row[i] = float64(v)
		}
		next = pick(row, o, rng)
		out = append(out, next)
		for _, s := range o.Stop {
			if next == s {
				return out, nil
			}
		}
	}
	return out, nil
}
