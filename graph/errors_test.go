package graph

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorKinds: the common failures are told apart with errors.Is, and marking keeps the message.
func TestErrorKinds(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadConfig(filepath.Join(dir, "nowhere"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrBadConfig) {
		t.Errorf("missing config: %v", err)
	}
	for _, bad := range []string{`[1, 2]`, `{}`, `{"model_type": "llama", "vocab_size": 32, "hidden_size": 16, "num_hidden_layers": -3}`} {
		p := filepath.Join(dir, "config.json")
		os.WriteFile(p, []byte(bad), 0o644)
		if _, err := LoadConfig(p); !errors.Is(err, ErrBadConfig) || errors.Is(err, ErrUnsupportedArchitecture) || !strings.HasPrefix(err.Error(), "config: ") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	for _, cfg := range []string{`{"model_type": "mamba"}`, `{"architectures": ["MambaForCausalLM"], "model_type": "mamba"}`} {
		c, err := ParseConfig([]byte(cfg), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewModel(c); !errors.Is(err, ErrUnsupportedArchitecture) || errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), "supported: ") {
			t.Errorf("%s: %v", cfg, err)
		}
	}
	// A known family whose config lacks what it needs is a bad config.
	c, _ := ParseConfig([]byte(`{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}`), "")
	if _, err := NewModel(c); !errors.Is(err, ErrBadConfig) {
		t.Errorf("llama without sizes: %v", err)
	}
}
