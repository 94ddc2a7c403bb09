package graph

import (
	"fmt"
	"math"
	"os"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"github.com/hift-go/hift/kernels/sgemm"
)

// Fast CPU matrix multiplication under SimpleGo.
//
// SimpleGo v0.26.0 runs DotGeneral at 8–9 GFLOP/s; kernels/sgemm runs it at 100+ (SIMD micro-kernels in Go
// assembly). SimpleGo has no exported way to replace an op's executor: its table `nodeExecutors` and the
// DotGeneral axes (`*dotGeneralNodeData` in `Node.data`) are unexported. We reach the table with a
// //go:linkname and read the axes with reflect, and guard both:
//
//   - the GoMLX version must be the one this file was written against (v0.26.0, from the build info);
//   - Node must have a `data any` field, and the node data the DotGeneral fields we read, with the types we
//     expect (checked with reflect, before use and on every new node-data type);
//   - a probe graph (batch axes, transposed and strided operands) must run through the hook and give the
//     original executor's result.
//
// If any check fails the hook is not installed: SimpleGo keeps its own executor and NewBackend prints why
// (TestFastCPUInstalled fails in CI). Anything but float32 (and any layout the hook cannot express as strided
// matrices) goes to the original executor. HIFT_CHECK_DOTGENERAL=1 also runs the original executor on every call
// and fails the op if the results differ; HIFT_FAST_CPU=0 leaves SimpleGo untouched.

// FastCPUEnv disables the fast CPU kernels when set to "0" (for before/after comparisons); "matmul" installs
// only the DotGeneral hook (to tell the kernels' effects apart).
const FastCPUEnv = "HIFT_FAST_CPU"

// CheckDotGeneralEnv, when set to "1", compares every fast DotGeneral against SimpleGo's own executor.
const CheckDotGeneralEnv = "HIFT_CHECK_DOTGENERAL"

// simplegoExecutor is SimpleGo v0.26.0's `nodeExecutor` signature.
type simplegoExecutor = func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, inputsOwned []bool) (*simplego.Buffer, error)

//go:linkname simplegoNodeExecutors github.com/gomlx/gomlx/backends/simplego.nodeExecutors
var simplegoNodeExecutors [backends.OpTypeLast]simplegoExecutor

// gomlxVersion is the GoMLX release whose unexported layout the hook relies on.
const gomlxVersion = "v0.26.0"

// fastDot is the installed DotGeneral hook.
type fastDot struct {
	orig    simplegoExecutor
	gemm    *sgemm.Gemm
	dataOff uintptr // offset of simplego.Node.data
	check   atomic.Bool
	fields  atomic.Pointer[dotFields] // field indices for the node-data type seen so far
	// Calls that ran on sgemm, and calls handed to the original executor.
	fast, fallback atomic.Int64
	// ew are the elementwise and reduction hooks (simplego_fast_ew.go).
	ew *fastEW
}

// dotFields are the indices of the fields read from SimpleGo's dotGeneralNodeData.
type dotFields struct {
	typ                                          reflect.Type
	lhsContract, lhsBatch, rhsContract, rhsBatch int
}

// dotParams are the DotGeneral axes of one node.
type dotParams struct {
	lhsContract, lhsBatch, rhsContract, rhsBatch []int
}

// fastCPU installs the hook once per process; the error says why it was refused.
var fastCPU = sync.OnceValues(installFastCPU)

// EnableFastCPU installs hift's fast float32 kernels into SimpleGo for the whole process (once; later calls
// return the first result). be must be a SimpleGo backend; it runs the start-up probe. It returns nil when
// installed, or the reason they were not (SimpleGo then runs its own executors).
func EnableFastCPU(be backends.Backend) error {
	sg, ok := be.(*simplego.Backend)
	if !ok {
		return fmt.Errorf("fast CPU kernels: backend %s is not SimpleGo", be.Name())
	}
	fd, err := fastCPU()
	if err != nil {
		return err
	}
	return fd.probe(sg)
}

