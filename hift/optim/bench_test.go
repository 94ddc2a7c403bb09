package optim

import (
	"testing"

	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// BenchmarkUpdate measures one optimizer update of a 1024×1024 float32 parameter (state included) per rule.
//
//	go test ./hift/optim -run XXX -bench Update
func BenchmarkUpdate(b *testing.B) {
	be, err := simplego.New("ops_sequential")
	if err != nil {
		b.Fatal(err)
	}
	const n = 1024
	shape := shapes.Make(dtypes.Float32, n, n)
	for _, name := range []string{"adamw", "sgd", "adagrad", "adafactor", "lion"} {
		b.Run(name, func(b *testing.B) {
			cfg, _ := Defaults(name)
			if name == "sgd" {
				cfg.Momentum = 0.9
			}
			if name == "adafactor" {
				cfg.RelativeStep, cfg.LRSet = false, true
			}
			rule, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			specs := rule.State(shape)
			exec, err := NewExec(be, func(in []*Node) []*Node {
				p, g, s, lr := in[0], in[1], in[2], in[3]
				np, ns := rule.Update(p, g, in[4:], s, lr, true)
				return append([]*Node{np}, ns...)
			})
			if err != nil {
				b.Fatal(err)
			}
			args := []any{tensors.FromShape(shape), tensors.FromShape(shape), tensors.FromScalar(1.0), tensors.FromScalar(1e-3)}
			for _, sp := range specs {
				args = append(args, tensors.FromShape(sp.Shape))
			}
			b.SetBytes(int64(shape.Memory()))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				outs, err := exec.Exec(args...)
				if err != nil {
					b.Fatal(err)
				}
				for _, o := range outs {
					o.FinalizeAll()
				}
			}
		})
	}
}
