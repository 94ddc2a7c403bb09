package graph

import (
	"encoding/json"
	"fmt"
	"strings"
)

// SetLabelNames writes names as the config's id2label/label2id (id i is names[i]) and num_labels, as HF's
// run_glue does with a dataset's label list. A config whose head already has a different number of classes is
// refused: the names must describe the head that is trained.
func (c *Config) SetLabelNames(names []string) error {
	if len(names) == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			return fmt.Errorf("config: %s: label names %q: a name is empty", c.Path, strings.Join(names, ","))
		}
		if seen[n] {
			return fmt.Errorf("config: %s: label name %q is given twice", c.Path, n)
		}
		seen[n] = true
	}
	head, err := c.Head()
	if err != nil {
		return err
	}
	if head.NumLabels != len(names) {
		return fmt.Errorf("config: %s: %d label names for a head of %d classes (give --task with --num-labels %d to start a new head)",
			c.Path, len(names), head.NumLabels, len(names))
	}
	id2 := map[string]string{}
	l2i := map[string]int{}
	for i, n := range names {
		id2[fmt.Sprint(i)] = n
		l2i[n] = i
	}
	if c.Raw["id2label"], err = json.Marshal(id2); err != nil {
		return fmt.Errorf("config: %s: id2label: %w", c.Path, err)
	}
	if c.Raw["label2id"], err = json.Marshal(l2i); err != nil {
		return fmt.Errorf("config: %s: label2id: %w", c.Path, err)
	}
	c.Raw["num_labels"], _ = json.Marshal(len(names))
	return nil
}

// SetPadTokenID writes pad_token_id (a tokenizer without a pad token, padded with e.g. its EOS token as HF
// users do); sequence classification with a decoder needs it to find each row's last token.
func (c *Config) SetPadTokenID(id int) error {
	if id < 0 {
		return fmt.Errorf("config: %s: pad_token_id %d is negative", c.Path, id)
	}
	c.Raw["pad_token_id"], _ = json.Marshal(id)
	return nil
}
