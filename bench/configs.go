package bench

import (
	"embed"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/hift-go/hift/graph"
)

// configFS holds the built-in model configs: the public Hugging Face config.json of each model the paper
// measures, plus llama-small, the 4-layer 256-wide LLaMA the CPU benchmarks train. Where the hub file names a
// class hift does not train (RoBERTa's and BERT's *ForMaskedLM), "architectures" is set to the
// sequence-classification class the paper fine-tunes; each file's "_hift_source" field says where it comes
// from and what was changed (config parsing ignores unknown fields).
//
//go:embed configs/*.json
var configFS embed.FS

// BuiltinNames lists the built-in model config names, sorted.
func BuiltinNames() []string {
	entries, err := configFS.ReadDir("configs")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// BuiltinConfig parses the built-in config of a name from BuiltinNames.
func BuiltinConfig(name string) (*graph.Config, error) {
	data, err := configFS.ReadFile(path.Join("configs", name+".json"))
	if err != nil {
		return nil, fmt.Errorf("unknown built-in model %q (built-in: %s)", name, strings.Join(BuiltinNames(), ", "))
	}
	return graph.ParseConfig(data, "built-in:"+name)
}

// LoadConfig resolves --model: an existing folder (its config.json) or config file, else a built-in name.
func LoadConfig(nameOrPath string) (*graph.Config, error) {
	if nameOrPath == "" {
		return nil, fmt.Errorf("no model given: name a checkpoint folder, a config.json or a built-in model (%s)", strings.Join(BuiltinNames(), ", "))
	}
	if _, err := os.Stat(nameOrPath); err == nil {
		return graph.LoadConfig(nameOrPath)
	}
	if strings.ContainsAny(nameOrPath, `/\`) || strings.HasSuffix(nameOrPath, ".json") {
		return nil, fmt.Errorf("model %q: no such file or folder", nameOrPath)
	}
	return BuiltinConfig(nameOrPath)
}

// LoadModel resolves --model (see LoadConfig) and builds its description: parameters with shapes and HiFT
// units. No weights are read.
func LoadModel(nameOrPath string) (*graph.Model, error) {
	cfg, err := LoadConfig(nameOrPath)
	if err != nil {
		return nil, err
	}
	return graph.NewModel(cfg)
}

// ModelName is a short display name for --model: the built-in name, or the folder/file name.
func ModelName(nameOrPath string) string {
	if _, err := os.Stat(nameOrPath); err != nil {
		return nameOrPath
	}
	p := strings.TrimSuffix(strings.TrimRight(nameOrPath, `/\`), "/config.json")
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		p = p[i+1:]
	}
	return p
}
