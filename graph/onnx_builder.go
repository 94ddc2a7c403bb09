package graph

// ONNX export, part 1: a small ONNX graph builder and the building blocks (Linear, Conv1D, norms, activations,
// rotary, masks, attention with past key/values) shared by every architecture's export (onnx_decoder.go,
// onnx_encoder.go). Tensors keep HF layouts and HF names: every initializer is named after its HF tensor, so an
// export can be imported back (onnx_import.go). Batch and sequence axes are never baked into the graph: shapes
// are read with Shape at run time, Reshape uses 0 (copy) and -1, so a model exported once runs at any batch size
// and sequence length.

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/onnx"
)

// onnxBuilder accumulates the nodes and initializers of one ONNX graph.
type onnxBuilder struct {
	nodes   []*onnx.NodeProto
	inits   []*onnx.TensorProto
	done    map[string]string // HF tensor name → graph value holding it as float32
	weights map[string]*tensors.Tensor
	tied    map[string]string
	dtype   int32 // storage type of ≥ 2-D weights (float32, float16 or bfloat16); 1-D tensors stay float32
	consume bool  // free each weight tensor once encoded (ONNXOptions.ConsumeWeights)
	count   int
}

func newONNXBuilder(weights map[string]*tensors.Tensor, tied map[string]string, dtype int32) *onnxBuilder {
	return &onnxBuilder{done: map[string]string{}, weights: weights, tied: tied, dtype: dtype}
}

func sp(s string) *string { return &s }

// attr makes a node attribute from an int64, []int64, float32, string or *onnx.TensorProto.
func attr(name string, v any) *onnx.AttributeProto {
	a := &onnx.AttributeProto{Name: sp(name)}
	switch x := v.(type) {
	case int:
		a.I, a.Type = ptrTo(int64(x)), onnx.AttributeProto_INT.Enum()
	case int64:
		a.I, a.Type = ptrTo(x), onnx.AttributeProto_INT.Enum()
	case []int64:
		a.Ints, a.Type = x, onnx.AttributeProto_INTS.Enum()
	case float32:
		a.F, a.Type = ptrTo(x), onnx.AttributeProto_FLOAT.Enum()
	case string:
		a.S, a.Type = []byte(x), onnx.AttributeProto_STRING.Enum()
	case *onnx.TensorProto:
		a.T, a.Type = x, onnx.AttributeProto_TENSOR.Enum()
	default:
		panicf("onnx attr %s: unsupported value %T", name, v)
	}
	return a
}

func ptrTo[T any](v T) *T { return &v }

// opN adds a node with n outputs and returns their names.
func (b *onnxBuilder) opN(typ string, n int, inputs []string, attrs ...*onnx.AttributeProto) []string {
	b.count++
	outs := make([]string, n)
	for i := range outs {
		outs[i] = fmt.Sprintf("/%s_%d/out%d", typ, b.count, i)
	}
	b.nodes = append(b.nodes, &onnx.NodeProto{Name: sp(fmt.Sprintf("/%s_%d", typ, b.count)), OpType: sp(typ),
		Input: inputs, Output: outs, Attribute: attrs})
	return outs
}

// op adds a node with one output.
func (b *onnxBuilder) op(typ string, inputs []string, attrs ...*onnx.AttributeProto) string {
	return b.opN(typ, 1, inputs, attrs...)[0]
}

// name gives value x the graph output name out (an Identity node).
func (b *onnxBuilder) name(x, out string) {
	b.nodes = append(b.nodes, &onnx.NodeProto{Name: sp("/Identity_" + out), OpType: sp("Identity"), Input: []string{x}, Output: []string{out}})
}

// ints is an int64 1-D constant; scalarI a 0-D int64 constant; scalarF a 0-D float32 constant.
func (b *onnxBuilder) ints(v ...int64) string {
	return b.op("Constant", nil, attr("value", onnx.Int64Tensor("c", []int{len(v)}, v)))
}

func (b *onnxBuilder) scalarI(v int64) string {
	return b.op("Constant", nil, attr("value", onnx.Int64Tensor("c", nil, []int64{v})))
}

