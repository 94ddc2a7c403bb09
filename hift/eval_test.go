package hift

import (
	"math"
	"testing"

	"github.com/hift-go/hift/data"
	hgraph "github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/safetensors"
)

// TestEvaluateMatchesGolden: eval loss equals HF's loss on the fixture batch; accuracy equals the accuracy of
// HF's golden logits.
func TestEvaluateMatchesGolden(t *testing.T) {
	for _, name := range []string{"llama_causal_lm", "llama_seq_cls"} {
		fx, err := fixture.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		m, w, err := hgraph.LoadModel(fx.Dir)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := data.LoadTensorDataset(fx.Path("inputs.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		em, err := Evaluate(testBackend(t), m, w, ds, 2)
		if err != nil {
			t.Fatal(err)
		}
		golden, _ := safetensors.Open(fx.Path("golden.safetensors"))
		loss, _ := golden.Float32("loss")
		if d := math.Abs(em.Loss - float64(loss[0])); d > 1e-5 {
			t.Errorf("%s: eval loss %.6f, golden %.6f", name, em.Loss, loss[0])
		}
		if name == "llama_causal_lm" && math.Abs(em.Perplexity-math.Exp(float64(loss[0]))) > 1e-3 {
			t.Errorf("perplexity %g, want exp(loss) %g", em.Perplexity, math.Exp(float64(loss[0])))
		}
		if name == "llama_seq_cls" {
			logits, _ := golden.Float32("logits")
			labels := ds.Columns["labels"].Ints
			correct := 0
			for r, y := range labels {
				if argmax(logits[r*3:(r+1)*3]) == int(y) {
					correct++
				}
			}
			if want := float64(correct) / float64(len(labels)); em.Accuracy != want {
				t.Errorf("accuracy %g, golden logits give %g", em.Accuracy, want)
			}
		}
		golden.Close()
		t.Logf("%s: %s", name, em)
	}
}
