package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/safetensors"
)

// TestToBFloat16IsRNE: the in-graph conversion equals bit-level round-to-nearest-even (not SimpleGo's
// truncation) on random values, exact ties, subnormals, Inf and NaN.
func TestToBFloat16IsRNE(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 1 << 16
	vals := make([]float32, n)
	for i := range vals {
		switch i % 4 {
		case 0:
			vals[i] = math.Float32frombits(r.Uint32()&0x7FFF0000 | 0x8000) // tie
		case 1:
			vals[i] = math.Float32frombits(r.Uint32() & 0x807FFFFF) // subnormal
		default:
			vals[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(10)-5)))
		}
	}
	vals[0], vals[1], vals[2] = float32(math.Inf(1)), float32(math.NaN()), -2.71828
	exec, err := NewExec(testBackend(t), func(x *Node) *Node { return ToBFloat16(x) })
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(vals, n))
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[bfloat16.BFloat16](out[0])
	bad := 0
	for i, v := range vals {
		want := safetensors.F32ToBF16(v)
		if math.IsNaN(float64(v)) {
			if !math.IsNaN(float64(got[i].Float32())) {
				t.Errorf("NaN became %v", got[i])
			}
			continue
		}
		if got[i].Bits() != want {
			if bad < 5 {
				t.Errorf("x=%g (%08x): got %04x, RNE %04x", v, math.Float32bits(v), got[i].Bits(), want)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d values differ from round-to-nearest-even", bad, n)
	}
	if got[2].Float32() != -2.71875 {
		t.Errorf("-2.71828 → %v, want -2.71875 (truncation gives -2.703125)", got[2].Float32())
	}
}
