package main

import (
	"encoding/json"
	"fmt"

	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/hift"
	"github.com/spf13/cobra"
)

// EvalOptions are the flags of `hift eval`.
type EvalOptions struct {
	f         *factory
	Model     string
	Data      string
	BatchSize int
	JSON      bool
	DataFlags DataFlags
}

func newEvalCmd(f *factory, runF func(*EvalOptions) error) *cobra.Command {
	opts := &EvalOptions{f: f}
	cmd := &cobra.Command{
		Use:   "eval --model DIR --data FILE [flags]",
		Short: "Evaluate a checkpoint: loss and perplexity, accuracy/F1, or QA exact match/F1",
		Long: `eval runs the checkpoint in DIR over every example of --data (a pre-tokenized .safetensors batch file, or
JSONL/CSV/Parquet text formatted for the model's task) and prints the task's metrics: loss and perplexity for
causal LM; accuracy and macro-F1 for sequence and token classification; accuracy for multiple choice; exact
match and token-span F1 for extractive QA.`,
		Example: `  hift eval --model examples/tiny-llama --data examples/data/opticks-queries-eval.jsonl --seq-len 128`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Model == "" || opts.Data == "" {
				return badInput("eval needs --model and --data")
			}
			if opts.BatchSize < 1 {
				return badInput("--batch-size must be >= 1")
			}
			if err := opts.DataFlags.validate(); err != nil {
				return badInput("%v", err)
			}
			if runF != nil {
				return runF(opts)
			}
			return runEval(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Model, "model", "", "checkpoint folder")
	cmd.Flags().StringVar(&opts.Data, "data", "", "evaluation data")
	cmd.Flags().IntVar(&opts.BatchSize, "batch-size", 8, "examples per batch")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the metrics as JSON")
	opts.DataFlags.bind(cmd.Flags())
	return cmd
}

func runEval(opts *EvalOptions) error {
	if err := checkModelFits(opts.Model); err != nil {
		return err
	}
	m, w, err := graph.LoadModel(opts.Model)
	if err != nil {
		return err
	}
	// As train: a --seq-len past the model's positions indexes past learned tables (or allocates attention far
	// beyond memory: --seq-len 100000 was a Go "fatal error: out of memory"), and ids must fit the vocabulary.
	if err := checkSeqLen(m.Config, opts.Data, opts.DataFlags.SeqLen); err != nil {
		return err
	}
	logf := func(format string, args ...any) { fmt.Fprintf(opts.f.stderr, format, args...) }
	ds, err := opts.DataFlags.load(opts.Data, opts.Model, m, logf)
	if err != nil {
		return err
	}
	if ds, err = (&TrainOptions{DataFlags: opts.DataFlags}).checkDataset(m.Config, ds, logf); err != nil {
		return err
	}
	if _, ok := ds.Columns["labels"]; !ok {
		if _, ok := ds.Columns["start_positions"]; !ok {
			// Without them every metric would print as 0 (eval_loss 0), as if the model were perfect.
			return fmt.Errorf("data %s: no labels (or start_positions/end_positions) tensor: eval needs them to score the model", ds.Path)
		}
	}
	be, err := opts.f.Backend()
	if err != nil {
		return err
	}
	em, err := hift.EvaluateWithProgress(be, m, w, ds, opts.BatchSize, evalProgress(opts.f.stderr)) // progress.go
	if err != nil {
		return err
	}
	if opts.JSON {
		b, _ := json.MarshalIndent(em, "", "  ")
		fmt.Fprintln(opts.f.stdout, string(b))
		return nil
	}
	fmt.Fprintln(opts.f.stdout, em)
	return nil
}
