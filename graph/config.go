package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Config is a parsed Hugging Face config.json: the fields every architecture shares, plus the raw JSON from
// which each architecture decodes its own typed config (unknown fields are ignored).
type Config struct {
	// Path is the config.json file this was read from ("" when parsed from bytes).
	Path string
	// Architectures is HF's `architectures` list; Architectures[0] names the model class.
	Architectures []string
	// ModelType is HF's `model_type` (e.g. "llama", "gpt2").
	ModelType string
	// Raw holds every top-level field of the file.
	Raw map[string]json.RawMessage
}

// LoadConfig reads config.json from a checkpoint folder or a file path and checks its sizes (CheckSizes).
func LoadConfig(path string) (*Config, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "config.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := ParseConfig(data, path)
	if err != nil {
		return nil, err
	}
	if err := c.CheckSizes(); err != nil {
		return nil, withKind(ErrBadConfig, err)
	}
	return c, nil
}

// ParseConfig parses config.json bytes; path is used in error messages only. Its errors are ErrBadConfig.
func ParseConfig(data []byte, path string) (_ *Config, err error) {
	defer func() { err = withKind(ErrBadConfig, err) }()
	if path == "" {
		path = "config.json"
	}
	c := &Config{Path: path}
	if err := json.Unmarshal(data, &c.Raw); err != nil {
		return nil, fmt.Errorf("config: %s: not a JSON object: %w", path, err)
	}
	if err := c.Decode(&struct {
		Architectures *[]string `json:"architectures"`
		ModelType     *string   `json:"model_type"`
	}{&c.Architectures, &c.ModelType}); err != nil {
		return nil, err
	}
	if c.ModelType == "" && len(c.Architectures) == 0 {
		return nil, fmt.Errorf("config: %s: neither \"model_type\" nor \"architectures\" is set", path)
	}
	return c, nil
}

// Class returns the model class (architectures[0]) or "".
func (c *Config) Class() string {
	if len(c.Architectures) == 0 {
		return ""
	}
	return c.Architectures[0]
}

