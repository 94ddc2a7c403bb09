package graph

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestFastElementwiseMatchesSimpleGo runs broadcasting binary ops, unary math, reductions and BroadcastInDim
// with the hooks and with SimpleGo's own executors, and compares: arithmetic and copies bit for bit, exp /
// sigmoid / tanh within one float32 rounding (1.2e-7 relative), sums of ≤ 33 terms within 1e-5.
func TestFastElementwiseMatchesSimpleGo(t *testing.T) {
	be := testBackend(t)
	if err := EnableFastCPU(be); err != nil {
		t.Fatalf("fast CPU kernels not installed: %v", err)
	}
	fd, _ := fastCPU()
	fe := fd.ew
	cases := []struct {
		name         string
		xDims, yDims []int
		fn           func(x, y *Node) *Node
		tol          float64 // 0: bit for bit; else relative to max(1, |SimpleGo|)
		fast         bool    // expected to run in the hooks
	}{
		{"Mul row broadcast", []int{2, 3, 16}, []int{1, 1, 16}, Mul, 0, true},
		{"Add column broadcast", []int{2, 3, 16}, []int{2, 3, 1}, Add, 0, true},
		{"Sub both broadcast", []int{4, 1, 9}, []int{1, 5, 9}, Sub, 0, true},
		{"Div by scalar", []int{2, 3, 16}, []int{}, Div, 0, true},
		{"Mul same shape, large (split over cores)", []int{3, 40000}, []int{3, 40000}, Mul, 0, true},
		{"Add short runs (fallback)", []int{50, 3}, []int{50, 1}, Add, 0, false},
		{"Exp large", []int{3, 40000}, []int{1}, func(x, _ *Node) *Node { return Exp(MulScalar(x, 10)) }, 1.2e-7, true},
		{"Logistic", []int{5, 300}, []int{1}, func(x, _ *Node) *Node { return Logistic(MulScalar(x, 20)) }, 1.2e-7, true},
		{"Tanh", []int{5, 300}, []int{1}, func(x, _ *Node) *Node { return Tanh(MulScalar(x, 3)) }, 1.2e-7, true},
		{"ReduceSum last axis", []int{5, 7, 33}, []int{1}, func(x, _ *Node) *Node { return ReduceSum(x, -1) }, 1e-5, true},
		{"ReduceSum leading axes", []int{4, 5, 33}, []int{1}, func(x, _ *Node) *Node { return ReduceSum(x, 0, 1) }, 1e-5, true},
		{"ReduceMax middle axis", []int{3, 50, 20}, []int{1}, func(x, _ *Node) *Node { return ReduceMax(x, 1) }, 0, true},
		{"ReduceSum non-adjacent axes (fallback)", []int{3, 4, 5}, []int{1}, func(x, _ *Node) *Node { return ReduceSum(x, 0, 2) }, 0, false},
		{"Transpose bthd->bhtd (contiguous runs)", []int{2, 9, 3, 16}, []int{1}, func(x, _ *Node) *Node { return TransposeAllDims(x, 0, 2, 1, 3) }, 0, true},
		{"Transpose matrix (gathered)", []int{37, 53}, []int{1}, func(x, _ *Node) *Node { return TransposeAllDims(x, 1, 0) }, 0, true},
		{"BroadcastInDim middle axis", []int{3, 1, 20}, []int{1}, func(x, _ *Node) *Node { return BroadcastToDims(x, 3, 4, 20) }, 0, true},
	}
	run := func(t *testing.T, fn func(x, y *Node) *Node, x, y *tensors.Tensor) []float32 {
		exec, err := NewExec(be, func(x, y *Node) *Node { return fn(x, y) })
		if err != nil {
			t.Fatal(err)
		}
		outs, err := exec.Exec(x, y)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float32](outs[0])
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := tensors.FromFlatDataAndDimensions(iotaValues(prod(c.xDims), 0.3), c.xDims...)
			y := tensors.FromFlatDataAndDimensions(iotaValues(prod(c.yDims), 1.1), c.yDims...)
			if len(c.yDims) == 0 {
				y = tensors.FromScalar(float32(1.7))
			}
			fast0 := fe.fast.Load()
			got := run(t, c.fn, x, y)
			ranFast := fe.fast.Load() > fast0
			saved := map[backends.OpType]simplegoExecutor{}
			for op, orig := range fe.orig {
				saved[op] = simplegoNodeExecutors[op]
				simplegoNodeExecutors[op] = orig
			}
			want := run(t, c.fn, x, y)
			for op, hook := range saved {
				simplegoNodeExecutors[op] = hook
			}
			worst := 0.0
			for i := range want {
				d := math.Abs(float64(got[i])-float64(want[i])) / math.Max(1, math.Abs(float64(want[i])))
				worst = math.Max(worst, d)
			}
			t.Logf("max relative |hook − SimpleGo| = %.3g over %d outputs (ran in hooks: %v)", worst, len(want), ranFast)
			if len(got) != len(want) || worst > c.tol {
				t.Errorf("max relative difference %.3g > %.3g (or %d outputs, want %d)", worst, c.tol, len(got), len(want))
			}
			if ranFast != c.fast {
				t.Errorf("ran in hooks: %v, want %v", ranFast, c.fast)
			}
		})
	}
}
