package tokenizer

import (
	"encoding/json"
	"fmt"
)

// postProcessor adds the special tokens of add_special_tokens=True around one sequence (b == nil) or a pair.
type postProcessor interface {
	process(a, b []int, pair bool) []int
}

const supportedProcessors = "TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel, Sequence"

// templateProcessing is HF's TemplateProcessing: pieces are either a special token (one or more ids) or one of
// the input sequences A and B.
type templateProcessing struct {
	single, pair []templatePiece
}

type templatePiece struct {
	seq int   // 0 = A, 1 = B, -1 = special token
	ids []int // for a special token
}

func (t templateProcessing) process(a, b []int, pair bool) []int {
	tmpl := t.single
	if pair {
		tmpl = t.pair
	}
	out := make([]int, 0, len(a)+len(b)+4)
	for _, p := range tmpl {
		switch p.seq {
		case 0:
			out = append(out, a...)
		case 1:
			out = append(out, b...)
		default:
			out = append(out, p.ids...)
		}
	}
	return out
}

// clsSepProcessing is RobertaProcessing (<s> A </s></s> B </s>) or BertProcessing ([CLS] A [SEP] B [SEP]).
type clsSepProcessing struct {
	cls, sep  int
	doubleSep bool
}

func (p clsSepProcessing) process(a, b []int, pair bool) []int {
	out := make([]int, 0, len(a)+len(b)+4)
	out = append(append(append(out, p.cls), a...), p.sep)
	if pair {
		if p.doubleSep {
			out = append(out, p.sep)
		}
		out = append(append(out, b...), p.sep)
	}
	return out
}

// noProcessing concatenates the sequences (ByteLevel's post-processor only trims offsets).
type noProcessing struct{}

func (noProcessing) process(a, b []int, pair bool) []int {
	return append(append(make([]int, 0, len(a)+len(b)), a...), b...)
}

func buildProcessor(raw json.RawMessage) (postProcessor, error) {
	c, ok, err := parseComponent(raw)
	if err != nil || !ok {
		return nil, err
	}
	switch t := c.typ(); t {
	case "TemplateProcessing":
		return buildTemplate(c)
	case "RobertaProcessing", "BertProcessing":
		var cls, sep [2]json.RawMessage
		if err := c.field("cls", &cls); err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		if err := c.field("sep", &sep); err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		p := clsSepProcessing{doubleSep: t == "RobertaProcessing"}
		if err := json.Unmarshal(cls[1], &p.cls); err != nil {
			return nil, fmt.Errorf("%s: cls: want [token, id]: %w", t, err)
		}
		if err := json.Unmarshal(sep[1], &p.sep); err != nil {
			return nil, fmt.Errorf("%s: sep: want [token, id]: %w", t, err)
		}
		return p, nil
	case "ByteLevel":
		return noProcessing{}, nil
	case "Sequence":
		var items []json.RawMessage
		if err := c.field("processors", &items); err != nil {
			return nil, err
		}
		var found postProcessor = noProcessing{}
		for i, item := range items {
			p, err := buildProcessor(item)
			if err != nil {
				return nil, fmt.Errorf("Sequence[%d]: %w", i, err)
			}
			if _, identity := p.(noProcessing); p == nil || identity {
				continue
			}
			if _, identity := found.(noProcessing); !identity {
				return nil, fmt.Errorf("Sequence: more than one processor that adds tokens is not supported")
			}
			found = p
		}
		return found, nil
	default:
		return nil, fmt.Errorf("unsupported post_processor %q (supported: %s)", t, supportedProcessors)
	}
}

func buildTemplate(c rawComponent) (postProcessor, error) {
	var special map[string]struct {
		IDs []int `json:"ids"`
	}
	if err := c.field("special_tokens", &special); err != nil {
		return nil, fmt.Errorf("TemplateProcessing: %w", err)
	}
	parse := func(name string) ([]templatePiece, error) {
		var items []struct {
			SpecialToken *struct{ ID string } `json:"SpecialToken"`
			Sequence     *struct{ ID string } `json:"Sequence"`
		}
		if err := c.field(name, &items); err != nil {
			return nil, fmt.Errorf("TemplateProcessing: %w", err)
		}
		var out []templatePiece
		for _, it := range items {
			switch {
			case it.Sequence != nil && it.Sequence.ID == "A":
				out = append(out, templatePiece{seq: 0})
			case it.Sequence != nil && it.Sequence.ID == "B":
				out = append(out, templatePiece{seq: 1})
			case it.SpecialToken != nil:
				st, ok := special[it.SpecialToken.ID]
				if !ok {
					return nil, fmt.Errorf("TemplateProcessing: %s: special token %q missing from special_tokens",
						name, it.SpecialToken.ID)
				}
				out = append(out, templatePiece{seq: -1, ids: st.IDs})
			default:
				return nil, fmt.Errorf("TemplateProcessing: %s: want {\"SpecialToken\": ...} or {\"Sequence\": "+
					"{\"id\": \"A\"|\"B\"}}", name)
			}
		}
		return out, nil
	}
	single, err := parse("single")
	if err != nil {
		return nil, err
	}
	pair, err := parse("pair")
	if err != nil {
		return nil, err
	}
	return templateProcessing{single: single, pair: pair}, nil
}
