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
	"github.com/hift-go/hift/data"
	hgraph "github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/internal/fixture"
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

// TestNewTaskHead: a causal-LM checkpoint starts a sequence classifier: the config is switched to the
// family's class, the new head is created (and listed), the unused LM head is dropped (and listed), and the
// saved checkpoint loads as the classifier.
func TestNewTaskHead(t *testing.T) {
	fx, err := fixtureLoad("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	ds := seqClsDataset(t)
	o := adamwOptions(t)
	o.Task, o.NumLabels, o.Steps = "seq_cls", 3, 4
	if _, err := NewTrainer(testBackend(t), fx, ds, o); err == nil || !strings.Contains(err.Error(), "score.weight") {
		t.Fatalf("without InitHead the missing head must be an error naming it: %v", err)
	}
	o.InitHead, o.Output = true, t.TempDir()
	tr, err := NewTrainer(testBackend(t), fx, ds, o)
	if err != nil {
		t.Fatal(err)
	}
	rep := tr.LoadReport()
	if !slices.Equal(rep.Initialised, []string{"score.weight"}) || !slices.Equal(rep.Dropped, []string{"lm_head.weight"}) {
		t.Errorf("initialised %v, dropped %v", rep.Initialised, rep.Dropped)
	}
	if err := tr.Run(context.Background(), nil, nil); err != nil {
		t.Fatal(err)
	}
	m, _, err := hgraph.LoadModel(o.Output)
	if err != nil {
		t.Fatal(err)
	}
	if m.Class != "LlamaForSequenceClassification" {
		t.Errorf("saved class %s", m.Class)
	}
	if h, _ := m.Config.Head(); h.NumLabels != 3 {
		t.Errorf("saved num_labels %d", h.NumLabels)
	}
}

func fixtureLoad(name string) (string, error) {
	fx, err := fixture.Load(name)
	if err != nil {
		return "", err
	}
	return fx.Dir, nil
}

// seqClsDataset is the LLaMA fixture's two rows with class labels.
func seqClsDataset(t *testing.T) *data.TensorDataset {
	fx, ds := llamaFixture(t)
	_ = fx
	out := &data.TensorDataset{Path: "cls", N: ds.N, Columns: map[string]data.Column{}}
	for k, c := range ds.Columns {
		if k != "labels" {
			out.Columns[k] = c
		}
	}
	out.Columns["labels"] = data.Column{Shape: []int{ds.N}, Ints: []int64{2, 0}}
	return out
}

// TestUnitOrderRegistration: --unit-order registration reproduces the original's OPT queue, where the
// model-level final_layer_norm (registered before the blocks) is unit 1; depth order keeps it after them.
func TestUnitOrderRegistration(t *testing.T) {
	dir, err := fixtureLoad("opt_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	m, _, err := PlanQueue(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if m.Units[len(m.Units)-1].Name != "model.decoder.final_layer_norm" {
		t.Errorf("depth order: last unit %s", m.Units[len(m.Units)-1].Name)
	}
	o.UnitOrder = UnitOrderRegistration
	m, _, err = PlanQueue(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range m.Units {
		names = append(names, u.Name)
	}
	if names[1] != "model.decoder.final_layer_norm" {
		t.Errorf("registration order: %v", names)
	}
	o.UnitOrder = "alphabetical"
	if _, _, err := PlanQueue(dir, o); err == nil {
		t.Error("unknown unit order: no error")
	}
}
