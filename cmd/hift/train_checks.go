package main

import (
	"strings"

	"github.com/hift-go/hift/data"
	"github.com/hift-go/hift/graph"
)

// checkSeqLen refuses text data formatted longer than the model's positions support (every family: learned
// position tables would index past their end, rotary models were never trained that far).
func checkSeqLen(cfg *graph.Config, dataPath string, seqLen int) error {
	if limit := cfg.PositionLimit(); limit > 0 && !isPretokenized(dataPath) && seqLen > limit {
		return badInput("--seq-len %d is above the model's position limit of %d (%s in %s); use --seq-len %d or less",
			seqLen, limit, positionKey(cfg), cfg.Path, limit)
	}
	return nil
}

func positionKey(cfg *graph.Config) string {
	for _, k := range []string{"max_position_embeddings", "n_positions", "n_ctx"} {
		if cfg.Has(k) {
			return k
		}
	}
	return "config"
}

// checkDataset checks a loaded dataset against the model: sequences no longer than the position limit, token
// ids inside the vocabulary (bad examples are errors naming the row, or skipped and counted with
// --skip-bad-rows).
func (o *TrainOptions) checkDataset(cfg *graph.Config, ds *data.TensorDataset, logf func(string, ...any)) (*data.TensorDataset, error) {
	if ids, ok := ds.Columns["input_ids"]; ok && len(ids.Shape) >= 2 {
		if t, limit := ids.Shape[len(ids.Shape)-1], cfg.PositionLimit(); limit > 0 && t > limit {
			return nil, badInput("data %s: sequences of %d tokens are longer than the model's position limit of %d (%s in %s)",
				ds.Path, t, limit, positionKey(cfg), cfg.Path)
		}
	}
	vocab, _ := cfg.IntField("vocab_size")
	checked, skipped, err := data.CheckTokenIDs(ds, vocab, o.DataFlags.SkipBadRows)
	if err != nil {
		return nil, err
	}
	if c := cfg.Class(); strings.HasSuffix(c, "ForCausalLM") || strings.HasSuffix(c, "LMHeadModel") {
		// After the id check: rows --skip-bad-rows dropped take their labels with them.
		if err := data.CheckLabelIDs(checked, vocab); err != nil {
			return nil, err
		}
	}
	if skipped > 0 {
		logf("%s: skipped %d example(s) with token ids outside the vocabulary of %d (--skip-bad-rows)\n", ds.Path, skipped, vocab)
	}
	return checked, nil
}