func installFastCPU() (*fastDot, error) {
	if os.Getenv(FastCPUEnv) == "0" {
		return nil, errFastCPUDisabled
	}
	if v := gomlxBuildVersion(); v != "" && v != gomlxVersion {
		return nil, fmt.Errorf("fast CPU kernels: written for GoMLX %s, this binary has %s: re-check graph/simplego_fast.go's layout assumptions", gomlxVersion, v)
	}
	f, ok := reflect.TypeOf(simplego.Node{}).FieldByName("data")
	if !ok || f.Type != reflect.TypeOf((*any)(nil)).Elem() {
		return nil, fmt.Errorf("fast CPU kernels: simplego.Node has no `data any` field (GoMLX layout changed)")
	}
	orig := simplegoNodeExecutors[backends.OpTypeDotGeneral]
	if orig == nil || simplegoNodeExecutors[backends.OpTypeAdd] == nil {
		return nil, fmt.Errorf("fast CPU kernels: SimpleGo's executor table is not where expected (GoMLX layout changed)")
	}
	fd := &fastDot{orig: orig, gemm: sgemm.Default(), dataOff: f.Offset}
	fd.check.Store(os.Getenv(CheckDotGeneralEnv) == "1")
	simplegoNodeExecutors[backends.OpTypeDotGeneral] = fd.exec
	if os.Getenv(FastCPUEnv) == "matmul" {
		return fd, nil // DotGeneral only, for diagnosis
	}
	if fd.ew = installFastEW(f.Offset); fd.ew == nil {
		simplegoNodeExecutors[backends.OpTypeDotGeneral] = orig
		return nil, fmt.Errorf("fast CPU kernels: simplego.Node has no `shape shapes.Shape` field (GoMLX layout changed)")
	}
	return fd, nil
}

// gomlxBuildVersion returns the GoMLX module version linked in, or "" if the binary has no build info.
func gomlxBuildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/gomlx/gomlx" {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return ""
}

// probe runs a batched, transposed DotGeneral through the hook and compares it with the original executor; on
// any mismatch it puts the original executor back.
func (fd *fastDot) probe(be *simplego.Backend) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("fast CPU kernels: probe panicked: %v", r)
		}
		if err != nil {
			simplegoNodeExecutors[backends.OpTypeDotGeneral] = fd.orig
			if fd.ew != nil {
				fd.ew.uninstall()
			}
		}
	}()
	lhsShape := shapes.Make(dtypes.Float32, 2, 5, 3) // [batch, K, M]
	rhsShape := shapes.Make(dtypes.Float32, 4, 2, 5) // [N, batch, K]
	b := be.Builder("hift-fast-cpu-probe")
	lhs, err := b.Parameter("lhs", lhsShape, nil)
	if err != nil {
		return err
	}
	rhs, err := b.Parameter("rhs", rhsShape, nil)
	if err != nil {
		return err
	}
	out, err := b.DotGeneral(lhs, []int{1}, []int{0}, rhs, []int{2}, []int{1})
	if err != nil {
		return err
	}
	exe, err := b.Compile([]backends.Op{out}, nil)
	if err != nil {
		return err
	}
	defer exe.Finalize()
	l, r := make([]float32, lhsShape.Size()), make([]float32, rhsShape.Size())
	for i := range l {
		l[i] = float32(math.Sin(float64(i)))
	}
	for i := range r {
		r[i] = float32(math.Cos(float64(i)))
	}
	lb, err := be.BufferFromFlatData(0, l, lhsShape)
	if err != nil {
		return err
	}
	rb, err := be.BufferFromFlatData(0, r, rhsShape)
	if err != nil {
		return err
	}
	before := fd.fast.Load()
	res, err := exe.Execute([]backends.Buffer{lb, rb}, nil, 0)
	if err != nil {
		return fmt.Errorf("fast CPU kernels: probe: %w", err)
	}
	got := make([]float32, 2*3*4)
	if err := be.BufferToFlatData(res[0], got); err != nil {
		return err
	}
	if fd.fast.Load() == before {
		return fmt.Errorf("fast CPU kernels: the probe DotGeneral did not reach the hook (GoMLX layout changed)")
	}
	for bi := 0; bi < 2; bi++ {
		for m := 0; m < 3; m++ {
			for n := 0; n < 4; n++ {
				want := 0.0
				for k := 0; k < 5; k++ {
					want += float64(l[(bi*5+k)*3+m]) * float64(r[(n*2+bi)*5+k])
				}
				if d := math.Abs(float64(got[(bi*3+m)*4+n]) - want); d > 1e-5 {
					return fmt.Errorf("fast CPU kernels: probe result [%d,%d,%d] = %g, want %g", bi, m, n, got[(bi*3+m)*4+n], want)
				}
			}
		}
	}
	if fd.ew == nil {
		return nil
	}
	return fd.ew.probe(be)
}