func (b *onnxBuilder) scalarF(v float64) string {
	return b.op("Constant", nil, attr("value", onnx.Float32Tensor("c", nil, []float32{float32(v)})))
}

func (b *onnxBuilder) floats(v []float32) string {
	return b.op("Constant", nil, attr("value", onnx.Float32Tensor("c", []int{len(v)}, v)))
}

// dim returns dimension i of x as a 0-D int64 (read at run time).
func (b *onnxBuilder) dim(x string, i int) string {
	return b.op("Gather", []string{b.op("Shape", []string{x}), b.scalarI(int64(i))}, attr("axis", 0))
}

// w returns the graph value of the HF tensor name as float32: an initializer of that name (in the builder's
// storage type for ≥ 2-D weights, followed by a Cast), added on first use. Tied aliases resolve to their owner.
func (b *onnxBuilder) w(name string) string {
	if owner, ok := b.tied[name]; ok {
		name = owner
	}
	if v, ok := b.done[name]; ok {
		return v
	}
	t, ok := b.weights[name]
	if !ok {
		panicf("onnx export: weight %q is not loaded", name)
	}
	dims := t.Shape().Dimensions
	dt := b.dtype
	if len(dims) < 2 {
		dt = onnx.Float32
	}
	var tp *onnx.TensorProto
	var err error
	if e := tensors.ConstFlatData(t, func(flat []float32) {
		// Never write a non-finite weight, nor one that f16 turns into ±Inf (|v| > 65504), as GGUF export.
		for i, v := range flat {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				err = fmt.Errorf("weight %q: element %d is %v (non-finite weights are never written)", name, i, v)
				return
			}
			if dt == onnx.Float16 && math.Abs(float64(v)) >= 65520 {
				err = fmt.Errorf("weight %q: element %d = %g is out of float16's range (max 65504); export with --dtype f32 or bf16", name, i, v)
				return
			}
		}
		if dt == onnx.Float32 {
			tp = onnx.Float32Tensor(name, dims, flat)
		} else {
			tp, err = onnx.HalfTensor(name, dt, dims, flat)
		}
	}); e != nil {
		panicf("onnx export: weight %q: %v", name, e)
	}
	if err != nil {
		panic(err)
	}
	b.inits = append(b.inits, tp)
	if b.consume {
		t.FinalizeLocal()
		delete(b.weights, name)
	}
	v := name
	if dt != onnx.Float32 {
		v = b.op("Cast", []string{name}, attr("to", int64(onnx.Float32)))
	}
	b.done[name] = v
	return v
}

// matches reports whether the loaded tensor name holds want to a relative tolerance (false when not loaded).
func (b *onnxBuilder) matches(name string, want []float32, rel float64) bool {
	t, ok := b.weights[name]
	if !ok || t.Shape().Size() != len(want) {
		return false
	}
	same := true
	tensors.MustConstFlatData(t, func(flat []float32) {
		for i, v := range flat {
			if math.Abs(float64(v-want[i])) > rel*math.Abs(float64(want[i])) {
				same = false
				return
			}
		}
	})
	return same
}

// linear applies nn.Linear (W [out, in], optional bias): x·Wᵀ + b.
func (b *onnxBuilder) linear(x, prefix string, bias bool) string {
	wt := b.op("Transpose", []string{b.w(prefix + ".weight")}, attr("perm", []int64{1, 0})) // [in, out]
	y := b.op("MatMul", []string{x, wt})                                                    // [..., out]
	if bias {
		y = b.op("Add", []string{y, b.w(prefix + ".bias")})
	}
	return y
}

// conv1D applies GPT-2's Conv1D (W [in, out]): x·W + b.
func (b *onnxBuilder) conv1D(x, prefix string) string {
	y := b.op("MatMul", []string{x, b.w(prefix + ".weight")}) // [..., out]
	return b.op("Add", []string{y, b.w(prefix + ".bias")})
}

