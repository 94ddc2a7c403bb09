package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Load reads a tokenizer from a checkpoint folder (tokenizer.json, else tokenizer.model), a tokenizer.json or a
// SentencePiece tokenizer.model; a ".gz" variant of either file is read transparently. tokenizer_config.json,
// special_tokens_map.json and chat_template.jinja beside it are used when present.
func Load(path string) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	dir, file := path, ""
	if st.IsDir() {
		for _, name := range []string{"tokenizer.json", "tokenizer.json.gz", "tokenizer.model", "tokenizer.model.gz"} {
			if _, err := os.Stat(filepath.Join(path, name)); err == nil {
				file = filepath.Join(path, name)
				break
			}
		}
		if file == "" {
			return nil, fmt.Errorf("tokenizer: %s: no tokenizer.json or tokenizer.model in this folder", path)
		}
	} else {
		dir, file = filepath.Dir(path), path
	}
	data, err := readMaybeGzip(file)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	cfg, err := loadConfig(dir)
	if err != nil {
		return nil, err
	}
	var t *Tokenizer
	if looksLikeJSON(data) {
		t, err = fromJSON(data, cfg)
	} else {
		t, err = fromSentencePiece(data, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", file, err)
	}
	t.path = file
	return t, nil
}

// FromJSON builds a tokenizer from the bytes of a tokenizer.json (no tokenizer_config.json).
func FromJSON(data []byte) (*Tokenizer, error) {
	t, err := fromJSON(data, &config{})
	if err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: %w", err)
	}
	return t, nil
}

func readMaybeGzip(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

func looksLikeJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	return len(t) > 0 && t[0] == '{'
}

// config is what hift uses from tokenizer_config.json (and special_tokens_map.json, chat_template.jinja).
type config struct {
	file               string
	bos, eos, pad, unk *string
	addBOS, addEOS     *bool
	paddingSide        string
	modelMaxLength     float64
	chatTemplate       string
	tokenizerClass     string
	addedTokensDecoder map[string]addedToken
	hasMaxLength       bool
}

// specialToken reads a special-token entry: a string, {"content": ...} or null.
func specialToken(raw json.RawMessage) (*string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return &s, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == nil {
		return nil, fmt.Errorf("want a string or {\"content\": ...}, got %s", raw)
	}
	return obj.Content, nil
}

func loadConfig(dir string) (*config, error) {
	cfg := &config{}
	for _, name := range []string{"special_tokens_map.json", "tokenizer_config.json"} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if err := cfg.merge(data); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
		}
		cfg.file = path
	}
	if data, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja")); err == nil {
		cfg.chatTemplate = string(data)
	}
	return cfg, nil
}

// merge overlays one JSON config file; later files win.
func (c *config) merge(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	for name, dst := range map[string]**string{"bos_token": &c.bos, "eos_token": &c.eos, "pad_token": &c.pad,
		"unk_token": &c.unk} {
		if v, ok := raw[name]; ok {
			s, err := specialToken(v)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*dst = s
		}
	}
	var j struct {
		AddBOS             *bool                 `json:"add_bos_token"`
		AddEOS             *bool                 `json:"add_eos_token"`
		PaddingSide        *string               `json:"padding_side"`
		ModelMaxLength     *float64              `json:"model_max_length"`
		TokenizerClass     *string               `json:"tokenizer_class"`
		AddedTokensDecoder map[string]addedToken `json:"added_tokens_decoder"`
	}
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	if j.AddBOS != nil {
		c.addBOS = j.AddBOS
	}
	if j.AddEOS != nil {
		c.addEOS = j.AddEOS
	}
	if j.PaddingSide != nil {
		c.paddingSide = *j.PaddingSide
	}
	if j.ModelMaxLength != nil {
		c.modelMaxLength, c.hasMaxLength = *j.ModelMaxLength, true
	}
	if j.TokenizerClass != nil {
		c.tokenizerClass = *j.TokenizerClass
	}
	if j.AddedTokensDecoder != nil {
		c.addedTokensDecoder = j.AddedTokensDecoder
	}
	if r, ok := raw["chat_template"]; ok && string(r) != "null" {
		if err := json.Unmarshal(r, &c.chatTemplate); err != nil {
			var named []struct{ Name, Template string }
			if err2 := json.Unmarshal(r, &named); err2 != nil {
				return fmt.Errorf("chat_template: want a string or [{\"name\", \"template\"}]: %w", err)
			}
			for _, n := range named {
				if n.Name == "default" || c.chatTemplate == "" {
					c.chatTemplate = n.Template
				}
			}
		}
	}
	switch c.paddingSide {
	case "", "left", "right":
	default:
		return fmt.Errorf("padding_side %q: want left or right", c.paddingSide)
	}
	return nil
}
