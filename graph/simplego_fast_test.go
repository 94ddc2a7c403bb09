package graph

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestFastCPUInstalled fails when the SimpleGo hook refuses to install, e.g. after a GoMLX upgrade changed the
// unexported layout it relies on (see simplego_fast.go): then update the hook, do not skip this test.
func TestFastCPUInstalled(t *testing.T) {
	if os.Getenv(FastCPUEnv) == "0" {
		t.Skipf("%s=0 disables the fast kernels in this run; unset it to test them", FastCPUEnv)
	}
	if err := EnableFastCPU(testBackend(t)); err != nil {
		t.Fatalf("fast CPU kernels not installed: %v", err)
	}
	// Test binaries carry no dependency versions, so read the pin from go.mod: an upgrade must revisit the hook.
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "github.com/gomlx/gomlx "+gomlxVersion+"\n") {
		t.Fatalf("go.mod no longer pins github.com/gomlx/gomlx %s: re-check graph/simplego_fast.go's layout assumptions and update gomlxVersion", gomlxVersion)
	}
}

// refDotGeneral is DotGeneral in float64 by definition: output [batch..., x cross..., y cross...].
func refDotGeneral(x []float32, xDims, xc, xb []int, y []float32, yDims, yc, yb []int) []float64 {
	kinds := func(rank int, c, b []int) []int {
		k := make([]int, rank)
		for _, a := range c {
			k[a] = 1
		}
		for _, a := range b {
			k[a] = 2
		}
		return k
	}
	xk, yk := kinds(len(xDims), xc, xb), kinds(len(yDims), yc, yb)
	var xCross, yCross []int
	for a, k := range xk {
		if k == 0 {
			xCross = append(xCross, a)
		}
	}
	for a, k := range yk {
		if k == 0 {
			yCross = append(yCross, a)
		}
	}
	// Free indices: batch (shared), x cross, y cross; summed: contracting (shared).
	var freeDims, sumDims []int
	for _, a := range xb {
		freeDims = append(freeDims, xDims[a])
	}
	for _, a := range xCross {
		freeDims = append(freeDims, xDims[a])
	}
	for _, a := range yCross {
		freeDims = append(freeDims, yDims[a])
	}
	for _, a := range xc {
		sumDims = append(sumDims, xDims[a])
	}
	lin := func(dims, idx []int) int {
		l := 0
		for i, d := range dims {
			l = l*d + idx[i]
		}
		return l
	}
	unravel := func(l int, dims []int) []int {
		idx := make([]int, len(dims))
		for i := len(dims) - 1; i >= 0; i-- {
			idx[i] = l % dims[i]
			l /= dims[i]
		}
		return idx
	}
	out := make([]float64, prod(freeDims))
	for o := range out {
		f := unravel(o, freeDims)
		for s := 0; s < prod(sumDims); s++ {
			c := unravel(s, sumDims)
			xi, yi := make([]int, len(xDims)), make([]int, len(yDims))
			for i, a := range xb {
				xi[a], yi[yb[i]] = f[i], f[i]
			}
			for i, a := range xCross {
				xi[a] = f[len(xb)+i]
			}
			for i, a := range yCross {
				yi[a] = f[len(xb)+len(xCross)+i]
			}
			for i, a := range xc {
				xi[a], yi[yc[i]] = c[i], c[i]
			}
			out[o] += float64(x[lin(xDims, xi)]) * float64(y[lin(yDims, yi)])
		}
	}
	return out
}