// layerNorm is torch's LayerNorm over the last axis (ONNX LayerNormalization, opset ≥ 17); without affine
// parameters the scale is ones and the bias zeros of width d. (A two-pass Sub/ReduceMean version was no closer
// to the fixtures: 4.3e-6 against 3.3e-6 on GPT-2.)
func (b *onnxBuilder) layerNorm(x, prefix string, eps float64, affine bool, d int) string {
	var scale, bias string
	if affine {
		scale, bias = b.w(prefix+".weight"), b.w(prefix+".bias")
	} else {
		ones, zeros := make([]float32, d), make([]float32, d)
		for i := range ones {
			ones[i] = 1
		}
		scale, bias = b.floats(ones), b.floats(zeros)
	}
	return b.op("LayerNormalization", []string{x, scale, bias}, attr("axis", -1), attr("epsilon", float32(eps)))
}

// rmsNorm is LLaMA's RMSNorm: w · x / sqrt(mean(x², -1) + eps).
func (b *onnxBuilder) rmsNorm(x, weight string, eps float64) string {
	variance := b.op("ReduceMean", []string{b.op("Mul", []string{x, x}), b.ints(-1)}, attr("keepdims", 1)) // [..., 1]
	inv := b.op("Sqrt", []string{b.op("Add", []string{variance, b.scalarF(eps)})})
	return b.op("Mul", []string{b.w(weight), b.op("Div", []string{x, inv})}) // [..., D]
}

// act applies an HF activation by its config name, with the same formulas as Activation.
func (b *onnxBuilder) act(name, x string) string {
	mul := func(a, c string) string { return b.op("Mul", []string{a, c}) }
	half := func(y string) string { return mul(mul(x, b.scalarF(0.5)), b.op("Add", []string{b.scalarF(1), y})) }
	switch name {
	case "silu", "swish":
		return mul(x, b.op("Sigmoid", []string{x}))
	case "gelu":
		return half(b.op("Erf", []string{mul(x, b.scalarF(1/math.Sqrt2))}))
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		cube := mul(mul(x, mul(x, x)), b.scalarF(0.044715))
		return half(b.op("Tanh", []string{mul(b.op("Add", []string{x, cube}), b.scalarF(math.Sqrt(2/math.Pi)))}))
	case "relu":
		return b.op("Relu", []string{x})
	case "tanh":
		return b.op("Tanh", []string{x})
	case "sigmoid":
		return b.op("Sigmoid", []string{x})
	}
	panicf("onnx export: unsupported activation %q", name)
	return ""
}

// gather is an embedding lookup: rows ids of table.
func (b *onnxBuilder) gather(table, ids string) string {
	return b.op("Gather", []string{table, ids}, attr("axis", 0))
}

// heads reshapes [B, T, n·Dh] to [B, n, T, Dh].
func (b *onnxBuilder) heads(x string, n, dh int) string {
	x = b.op("Reshape", []string{x, b.ints(0, 0, int64(n), int64(dh))})      // [B, T, n, Dh]
	return b.op("Transpose", []string{x}, attr("perm", []int64{0, 2, 1, 3})) // [B, n, T, Dh]
}

// split cuts x along axis into pieces of the given sizes.
func (b *onnxBuilder) split(x string, axis int, sizes ...int64) []string {
	return b.opN("Split", len(sizes), []string{x, b.ints(sizes...)}, attr("axis", axis))
}

// rotary returns cos and sin [B, 1, T, 2·len(invFreq)] for positions [B, T] (int64), as HF computes them:
// freqs = position·inv_freq in float32, emb = cat(freqs, freqs). invFreq is a float32 graph value [R/2].
func (b *onnxBuilder) rotary(positions, invFreq string) (cos, sin string) {
	pos := b.op("Unsqueeze", []string{b.op("Cast", []string{positions}, attr("to", int64(onnx.Float32))), b.ints(-1)}) // [B, T, 1]
	freqs := b.op("Mul", []string{pos, invFreq})                                                                       // [B, T, R/2]
	emb := b.op("Concat", []string{freqs, freqs}, attr("axis", -1))                                                    // [B, T, R]
	emb = b.op("Unsqueeze", []string{emb, b.ints(1)})                                                                  // [B, 1, T, R]
	return b.op("Cos", []string{emb}), b.op("Sin", []string{emb})
}

