package graph

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Building blocks shared by the architecture files. Weights keep HF layouts: nn.Linear is [out, in],
// GPT-2's Conv1D is [in, out]. Matmuls are single DotGenerals so the gemm VJP (vjp.go) applies.

func panicf(format string, args ...any) { panic(fmt.Errorf(format, args...)) }

// lead reshapes x (e.g. a bias [D]) to the rank of like by adding leading axes of size 1, since GoMLX
// broadcasts only between operands of equal rank.
func lead(x, like *Node) *Node {
	if x.Rank() == like.Rank() {
		return x
	}
	dims := make([]int, like.Rank()-x.Rank(), like.Rank())
	for i := range dims {
		dims[i] = 1
	}
	return Reshape(x, append(dims, x.Shape().Dimensions...)...)
}

// Linear applies an HF nn.Linear: y = x·Wᵀ + b, W [out, in], b [out] (nil for none).
func Linear(x, w, b *Node) *Node {
	y := DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{1}, nil) // [..., out]
	if b != nil {
		y = Add(y, lead(b, y))
	}
	return y
}

// Conv1D applies GPT-2's Conv1D: y = x·W + b, W [in, out].
func Conv1D(x, w, b *Node) *Node {
	y := DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{0}, nil) // [..., out]
	if b != nil {
		y = Add(y, lead(b, y))
	}
	return y
}

// LinearW applies the Linear named prefix+".weight" (and ".bias" when hasBias).
func LinearW(w Weights, prefix string, x *Node, hasBias bool) *Node {
	var b *Node
	if hasBias {
		b = w.Get(prefix + ".bias")
	}
	return withLoRA(w, prefix, x, Linear(x, w.Get(prefix+".weight"), b))
}

// RMSNorm is LLaMA's norm: w · x / sqrt(mean(x², -1) + eps), computed in float32.
func RMSNorm(x, weight *Node, eps float64) *Node {
	variance := ReduceAndKeep(Square(x), ReduceMean, -1) // [..., 1]
	inv := Inverse(Sqrt(AddScalar(variance, eps)))       // no Rsqrt: it has no VJP (P4)
	return Mul(lead(weight, x), Mul(x, inv))             // [..., D]
}

// LayerNorm is torch's nn.LayerNorm over the last axis (biased variance), weight and bias may be nil.
func LayerNorm(x, weight, bias *Node, eps float64) *Node {
	mean := ReduceAndKeep(x, ReduceMean, -1) // [..., 1]
	centered := Sub(x, mean)                 // [..., D]
	variance := ReduceAndKeep(Square(centered), ReduceMean, -1)
	y := Div(centered, Sqrt(AddScalar(variance, eps))) // [..., D]
	if weight != nil {
		y = Mul(y, lead(weight, y))
	}
	if bias != nil {
		y = Add(y, lead(bias, y))
	}
	return y
}

// Embedding looks up rows of table [V, D] for ids [...]: result [..., D]. Rows at padIdx (if >= 0) receive no
// gradient from this lookup, as with nn.Embedding(padding_idx); the forward value is unchanged.
func Embedding(table, ids *Node, padIdx int) *Node {
	idx := ConvertDType(ids, dtypes.Int32)
	e := Gather(table, ExpandAxes(idx, -1)) // [..., D]
	if padIdx >= 0 {
		isPad := Equal(idx, Scalar(ids.Graph(), dtypes.Int32, padIdx))
		isPad = BroadcastToDims(ExpandAxes(isPad, -1), e.Shape().Dimensions...)
		e = Where(isPad, StopGradient(e), e)
	}
	return e
}

// Activation applies an HF activation by its config name (ACT2FN).
func Activation(name string, x *Node) *Node {
	switch name {
	case "silu", "swish":
		return Mul(x, Sigmoid(x))
	case "gelu":
		// erf form: 0.5·x·(1 + erf(x/√2))
		return Mul(MulScalar(x, 0.5), OnePlus(Erf(MulScalar(x, 1/math.Sqrt2))))
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		// tanh form: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
		inner := MulScalar(Add(x, MulScalar(Mul(x, Square(x)), 0.044715)), math.Sqrt(2/math.Pi))
		return Mul(MulScalar(x, 0.5), OnePlus(Tanh(inner)))
	case actGGMLGELU: // tests only (gelu_emulation.go)
		return ggmlGELU(x)
	case "relu":
		return Max(x, ZerosLike(x))
	case "tanh":
		return Tanh(x)
	case "sigmoid":
		return Sigmoid(x)
	}
	panicf("unsupported activation %q", name)
	return nil
}

// KnownActivation reports whether Activation supports name.
func KnownActivation(name string) bool {
	switch name {
	case "silu", "swish", "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "tanh", "sigmoid":
		return true
	}
	return false
}

