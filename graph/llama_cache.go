package graph

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// llamaDecoder generates with a key/value cache: per layer K and V [B, S, KVH, Dh] for a maximum length S.
// The new token's keys are written at position pos with a Where over the positions (SimpleGo has no
// DynamicUpdateSlice), and attention masks keys after pos (and before the sliding window).
func llamaDecoder(c *LlamaConfig, base string, padIdx int) *Decoder {
	KVH, Dh := c.NumKeyValueHeads, c.HeadDim
	return &Decoder{
		CacheShapes: func(batch, maxLen int) [][]int {
			out := make([][]int, 2*c.NumHiddenLayers)
			for i := range out {
				out[i] = []int{batch, maxLen, KVH, Dh}
			}
			return out
		},
		Step: func(w Weights, ids, pos *Node, cache []*Node) (*Node, []*Node) {
			return llamaDecodeStep(c, base, padIdx, w, ids, pos, cache)
		},
	}
}

func llamaDecodeStep(c *LlamaConfig, base string, padIdx int, w Weights, ids, pos *Node, cache []*Node) (*Node, []*Node) {
	g := ids.Graph()
	B := ids.Shape().Dimensions[0]
	S := cache[0].Shape().Dimensions[1]
	H, KVH, Dh := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	pos = ConvertDType(pos, dtypes.Int32)
	x := Embedding(w.Get(base+".embed_tokens.weight"), Reshape(ids, B, 1), padIdx)  // [B, 1, D]
	cosT, sinT := RopeTables(g, c.InvFreq(S), S)                                    // [S, Dh]
	sel := OneHot(pos, S, dtypes.Float32)                                           // [S]
	cos := Reshape(DotGeneral(sel, []int{0}, nil, cosT, []int{0}, nil), 1, Dh)      // [1, Dh]
	sin := Reshape(DotGeneral(sel, []int{0}, nil, sinT, []int{0}, nil), 1, Dh)      // [1, Dh]
	keyPos := Iota(g, shapes.Make(dtypes.Int32, S), 0)                              // [S]
	here := BroadcastToDims(Reshape(Equal(keyPos, pos), 1, S, 1, 1), B, S, KVH, Dh) // [B, S, KVH, Dh]
	seen := LessOrEqual(keyPos, pos)                                                // [S]
	fullMask := Reshape(seen, 1, 1, 1, S)                                           // [1, 1, 1, S]
	windowMask := fullMask
	if c.SlidingWindow > 0 {
		inWindow := GreaterThan(keyPos, SubScalar(pos, c.SlidingWindow))
		windowMask = Reshape(LogicalAnd(seen, inWindow), 1, 1, 1, S)
	}
	scale := 1 / math.Sqrt(float64(Dh))
	newCache := make([]*Node, len(cache))
	for l := 0; l < c.NumHiddenLayers; l++ {
		mask := windowMask
		if c.SlidingLayers != nil && !c.SlidingLayers[l] {
			mask = fullMask
		}
		x = llamaBlock(c, w, fmt.Sprintf("%s.layers.%d", base, l), x, cos, sin, func(q, k, v *Node) *Node {
			kc, vc := writeCache(here, k, v, cache[2*l], cache[2*l+1]) // [B, S, KVH, Dh]
			newCache[2*l], newCache[2*l+1] = kc, vc
			return Attention(q, RepeatKV(kc, H/KVH), RepeatKV(vc, H/KVH), mask, scale) // [B, 1, H, Dh]
		})
	}
	x = RMSNorm(x, w.Get(base+".norm.weight"), c.RMSNormEps)          // [B, 1, D]
	logits := Linear(x, w.Get("lm_head.weight"), nil)                 // [B, 1, V]
	return Reshape(logits, B, logits.Shape().Dimensions[2]), newCache // [B, V]
}

// writeCache puts one token's keys and values k, v [B, 1, heads, Dh] into a layer's cache K, V [B, S, heads, Dh]
// at the position where here [B, S, heads, Dh] is true (a Where: SimpleGo has no DynamicUpdateSlice).
func writeCache(here, k, v, cacheK, cacheV *Node) (*Node, *Node) {
	d := cacheK.Shape().Dimensions
	return Where(here, BroadcastToDims(k, d...), cacheK), Where(here, BroadcastToDims(v, d...), cacheV)
}
