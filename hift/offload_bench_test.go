package hift

import (
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/hift-go/hift/hift/optim"
)

// BenchmarkOffload measures moving one group's AdamW state (2 × 16 MiB) to the device and back to host
// memory, what HiFT does around every step (on SimpleGo "device" memory is host memory too).
//
//	go test ./hift -run XXX -bench Offload
func BenchmarkOffload(b *testing.B) {
	be := testBackend(b)
	cfg, _ := optim.Defaults("adamw")
	rule, _ := optim.New(cfg)
	st := newStateStore(rule)
	ps := st.get("w", []int{2048, 2048})
	b.SetBytes(2 * int64(shapes.Make(dtypes.Float32, 2048, 2048).Memory()))
	for i := 0; i < b.N; i++ {
		if err := ps.upload(be); err != nil {
			b.Fatal(err)
		}
		if err := st.offload("w"); err != nil {
			b.Fatal(err)
		}
	}
}
