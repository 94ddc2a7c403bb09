package bench

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/hift-go/hift/graph"
)

// smallLlama is the small config: 4 layers, hidden 256 (the built-in llama-small).
func smallLlama(t testing.TB) *graph.Model {
	t.Helper()
	m, err := LoadModel("llama-small")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMeasuredMatchesAnalytical trains the small LLaMA (batch 2, seq 32) with every optimizer, HiFT and full
// fine-tuning in FP32, plus AdamW in bfloat16 (full fine-tuning as Mixed, HiFT as Mixed^Hi), and checks that the
// ledger's peak PGS agrees with the analytical PGS within 10% (both count the same tensors: it is exact).
func TestMeasuredMatchesAnalytical(t *testing.T) {
	be, err := sharedBackend()
	if err != nil {
		t.Fatal(err)
	}
	m := smallLlama(t)
	a, err := Analyze(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	analytical, err := AnalyticalRows(a, Optimizers(), Precisions(), Methods())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Row{}
	for _, r := range analytical {
		want[r.Key()] = r
	}
	start := time.Now()
	var measured []Row
	for _, c := range []struct {
		opts  []string
		precs []Precision
	}{{Optimizers(), []Precision{FP32}}, {[]string{"adamw"}, []Precision{Mixed, MixedHi}}} {
		rows, err := MeasuredRows(be, m, MeasureOptions{Batch: 2, Seq: 32, Optimizers: c.opts, Precisions: c.precs, Log: testLog{t}, NoHeap: true})
		if err != nil {
			t.Fatal(err)
		}
		measured = append(measured, rows...)
	}
	if len(measured) != 12 {
		t.Fatalf("%d measured rows, want 12", len(measured))
	}
	for _, r := range measured {
		w, ok := want[r.Key()]
		if !ok {
			t.Fatalf("no analytical row for %s", r.Key())
		}
		rel := math.Abs(r.PGSGB-w.PGSGB) / w.PGSGB
		t.Logf("%-24s PGS measured %.4f MB, analytical %.4f MB (%.2f%%); para %.3f/%.3f gra %.3f/%.3f sta %.3f/%.3f",
			r.Key(), r.PGSGB*1024, w.PGSGB*1024, 100*rel, r.ParaMB, w.ParaMB, r.GraMB, w.GraMB, r.StaMB, w.StaMB)
		if rel > 0.10 {
			t.Errorf("%s: measured PGS %.4f GB, analytical %.4f GB: %.1f%% apart", r.Key(), r.PGSGB, w.PGSGB, 100*rel)
		}
		if r.TrainableParams != w.TrainableParams {
			t.Errorf("%s: measured #trainable %d, analytical %d", r.Key(), r.TrainableParams, w.TrainableParams)
		}
	}
	t.Logf("%d runs in %.1fs", len(measured), time.Since(start).Seconds())
}

type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) { l.t.Log(string(p)); return len(p), nil }

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func TestMain(m *testing.M) {
	_ = os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	os.Exit(m.Run())
}
