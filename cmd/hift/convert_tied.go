package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/safetensors"
)

// dropTiedCopies removes the tied duplicates transformers' save_pretrained leaves out of safetensors: when the
// config ties a weight to another (tie_word_embeddings: lm_head.weight is the embedding matrix), HF writes the
// owner only, so a converted checkpoint holds the same names as one HF saves. A tied copy is dropped only when
// it is byte-identical to its owner; one that differs is an error (the config says the two are one tensor, and
// hift's loader would refuse the file), naming both. A path without a config.json hift understands (a lone .bin
// file, an architecture hift does not build) is converted as it is, with a note on stderr.
func dropTiedCopies(model string, ts []safetensors.Tensor, note io.Writer) ([]safetensors.Tensor, []string, error) {
	cfg, err := graph.LoadConfig(model)
	if err != nil {
		fmt.Fprintf(note, "convert: no tied-weight check (%v); every tensor is kept\n", err)
		return ts, nil, nil
	}
	m, err := graph.NewModel(cfg)
	if err != nil {
		fmt.Fprintf(note, "convert: no tied-weight check (%v); every tensor is kept\n", err)
		return ts, nil, nil
	}
	if len(m.Tied) == 0 {
		return ts, nil, nil
	}
	names := make([]string, len(ts))
	byFile := make(map[string]int, len(ts))
	for i, t := range ts {
		names[i] = t.Name
		byFile[t.Name] = i
	}
	nm := m.MatchNames(names)
	fileOf := make(map[string]string, len(nm.ModelName)) // model name → checkpoint name
	for f, name := range nm.ModelName {
		fileOf[name] = f
	}
	drop := map[string]bool{}
	var dropped []string
	for _, t := range ts {
		owner, tied := m.Tied[nm.ModelName[t.Name]]
		if !tied {
			continue
		}
		of, ok := fileOf[owner]
		if !ok {
			continue // the owner is absent: this copy is the only one, keep it
		}
		o := ts[byFile[of]]
		if o.DType != t.DType || !slices.Equal(o.Shape, t.Shape) || !bytes.Equal(o.Data, t.Data) {
			return nil, nil, fmt.Errorf("convert %s: %s is tied to %s by %s (%s), but the two tensors differ (%s %v vs %s %v); "+
				"HF would load one as the other: fix the config (set it false if the head is separate) or the weights",
				model, t.Name, of, cfg.Path, tieKey(cfg), t.DType, t.Shape, o.DType, o.Shape)
		}
		drop[t.Name] = true
		dropped = append(dropped, t.Name)
	}
	if len(dropped) == 0 {
		return ts, nil, nil
	}
	out := make([]safetensors.Tensor, 0, len(ts)-len(dropped))
	for _, t := range ts {
		if !drop[t.Name] {
			out = append(out, t)
		}
	}
	sort.Strings(dropped)
	return out, dropped, nil
}

// tieKey names the config setting that ties the weights, for the error message.
func tieKey(cfg *graph.Config) string {
	if cfg.Has("tie_word_embeddings") {
		return "tie_word_embeddings"
	}
	return "tie_word_embeddings, true by default for " + cfg.Class()
}