// AttentionMask builds the boolean attention mask [B, 1, T, T] (true = may attend): key padding from
// attentionMask [B, T] (nil = all real) and, if causal, the lower triangle. window > 0 additionally limits a
// query q to the keys k with q − k < window, i.e. the last `window` keys including itself (GPT-Neo local
// attention; Mistral's and Qwen2's sliding window as current transformers define it).
func AttentionMask(g *Graph, attentionMask *Node, batch, seq int, causal bool, window int) *Node {
	qPos := Iota(g, shapes.Make(dtypes.Int32, seq, seq), 0) // [T, T] query index
	kPos := Iota(g, shapes.Make(dtypes.Int32, seq, seq), 1) // [T, T] key index
	allowed := BroadcastToDims(Const(g, true), seq, seq)
	if causal {
		allowed = LogicalAnd(allowed, LessOrEqual(kPos, qPos))
	}
	if window > 0 {
		allowed = LogicalAnd(allowed, GreaterThan(kPos, SubScalar(qPos, window)))
	}
	mask := BroadcastToDims(Reshape(allowed, 1, 1, seq, seq), batch, 1, seq, seq) // [B, 1, T, T]
	if attentionMask != nil {
		keyReal := NotEqual(ConvertDType(attentionMask, dtypes.Int32), Scalar(g, dtypes.Int32, 0)) // [B, T]
		keyReal = BroadcastToDims(Reshape(keyReal, batch, 1, 1, seq), batch, 1, seq, seq)
		mask = LogicalAnd(mask, keyReal)
	}
	return mask
}

// Attention computes softmax(q·kᵀ·scale masked)·v for q [B, T, H, Dh], k, v [B, S, H, Dh] and a boolean mask
// broadcastable to [B, H, T, S]; returns [B, T, H, Dh]. Masked scores get float32's lowest value, like HF's
// finfo.min masks, so a fully masked row is uniform rather than NaN.
func Attention(q, k, v, mask *Node, scale float64) *Node {
	scores := DotGeneral(q, []int{3}, []int{0, 2}, k, []int{3}, []int{0, 2}) // [B, H, T, S]
	if scale != 1 {
		scores = MulScalar(scores, scale)
	}
	if mask != nil {
		m := BroadcastToDims(mask, scores.Shape().Dimensions...)
		scores = Where(m, scores, BroadcastToDims(Scalar(q.Graph(), scores.DType(), -math.MaxFloat32), scores.Shape().Dimensions...))
	}
	probs := Softmax(scores, -1)                                              // [B, H, T, S]
	out := DotGeneral(probs, []int{3}, []int{0, 1}, v, []int{1}, []int{0, 2}) // [B, H, T, Dh]
	return TransposeAllAxes(out, 0, 2, 1, 3)                                  // [B, T, H, Dh]
}

// RepeatKV expands grouped key/value heads [B, T, KVH, Dh] to [B, T, KVH·rep, Dh]; head h uses kv head h/rep
// (HF repeat_kv).
func RepeatKV(x *Node, rep int) *Node {
	if rep == 1 {
		return x
	}
	d := x.Shape().Dimensions
	x = BroadcastToDims(ExpandAxes(x, 3), d[0], d[1], d[2], rep, d[3]) // [B, T, KVH, rep, Dh]
	return Reshape(x, d[0], d[1], d[2]*rep, d[3])                      // [B, T, H, Dh]
}

// RotateHalf maps x [..., D] to cat(-x[..., D/2:], x[..., :D/2]) (HF rotate_half).
func RotateHalf(x *Node) *Node {
	last := x.Rank() - 1
	half := x.Shape().Dimensions[last] / 2
	x1 := SliceAxis(x, last, AxisRange(0, half))
	x2 := SliceAxis(x, last, AxisRange(half))
	return Concatenate([]*Node{Neg(x2), x1}, last)
}

// ApplyRotary applies rotary embeddings to x [B, T, H, Dh] given cos, sin [T, Dh]: x·cos + rotate_half(x)·sin.
func ApplyRotary(x, cos, sin *Node) *Node {
	d := cos.Shape().Dimensions
	c := Reshape(cos, 1, d[0], 1, d[1]) // [1, T, 1, Dh]
	s := Reshape(sin, 1, d[0], 1, d[1])
	return Add(Mul(x, c), Mul(RotateHalf(x), s))
}

// RopeTables returns cos and sin [T, Dh] constants for positions 0..T-1 and the given inverse frequencies
// (length Dh/2), laid out as HF does (emb = cat(freqs, freqs)). They are computed in float64 and rounded once.
func RopeTables(g *Graph, invFreq []float64, seq int) (cos, sin *Node) {
	half := len(invFreq)
	cs := make([]float32, seq*2*half)
	sn := make([]float32, seq*2*half)
	for t := 0; t < seq; t++ {
		for i, f := range invFreq {
			// HF computes t·inv_freq in float32; do the same before the cos/sin.
			a := float64(float32(float64(t)) * float32(f))
			c, s := float32(math.Cos(a)), float32(math.Sin(a))
			cs[t*2*half+i], cs[t*2*half+half+i] = c, c
			sn[t*2*half+i], sn[t*2*half+half+i] = s, s
		}
	}
	cos = Const(g, cs)
	sin = Const(g, sn)
	return Reshape(cos, seq, 2*half), Reshape(sin, seq, 2*half)
}
