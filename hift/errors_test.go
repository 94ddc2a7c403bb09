package hift_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/hift-go/hift/data"
	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/hift"
)

// TestErrorsCallersCanInspect: what a Go caller of the fine-tuning API meets first — a missing model folder,
// data file or tokenizer, an unsupported architecture, a bad config — is told apart with errors.Is.
func TestErrorsCallersCanInspect(t *testing.T) {
	dir := t.TempDir()
	ds := &data.TensorDataset{}
	be, err := graph.NewBackend("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hift.NewTrainer(be, filepath.Join(dir, "missing"), ds, hift.DefaultOptions()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing model: %v", err)
	}
	if _, err := data.OpenSource(filepath.Join(dir, "missing.jsonl"), data.SourceOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing data: %v", err)
	}
	if _, err := tokenizer.Load(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing tokenizer: %v", err)
	}
	for cfg, kind := range map[string]error{
		`{"architectures": ["MambaForCausalLM"], "model_type": "mamba"}`: graph.ErrUnsupportedArchitecture,
		`{"architectures": ["LlamaForCausalLM"], "model_type": "llama"`:  graph.ErrBadConfig,
	} {
		m := filepath.Join(dir, "model")
		os.MkdirAll(m, 0o755)
		os.WriteFile(filepath.Join(m, "config.json"), []byte(cfg), 0o644)
		if _, err := hift.NewTrainer(be, m, ds, hift.DefaultOptions()); !errors.Is(err, kind) {
			t.Errorf("%s: %v, want %v", cfg, err, kind)
		}
		if _, _, err := hift.PlanQueue(m, hift.DefaultOptions()); !errors.Is(err, kind) {
			t.Errorf("PlanQueue %s: %v, want %v", cfg, err, kind)
		}
	}
}
