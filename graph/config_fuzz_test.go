package graph

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzConfig: any config.json either parses or fails with an error; CheckSizes never panics; a config small
// enough to build gives a model or an error, never a panic. Seeds: every fixture's config.json plus edge cases.
// Run: go test -run '^$' -fuzz '^FuzzConfig$' -fuzztime 30s ./graph (or scripts/fuzz.sh).
func FuzzConfig(f *testing.F) {
	matches, _ := filepath.Glob(filepath.Join("..", "testdata", "fixtures", "*", "config.json"))
	for _, m := range matches {
		if b, err := os.ReadFile(m); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{`{}`, `{"model_type":"llama"}`, `[]`, `{"architectures":[],"model_type":null}`,
		`{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":-1,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":3}`,
		`{"architectures":["GPT2LMHeadModel"],"model_type":"gpt2","n_layer":1e400}`,
		`{"architectures":["BertForSequenceClassification"],"model_type":"bert","num_labels":"x","id2label":{"a":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data, "fuzz/config.json")
		if err != nil {
			return
		}
		if cfg.CheckSizes() != nil {
			return
		}
		_ = cfg.PositionLimit()
		s := cfg.Sizes()
		if cfg.EstimateParams() > 2e6 || s.Layers > 8 || s.Vocab > 1<<16 || cfg.PositionLimit() > 1<<14 {
			return // building is bounded by memory checks before this point in the CLI
		}
		_, _ = NewModel(cfg)
	})
}
