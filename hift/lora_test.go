package hift

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	hgraph "github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/safetensors"
)

// TestLoRATraining: HiFT over the adapted blocks lowers the loss with the base frozen; the saved model holds
// the adapters merged (and computes what the adapters compute), the PEFT adapter files are written, and a
// LoRA run resumes bit for bit.
func TestLoRATraining(t *testing.T) {
	fx, ds := llamaFixture(t)
	o := adamwOptions(t)
	o.LoRA = &hgraph.LoRAConfig{R: 4, Alpha: 8}
	o.Steps, o.Optimizer.LR = 8, 1e-2
	o.Output = t.TempDir()
	tr, err := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Model().Units) != 2 || tr.Queue().NumUnits() != 2 {
		t.Fatalf("LoRA units %d (queue %d), want the 2 adapted blocks", len(tr.Model().Units), tr.Queue().NumUnits())
	}
	base := map[string][]float32{}
	for _, p := range tr.Model().Buffers {
		base[p.Name] = tensors.MustCopyFlatData[float32](tr.Weights()[p.Name])
	}
	if err := tr.Run(context.Background(), nil, nil); err != nil {
		t.Fatal(err)
	}
	l := tr.Losses()
	if l[len(l)-1] >= l[0] {
		t.Errorf("LoRA loss did not drop: %v", l)
	}
	for name, v := range base {
		if !slices.Equal(v, tensors.MustCopyFlatData[float32](tr.Weights()[name])) {
			t.Errorf("frozen base weight %s changed", name)
		}
	}
	// The saved model is the base with the adapters merged: running it gives the adapters' loss.
	m, w, err := hgraph.LoadModel(o.Output)
	if err != nil {
		t.Fatal(err)
	}
	em, err := Evaluate(testBackend(t), m, w, ds, 2)
	if err != nil {
		t.Fatal(err)
	}
	ema, err := Evaluate(testBackend(t), tr.Model(), tr.Weights(), ds, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d := em.Loss - ema.Loss; d > 1e-5 || d < -1e-5 {
		t.Errorf("merged model loss %.6f, adapters %.6f", em.Loss, ema.Loss)
	}
	ad, err := safetensors.Open(filepath.Join(o.Output, "adapter_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	names := ad.Names()
	ad.Close()
	if len(names) != 8 || !strings.HasPrefix(names[0], "base_model.model.model.layers.0.self_attn.") {
		t.Errorf("adapter tensors %v", names)
	}
	var ac map[string]any
	b, _ := os.ReadFile(filepath.Join(o.Output, "adapter_config.json"))
	if err := json.Unmarshal(b, &ac); err != nil || ac["peft_type"] != "LORA" || ac["r"].(float64) != 4 {
		t.Errorf("adapter_config.json: %v %s", err, b)
	}
	// Resume.
	o.Output = t.TempDir()
	a, _ := NewTrainer(testBackend(t), fx.Dir, ds, o)
	if err := a.Run(context.Background(), nil, func(m StepMetrics) bool { return m.Step+1 < 3 }); !errors.Is(err, ErrStopped) {
		t.Fatal(err)
	}
	c, err := Resume(testBackend(t), filepath.Join(o.Output, "checkpoint-3"), ds, t.TempDir(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	runAll(t, c)
	if got := append(a.Losses(), c.Losses()...); !slices.Equal(got, tr.Losses()) {
		t.Errorf("LoRA resume: %v, straight %v", got, tr.Losses())
	}
	t.Logf("LoRA r=4: loss %.4f → %.4f; merged model reproduces it", l[0], l[len(l)-1])
}