// TestFastDotGeneralMatchesReference runs DotGenerals of every layout hift uses (and some it does not) through
// SimpleGo with the hook, compares them with a float64 reference, and checks which went to sgemm. With the
// check mode on, it also differentiates them, so the gradient DotGenerals are compared with SimpleGo's own.
func TestFastDotGeneralMatchesReference(t *testing.T) {
	be := testBackend(t)
	if err := EnableFastCPU(be); err != nil {
		t.Fatalf("fast CPU kernels not installed: %v", err)
	}
	fd, _ := fastCPU()
	fd.check.Store(true)
	t.Cleanup(func() { fd.check.Store(os.Getenv(CheckDotGeneralEnv) == "1") })
	cases := []struct {
		name          string
		xDims, xc, xb []int
		yDims, yc, yb []int
		fast          bool // expected to run on sgemm
	}{
		{"linear [B,T,in]·[out,in]", []int{2, 37, 19}, []int{2}, nil, []int{23, 19}, []int{1}, nil, true},
		{"conv1d [B,T,in]·[in,out]", []int{2, 13, 40}, []int{2}, nil, []int{40, 33}, []int{0}, nil, true},
		{"weight grad [BT,out]ᵀ·[BT,in]", []int{50, 23}, []int{0}, nil, []int{50, 19}, []int{0}, nil, true},
		{"attention scores bqhd,bkhd", []int{2, 7, 3, 8}, []int{3}, []int{0, 2}, []int{2, 9, 3, 8}, []int{3}, []int{0, 2}, true},
		{"attention values bhqk,bkhd", []int{2, 3, 7, 9}, []int{3}, []int{0, 1}, []int{2, 9, 3, 8}, []int{1}, []int{0, 2}, true},
		{"two contracting axes in memory order", []int{3, 4, 5}, []int{1, 2}, nil, []int{4, 5, 6}, []int{0, 1}, nil, true},
		{"batch axis last", []int{4, 3, 2}, []int{0}, []int{2}, []int{2, 5, 4}, []int{2}, []int{0}, true},
		{"outer product", []int{3}, nil, nil, []int{4}, nil, nil, true},
		{"vector·vector", []int{17}, []int{0}, nil, []int{17}, []int{0}, nil, true},
		{"contracting axes swapped (fallback)", []int{3, 4, 5}, []int{2, 1}, nil, []int{5, 4, 6}, []int{0, 1}, nil, false},
		{"cross axes split by contraction (fallback)", []int{3, 4, 5}, []int{1}, nil, []int{4, 6}, []int{0}, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := iotaValues(prod(c.xDims), 0.3)
			y := iotaValues(prod(c.yDims), 1.7)
			fast0, fall0 := fd.fast.Load(), fd.fallback.Load()
			exec, err := NewExec(be, func(x, y *Node) *Node { return DotGeneral(x, c.xc, c.xb, y, c.yc, c.yb) })
			if err != nil {
				t.Fatal(err)
			}
			outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, c.xDims...), tensors.FromFlatDataAndDimensions(y, c.yDims...))
			if err != nil {
				t.Fatal(err)
			}
			got := tensors.MustCopyFlatData[float32](outs[0])
			want := refDotGeneral(x, c.xDims, c.xc, c.xb, y, c.yDims, c.yc, c.yb)
			worst := 0.0
			for i := range want {
				worst = math.Max(worst, math.Abs(float64(got[i])-want[i]))
			}
			t.Logf("max |hift − float64 reference| = %.3g over %d outputs", worst, len(want))
			if worst > 1e-5 || len(got) != len(want) {
				t.Errorf("max error %.3g > 1e-5 (or %d outputs, want %d)", worst, len(got), len(want))
			}
			if ranFast := fd.fast.Load() > fast0; ranFast != c.fast || (!c.fast && fd.fallback.Load() == fall0) {
				t.Errorf("ran on sgemm: %v, want %v", ranFast, c.fast)
			}
			// Gradients: two more DotGenerals per case, each checked against SimpleGo's own by the check mode.
			gradsOf(t, func(x, y *Node) *Node { return DotGeneral(x, c.xc, c.xb, y, c.yc, c.yb) }, c.xDims, c.yDims)
		})
	}
}

// TestViewOf checks the strided-matrix view of DotGeneral operands, including batch offsets out of memory order.
func TestViewOf(t *testing.T) {
	// [b=2, q=3, h=4, d=5], batch (b, h), contract d, cross q.
	v, ok := viewOf(shapes.Make(dtypes.Float32, 2, 3, 4, 5), []int{0, 2}, []int{3})
	if !ok || v.batch != 8 || v.cross != 3 || v.contract != 5 || v.crossStride != 20 || v.contractStride != 1 {
		t.Fatalf("view = %+v, ok %v", v, ok)
	}
	want := []int{0, 5, 10, 15, 60, 65, 70, 75}
	for i, o := range want {
		if v.offsets[i] != o {
			t.Fatalf("offsets = %v, want %v", v.offsets, want)
		}
	}
	if _, ok := viewOf(shapes.Make(dtypes.Float32, 3, 4, 5), nil, []int{1}); ok {
		t.Fatal("cross axes 0 and 2 around a contracting axis cannot be one stride, but viewOf accepted them")
	}
}

// TestFastDotGeneralBF16 checks a bfloat16 DotGeneral (f32 accumulation, truncated to bf16 as SimpleGo) against
// a float64 reference of the bf16 inputs, within bf16's resolution, and against SimpleGo's own in check mode.
func TestFastDotGeneralBF16(t *testing.T) {
	be := testBackend(t)
	if err := EnableFastCPU(be); err != nil {
		t.Fatalf("fast CPU kernels not installed: %v", err)
	}
	fd, _ := fastCPU()
	fd.check.Store(true)
	t.Cleanup(func() { fd.check.Store(os.Getenv(CheckDotGeneralEnv) == "1") })
	xDims, yDims := []int{3, 17, 40}, []int{40, 29}
	x, y := iotaValues(prod(xDims), 0.3), iotaValues(prod(yDims), 1.7)
	fast0 := fd.fast.Load()
	exec, err := NewExec(be, func(x, y *Node) *Node {
		return ConvertDType(DotGeneral(ConvertDType(x, dtypes.BFloat16), []int{2}, nil, ConvertDType(y, dtypes.BFloat16), []int{0}, nil), dtypes.Float32)
	})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, xDims...), tensors.FromFlatDataAndDimensions(y, yDims...))
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[float32](outs[0])
	trunc := func(v []float32) []float32 { // SimpleGo's f32 -> bf16 conversion truncates
		out := make([]float32, len(v))
		for i, f := range v {
			out[i] = math.Float32frombits(math.Float32bits(f) &^ 0xffff)
		}
		return out
	}
	want := refDotGeneral(trunc(x), xDims, []int{2}, nil, trunc(y), yDims, []int{0}, nil)
	worst := 0.0
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(got[i])-want[i])/math.Max(1, math.Abs(want[i])))
	}
	t.Logf("bf16: max |hift − float64 reference| / max(1, |ref|) = %.3g over %d outputs", worst, len(want))
	if worst > 1.0/128 {
		t.Errorf("bf16 error %.3g > 2⁻⁷", worst)
	}
	if fd.fast.Load() == fast0 {
		t.Error("the bf16 DotGeneral did not run on sgemm")
	}
}