// exec is the DotGeneral executor installed in SimpleGo's table.
func (fd *fastDot) exec(be *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, owned []bool) (*simplego.Buffer, error) {
	out, ok, err := fd.run(be, node, inputs)
	if err != nil {
		return nil, err
	}
	if !ok {
		fd.fallback.Add(1)
		return fd.orig(be, node, inputs, owned)
	}
	fd.fast.Add(1)
	if fd.check.Load() {
		if err := fd.compare(be, node, inputs, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// params reads the DotGeneral axes of node, or reports false if its data is not what the hook expects.
func (fd *fastDot) params(node *simplego.Node) (dotParams, bool) {
	data := *(*any)(unsafe.Add(unsafe.Pointer(node), fd.dataOff))
	v := reflect.ValueOf(data)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return dotParams{}, false
	}
	f := fd.fields.Load()
	if f == nil || f.typ != v.Type() {
		f = dotFieldsOf(v.Type())
		if f == nil {
			return dotParams{}, false
		}
		fd.fields.Store(f)
	}
	s := v.Elem()
	return dotParams{
		lhsContract: intsOf(s.Field(f.lhsContract)), lhsBatch: intsOf(s.Field(f.lhsBatch)),
		rhsContract: intsOf(s.Field(f.rhsContract)), rhsBatch: intsOf(s.Field(f.rhsBatch)),
	}, true
}

// dotFieldsOf finds the axis fields in SimpleGo's dotGeneralNodeData type, or returns nil if any is missing
// or not an []int.
func dotFieldsOf(t reflect.Type) *dotFields {
	f := &dotFields{typ: t}
	for name, idx := range map[string]*int{"lhsContractingAxes": &f.lhsContract, "lhsBatchAxes": &f.lhsBatch,
		"rhsContractingAxes": &f.rhsContract, "rhsBatchAxes": &f.rhsBatch} {
		sf, ok := t.Elem().FieldByName(name)
		if !ok || len(sf.Index) != 1 || sf.Type != reflect.TypeOf([]int(nil)) {
			return nil
		}
		*idx = sf.Index[0]
	}
	return f
}

func intsOf(v reflect.Value) []int {
	out := make([]int, v.Len())
	for i := range out {
		out[i] = int(v.Index(i).Int())
	}
	return out
}

// errFastCPUDisabled is EnableFastCPU's answer when HIFT_FAST_CPU=0 asked for SimpleGo's own executors.
var errFastCPUDisabled = fmt.Errorf("fast CPU kernels disabled by %s=0", FastCPUEnv)

// warnFastCPU prints, once per process, why the fast kernels are not installed.
var warnFastCPU sync.Once

// enableFastCPUOrWarn installs the fast kernels when be is SimpleGo, and says loudly on stderr if it cannot.
func enableFastCPUOrWarn(be backends.Backend) {
	if _, ok := be.(*simplego.Backend); !ok {
		return
	}
	if err := EnableFastCPU(be); err != nil && err != errFastCPUDisabled {
		warnFastCPU.Do(func() {
			fmt.Fprintf(os.Stderr, "hift: WARNING: %v; SimpleGo runs its own, ~15x slower matrix multiply\n", err)
		})
	}
}
