package hift

import (
	"strings"
	"testing"

	"github.com/hift-go/hift/io/safetensors"
)

// TestFitsDType: a weight an F16 checkpoint cannot hold (it would be saved as +Inf) is refused by name; BF16 and
// F32 hold it.
func TestFitsDType(t *testing.T) {
	for _, tc := range []struct {
		dt   safetensors.DType
		vals []float32
		bad  bool
	}{
		{safetensors.F16, []float32{1, -65504, 65519}, false},
		{safetensors.F16, []float32{1, 1e6}, true},
		{safetensors.F16, []float32{-70000}, true},
		{safetensors.BF16, []float32{1e6}, false},
		{safetensors.F32, []float32{1e30}, false},
	} {
		err := fitsDType(tc.dt, "w.weight", tc.vals)
		if (err != nil) != tc.bad || (err != nil && !strings.Contains(err.Error(), "w.weight")) {
			t.Errorf("%s %v: error %v, want error=%v naming the weight", tc.dt, tc.vals, err, tc.bad)
		}
	}
}
