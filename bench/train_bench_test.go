package bench

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/hift-go/hift/data"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/hift"
)

var sharedBackend = sync.OnceValues(func() (backends.Backend, error) {
	_ = os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	return graph.NewBackend("")
})

// llama4x256 is the 4-layer 256-wide LLaMA (V 1024, I 688, 4 heads), trained at B 4 × T 128.
const llama4x256 = `{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":1024,"hidden_size":256,
"intermediate_size":688,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":4,"rms_norm_eps":1e-6,
"max_position_embeddings":512,"pad_token_id":0}`

func randomDataset(b *testing.B, n, seq, vocab int) *data.TensorDataset {
	bt := graph.RandomBatch(n, seq, vocab, 3)
	ds := &data.TensorDataset{Path: "random", N: n, Columns: map[string]data.Column{}}
	for name, t := range bt {
		ds.Columns[name] = data.Column{Shape: t.Shape().Dimensions, Ints: tensorsInts(t)}
	}
	return ds
}

// BenchmarkTrainStep measures one optimizer step (AdamW) per group with HiFT (m=1) and with --full, on the
// fixture-sized LLaMA and the 4-layer 256-wide one. Each sub-benchmark's first call (compilation) is excluded;
// the HiFT numbers average over whole cycles, so every group contributes equally.
//
//	go test ./bench -run XXX -bench TrainStep -benchtime 10x
func BenchmarkTrainStep(b *testing.B) {
	be, err := sharedBackend()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		cfg        string
		batch, seq int
	}{
		{"llama_fixture_B2_T12", fixtureConfig, 2, 12},
		{"llama_L4_D256_B4_T128", llama4x256, 4, 128},
	} {
		cfg, err := graph.ParseConfig([]byte(c.cfg), c.name)
		if err != nil {
			b.Fatal(err)
		}
		m, err := graph.NewModel(cfg)
		if err != nil {
			b.Fatal(err)
		}
		for _, full := range []bool{false, true} {
			mode := "hift_m1"
			if full {
				mode = "full"
			}
			b.Run(fmt.Sprintf("%s/%s", c.name, mode), func(b *testing.B) {
				o := hift.DefaultOptions()
				o.Full, o.BatchSize, o.Steps, o.Shuffle = full, c.batch, 1<<30, false
				ds := randomDataset(b, c.batch, c.seq, vocabOf(m))
				tr, err := hift.NewTrainerFromWeights(be, m, graph.RandomWeights(m, 1), nil, ds, o)
				if err != nil {
					b.Fatal(err)
				}
				steps := 1
				if !full {
					steps = tr.Queue().StepsPerCycle()
				}
				for i := 0; i < steps; i++ { // compile every group's program
					if _, err := tr.TrainStep(); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := tr.TrainStep(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				rep := tr.Memory()
				b.ReportMetric(float64(rep.DeviceTotal())/(1<<20), "device-MiB")
				b.ReportMetric(float64(rep.HostTotal())/(1<<20), "host-MiB")
				var report strings.Builder
				tr.PrintCompileReport(&report)
				b.Logf("per group (first step includes compilation):\n%s", report.String())
			})
		}
	}
}
