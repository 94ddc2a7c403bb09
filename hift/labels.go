package hift

import (
	"encoding/json"
	"fmt"

	hgraph "github.com/hift-go/hift/graph"
)

// applyLabelsAndPad writes Options.LabelNames and Options.PadToken into the config.
func applyLabelsAndPad(cfg *hgraph.Config, opts Options) error {
	if err := cfg.SetLabelNames(opts.LabelNames); err != nil {
		return err
	}
	if opts.PadToken != "" {
		return cfg.SetPadTokenID(opts.PadTokenID)
	}
	return nil
}

// setPadTokenFiles sets pad_token in tokenizer_config.json (created when the model has none) and in
// special_tokens_map.json when present, so transformers' tokenizer pads with the token the run used.
func setPadTokenFiles(files map[string][]byte, pad string) error {
	if pad == "" {
		return nil
	}
	for _, name := range []string{"tokenizer_config.json", "special_tokens_map.json"} {
		b, ok := files[name]
		if !ok {
			if name == "special_tokens_map.json" {
				continue
			}
			b = []byte("{}")
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%s: not a JSON object: %w", name, err)
		}
		if m == nil {
			m = map[string]json.RawMessage{}
		}
		m["pad_token"], _ = json.Marshal(pad)
		out, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		files[name] = append(out, '\n')
	}
	return nil
}