// applyRotary rotates the first r of the dh features of x [B, n, T, Dh]: x·cos + rotate_half(x)·sin.
func (b *onnxBuilder) applyRotary(x, cos, sin string, r, dh int) string {
	var pass string
	if r < dh {
		parts := b.split(x, -1, int64(r), int64(dh-r))
		x, pass = parts[0], parts[1]
	}
	halves := b.split(x, -1, int64(r/2), int64(r/2))
	rot := b.op("Concat", []string{b.op("Neg", []string{halves[1]}), halves[0]}, attr("axis", -1)) // rotate_half
	y := b.op("Add", []string{b.op("Mul", []string{x, cos}), b.op("Mul", []string{rot, sin})})     // [B, n, T, r]
	if r < dh {
		y = b.op("Concat", []string{y, pass}, attr("axis", -1)) // [B, n, T, Dh]
	}
	return y
}

// causalMask is the boolean mask [B, 1, T, S] (true = may attend) of T new queries at positions S−T…S−1 over
// S keys: causal, limited to the last window keys when window > 0, and keys with attention_mask 0 masked.
// attentionMask is [B, S] (past and new tokens, as optimum feeds it); ids is input_ids [B, T].
func (b *onnxBuilder) causalMask(attentionMask, ids string, window int) string {
	S := b.dim(attentionMask, 1)
	T := b.dim(ids, 1)
	P := b.op("Sub", []string{S, T})
	kPos := b.op("Unsqueeze", []string{b.op("Range", []string{b.scalarI(0), S, b.scalarI(1)}), b.ints(0)}) // [1, S]
	qPos := b.op("Unsqueeze", []string{b.op("Range", []string{P, S, b.scalarI(1)}), b.ints(1)})            // [T, 1]
	allowed := b.op("LessOrEqual", []string{kPos, qPos})                                                   // [T, S]
	if window > 0 {
		lo := b.op("Sub", []string{qPos, b.scalarI(int64(window))})
		allowed = b.op("And", []string{allowed, b.op("Greater", []string{kPos, lo})})
	}
	return b.op("And", []string{allowed, b.paddingMask(attentionMask)}) // [B, 1, T, S]
}

// paddingMask turns attention_mask [B, S] into a boolean [B, 1, 1, S].
func (b *onnxBuilder) paddingMask(attentionMask string) string {
	real := b.op("Cast", []string{attentionMask}, attr("to", int64(onnx.Bool)))
	return b.op("Unsqueeze", []string{real, b.ints(1, 2)})
}

// attention computes softmax(q·kᵀ·scale, masked)·v for q [B, H, T, Dh] and k, v [B, KVH, S, Dh] (each kv head
// serves H/KVH query heads, as HF's repeat_kv) and returns [B, T, H·Dh]. Masked scores get float32's lowest
// value, as in Attention.
func (b *onnxBuilder) attention(q, k, v, mask string, scale float64, h, kvh, dh int) string {
	if rep := h / kvh; rep > 1 {
		expand := func(x string) string {
			x = b.op("Unsqueeze", []string{x, b.ints(2)})                           // [B, KVH, 1, S, Dh]
			x = b.op("Expand", []string{x, b.ints(1, 1, int64(rep), 1, 1)})         // [B, KVH, rep, S, Dh]
			return b.op("Reshape", []string{x, b.ints(0, int64(h), -1, int64(dh))}) // [B, H, S, Dh]
		}
		k, v = expand(k), expand(v)
	}
	kt := b.op("Transpose", []string{k}, attr("perm", []int64{0, 1, 3, 2})) // [B, H, Dh, S]
	scores := b.op("MatMul", []string{q, kt})                               // [B, H, T, S]
	if scale != 1 {
		scores = b.op("Mul", []string{scores, b.scalarF(scale)})
	}
	scores = b.op("Where", []string{mask, scores, b.scalarF(-math.MaxFloat32)})
	probs := b.op("Softmax", []string{scores}, attr("axis", -1))
	out := b.op("MatMul", []string{probs, v})                                 // [B, H, T, Dh]
	out = b.op("Transpose", []string{out}, attr("perm", []int64{0, 2, 1, 3})) // [B, T, H, Dh]
	return b.op("Reshape", []string{out, b.ints(0, 0, -1)})                   // [B, T, H·Dh]
}
