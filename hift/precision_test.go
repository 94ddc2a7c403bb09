package hift

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/safetensors"
)

// TestMixedHiBF16: Mixed^Hi keeps bfloat16 weights on the device equal to round-to-nearest-even of the float32
// masters, keeps inactive masters in host memory, follows the float32 trajectory within bfloat16 tolerance,
// and resumes bit for bit.
func TestMixedHiBF16(t *testing.T) {
	fx, ds := llamaFixture(t)
	o := adamwOptions(t)
	ref, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	runAll(t, ref)
	o.Precision = PrecisionBF16
	tr, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	for tr.Step() < tr.TotalSteps() {
		s := tr.Step()
		if _, err := tr.TrainStep(); err != nil {
			t.Fatal(err)
		}
		rep := tr.Memory()
		cur, next := tr.paramsOf(tr.activeUnits(s)), []string{}
		if s+1 < tr.TotalSteps() {
			next = tr.paramsOf(tr.activeUnits(s + 1))
		}
		for name, m := range tr.masters {
			if m.IsOnAnyDevice() && !slices.Contains(cur, name) && !slices.Contains(next, name) {
				t.Errorf("step %d: master of inactive %s is on the device", s, name)
			}
		}
		if rep.Device[CatParameters]*2 != int64(tr.Model().NumParameters())*4 {
			t.Errorf("device parameters %d B, want 2 B/param = %d", rep.Device[CatParameters], tr.Model().NumParameters()*2)
		}
	}
	worstLoss := 0.0
	for i, l := range tr.Losses() {
		worstLoss = math.Max(worstLoss, math.Abs(l-ref.Losses()[i])/ref.Losses()[i])
	}
	if worstLoss > 2e-2 {
		t.Errorf("bf16 losses differ from fp32 by %.3g relative", worstLoss)
	}
	for name, m := range tr.masters {
		if tr.weights[name].DType() != dtypes.BFloat16 {
			t.Fatalf("%s is %s on the device", name, tr.weights[name].DType())
		}
		mv := tensors.MustCopyFlatData[float32](m)
		hv := tensors.MustCopyFlatData[bfloat16.BFloat16](tr.weights[name])
		for i := range mv {
			if hv[i].Bits() != safetensors.F32ToBF16(mv[i]) {
				t.Fatalf("%s[%d]: bf16 %04x is not RNE(master %g) = %04x", name, i, hv[i].Bits(), mv[i], safetensors.F32ToBF16(mv[i]))
			}
		}
	}
	rep := tr.Memory()
	t.Logf("Mixed^Hi: max rel loss diff vs fp32 %.3g; device %d B (params %d), host masters %d B, host state %d B",
		worstLoss, rep.DeviceTotal(), rep.Device[CatParameters], rep.Host[CatMasters], rep.Host[CatOptimizer])

	// Resume in bf16 continues bit for bit (masters are saved with the optimizer state).
	o.Output = t.TempDir()
	b, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Run(context.Background(), nil, func(m StepMetrics) bool { return m.Step+1 < 4 }); !errors.Is(err, ErrStopped) {
		t.Fatal(err)
	}
	c, err := Resume(testBackend(t), filepath.Join(o.Output, "checkpoint-4"), ds, t.TempDir(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	runAll(t, c)
	if got := append(b.Losses(), c.Losses()...); !slices.Equal(got, tr.Losses()) {
		t.Errorf("bf16 resume: losses %v, straight %v", got, tr.Losses())
	}
	for name := range tr.masters {
		if !slices.Equal(tensors.MustCopyFlatData[float32](c.Master(name)), tensors.MustCopyFlatData[float32](tr.Master(name))) {
			t.Errorf("%s: resumed master differs", name)
		}
	}
}
