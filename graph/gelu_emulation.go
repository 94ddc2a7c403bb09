package graph

import (
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// actGGMLGELU names, for Activation, GELU computed the way ggml's CPU backend computes ggml_gelu on float32
// tensors (the FFN activation of llama.cpp's gpt2, gptneox and bert graphs, built with GGML_GELU_FP16):
// x ≤ −10 gives 0, x ≥ 10 gives x, and otherwise x is rounded to float16 and looked up in a table of
// float16(gelu_tanh(x)) — the tanh approximation, also where HF computes the erf GELU (BERT, GPT-NeoX).
// It exists only so that tests can show that this kernel is what separates llama.cpp's logits from hift's
// (graph/gguf_gelu_test.go). KnownActivation does not list it, so no config.json can select it.
const actGGMLGELU = "ggml_gelu_fp16_table"

// ggmlGELU is the actGGMLGELU activation (float32 x).
func ggmlGELU(x *Node) *Node {
	xh := roundFloat16(x)
	// ggml_gelu_f32's float32 expression, in its order: 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x·x)))
	inner := Mul(MulScalar(xh, math.Sqrt(2/math.Pi)), OnePlus(Mul(MulScalar(xh, 0.044715), xh)))
	y := roundFloat16(Mul(MulScalar(xh, 0.5), OnePlus(Tanh(inner))))
	g := x.Graph()
	lo := LessOrEqual(x, Scalar(g, x.DType(), -10))
	hi := GreaterOrEqual(x, Scalar(g, x.DType(), 10))
	return Where(lo, ZerosLike(x), Where(hi, x, y))
}

// roundFloat16 rounds float32 values of magnitude below 65504 to the nearest float16 value, in float32
// arithmetic only (the pure-Go backend has no float16 conversion or bitcast): Veltkamp's split by 2¹³+1
// rounds a normal value to 11 significant bits (float16's precision), and adding and removing 0.75 rounds a
// subnormal one (|x| < 2⁻¹⁴) to a multiple of 2⁻²⁴; both to nearest, ties to even, as ToBFloat16 does for
// bfloat16 (TestRoundFloat16 checks every case against a host reference).
func roundFloat16(x *Node) *Node {
	g := x.Graph()
	c := MulScalar(x, 1<<13+1)
	normal := Sub(c, Sub(c, x))
	sub := AddScalar(AddScalar(x, 0.75), -0.75)
	return Where(LessThan(Abs(x), Scalar(g, x.DType(), math.Ldexp(1, -14))), sub, normal)
}