// Has reports whether the config sets key to a non-null value.
func (c *Config) Has(key string) bool {
	v, ok := c.Raw[key]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// Decode unmarshals the config into v (a pointer to a struct with json tags; unknown fields are ignored) and
// fails, naming every one of them, if any key of required is missing or null.
func (c *Config) Decode(v any, required ...string) error {
	var missing []string
	for _, k := range required {
		if !c.Has(k) {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("config: %s: missing required field(s) %s", c.Path, strings.Join(quoteAll(missing), ", "))
	}
	all, err := json.Marshal(c.Raw)
	if err != nil {
		return fmt.Errorf("config: %s: %w", c.Path, err)
	}
	if err := json.Unmarshal(all, v); err != nil {
		return fmt.Errorf("config: %s: %w", c.Path, err)
	}
	return nil
}

// HeadConfig holds the task-head fields of an HF config (PretrainedConfig semantics).
type HeadConfig struct {
	// NumLabels is len(id2label) when id2label is set, else num_labels, else 2 (HF's default).
	NumLabels int
	// ProblemType is "regression", "single_label_classification", "multi_label_classification" or "" (decided
	// from num_labels and the labels' dtype at loss time, as HF does).
	ProblemType string
	// ID2Label maps class ids to names.
	ID2Label map[int]string
	// PadTokenID is pad_token_id, or nil when unset.
	PadTokenID *int
}

// Head decodes the task-head fields.
func (c *Config) Head() (HeadConfig, error) {
	var raw struct {
		ID2Label    map[string]string `json:"id2label"`
		NumLabels   *int              `json:"num_labels"`
		ProblemType *string           `json:"problem_type"`
		PadTokenID  *int              `json:"pad_token_id"`
	}
	if err := c.Decode(&raw); err != nil {
		return HeadConfig{}, err
	}
	h := HeadConfig{NumLabels: 2, PadTokenID: raw.PadTokenID, ID2Label: map[int]string{}}
	if raw.ProblemType != nil {
		h.ProblemType = *raw.ProblemType
		if !slices.Contains([]string{"regression", "single_label_classification", "multi_label_classification"}, h.ProblemType) {
			return h, fmt.Errorf("config: %s: unknown problem_type %q", c.Path, h.ProblemType)
		}
	}
	if raw.NumLabels != nil {
		h.NumLabels = *raw.NumLabels
	}
	if len(raw.ID2Label) > 0 {
		keys := make([]string, 0, len(raw.ID2Label))
		for k := range raw.ID2Label {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			id, err := strconv.Atoi(k)
			if err != nil {
				return h, fmt.Errorf("config: %s: id2label key %q is not an integer", c.Path, k)
			}
			h.ID2Label[id] = raw.ID2Label[k]
		}
		h.NumLabels = len(raw.ID2Label)
	}
	if h.NumLabels < 1 {
		return h, fmt.Errorf("config: %s: num_labels must be >= 1, got %d", c.Path, h.NumLabels)
	}
	return h, nil
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = strconv.Quote(x)
	}
	return out
}

// positive checks that every named int field of a decoded config struct is > 0.
// positiveFloat reports the float fields that are not > 0 (a negative norm epsilon or rotary base gives NaN or
// infinite activations, never an error).
func positiveFloat(path string, fields map[string]float64) error {
	var bad []string
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !(fields[k] > 0) {
			bad = append(bad, fmt.Sprintf("%s=%g", k, fields[k]))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("config: %s: must be positive: %s", path, strings.Join(bad, ", "))
	}
	return nil
}

func positive(path string, fields map[string]int) error {
	var bad []string
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if fields[k] <= 0 {
			bad = append(bad, fmt.Sprintf("%s=%d", k, fields[k]))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("config: %s: must be positive: %s", path, strings.Join(bad, ", "))
	}
	return nil
}

// IntField returns an integer top-level field of the config (false when absent, null or not an integer).
func (c *Config) IntField(key string) (int, bool) {
	v, ok := c.Raw[key]
	if !ok {
		return 0, false
	}
	var n json.Number
	if json.Unmarshal(v, &n) != nil {
		return 0, false
	}
	i, err := n.Int64()
	return int(i), err == nil
}

// PositionLimit returns the longest sequence the model's positions support, from max_position_embeddings
// (n_positions for GPT-2; RoBERTa-style models lose pad_token_id+1 positions to their offset), or 0 when the
// config does not say.
func (c *Config) PositionLimit() int {
	for _, key := range []string{"max_position_embeddings", "n_positions", "n_ctx"} {
		if n, ok := c.IntField(key); ok && n > 0 {
			if slices.Contains([]string{"roberta", "xlm-roberta", "camembert"}, c.ModelType) {
				pad, _ := c.IntField("pad_token_id")
				n -= pad + 1
			}
			return n
		}
	}
	return 0
}

// Sizes are the dimensions every family's config sets under one of its names (0 when absent).
type Sizes struct {
	Layers, Hidden, Heads, KVHeads, Intermediate, Vocab, HeadDim int
}

// firstInt returns the first of keys the config sets as an integer.
func (c *Config) firstInt(keys ...string) (int, string) {
	for _, k := range keys {
		if n, ok := c.IntField(k); ok {
			return n, k
		}
	}
	return 0, ""
}

// Sizes reads the model dimensions under their HF names (num_hidden_layers/n_layer/num_layers, hidden_size/
// n_embd/d_model, num_attention_heads/n_head/num_heads, num_key_value_heads, intermediate_size/n_inner/ffn_dim,
// vocab_size, head_dim).
func (c *Config) Sizes() Sizes {
	var s Sizes
	s.Layers, _ = c.firstInt("num_hidden_layers", "n_layer", "num_layers")
	s.Hidden, _ = c.firstInt("hidden_size", "n_embd", "d_model")
	s.Heads, _ = c.firstInt("num_attention_heads", "n_head", "num_heads")
	s.KVHeads, _ = c.firstInt("num_key_value_heads")
	s.Intermediate, _ = c.firstInt("intermediate_size", "n_inner", "ffn_dim")
	s.Vocab, _ = c.firstInt("vocab_size")
	s.HeadDim, _ = c.firstInt("head_dim")
	return s
}

// CheckSizes refuses dimensions that are negative, inconsistent (hidden size not a multiple of the heads, heads
// not a multiple of the key/value heads) or beyond any real model, naming the config file and the keys. It
// reads numbers only, so it answers at once for any config.
func (c *Config) CheckSizes() error {
	var problems []string
	for _, k := range []string{"num_hidden_layers", "n_layer", "num_layers", "hidden_size", "n_embd", "d_model", "num_attention_heads",
		"n_head", "num_heads", "num_key_value_heads", "intermediate_size", "n_inner", "ffn_dim", "vocab_size", "head_dim",
		"max_position_embeddings", "n_positions"} {
		if n, ok := c.IntField(k); ok && n < 0 {
			problems = append(problems, fmt.Sprintf("%s is %d", k, n))
		} else if ok && n > 1<<31-1 {
			problems = append(problems, fmt.Sprintf("%s is %d, beyond any model", k, n))
		}
	}
	s := c.Sizes()
	if s.Heads > 0 && s.Hidden > 0 && s.HeadDim == 0 && s.Hidden%s.Heads != 0 {
		problems = append(problems, fmt.Sprintf("the hidden size %d is not divisible by the %d attention heads", s.Hidden, s.Heads))
	}
	if s.KVHeads > 0 && s.Heads > 0 && s.Heads%s.KVHeads != 0 {
		problems = append(problems, fmt.Sprintf("the %d attention heads are not divisible by the %d key/value heads", s.Heads, s.KVHeads))
	}
	if s.KVHeads > s.Heads && s.Heads > 0 {
		problems = append(problems, fmt.Sprintf("num_key_value_heads %d is more than num_attention_heads %d", s.KVHeads, s.Heads))
	}
	if len(problems) > 0 {
		return fmt.Errorf("config: %s: %s", c.Path, strings.Join(problems, "; "))
	}
	return nil
}

// EstimateParams is the parameter count the dimensions imply (embeddings, an untied head, attention and MLP
// matrices of every layer), as a float so absurd configs cannot overflow. It needs no model to be built.
func (c *Config) EstimateParams() float64 {
	s := c.Sizes()
	h, l, v := float64(s.Hidden), float64(s.Layers), float64(s.Vocab)
	inter := float64(s.Intermediate)
	if inter == 0 {
		inter = 4 * h
	}
	mlp := 2.0
	if slices.Contains([]string{"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2"}, c.ModelType) {
		mlp = 3 // gated MLP: gate, up, down
	}
	attn := 4 * h * h
	if s.KVHeads > 0 && s.Heads > 0 {
		attn = 2*h*h + 2*h*h*float64(s.KVHeads)/float64(s.Heads)
	}
	return 2*v*h + l*(attn+mlp*h*inter+4*h)
}
