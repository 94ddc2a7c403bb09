package main

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/safetensors"
	"github.com/spf13/cobra"
)

// ForwardOptions are the flags of `hift forward`.
type ForwardOptions struct {
	f      *factory
	Model  string
	Inputs string
	Out    string
	Grads  bool
	Hidden bool
	// Overwrite lets --out replace an existing file (never an input).
	Overwrite bool
}

func newForwardCmd(f *factory, runF func(*ForwardOptions) error) *cobra.Command {
	opts := &ForwardOptions{f: f}
	cmd := &cobra.Command{
		Use:   "forward --model DIR --inputs FILE.safetensors --out FILE.safetensors [--grads]",
		Short: "Run a model once in float32 and write logits, loss and (optionally) every gradient",
		Long: `forward runs the checkpoint in DIR on the batch in --inputs (tensors input_ids, attention_mask and
optionally token_type_ids, labels, start_positions/end_positions, as in the golden fixtures) and writes
logits (QA: start_logits, end_logits), loss when labels are given, and with --grads grad.<HF name> for every
parameter. It is the cross-implementation check to run against transformers.`,
		Example: `  hift forward --model testdata/fixtures/llama_causal_lm \
    --inputs testdata/fixtures/llama_causal_lm/inputs.safetensors --out out.safetensors --grads`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Model == "" || opts.Inputs == "" || opts.Out == "" {
				return badInput("forward needs --model, --inputs and --out")
			}
			if err := checkOutFile("out", opts.Out, opts.Overwrite, opts.Model, opts.Inputs); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runForward(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Model, "model", "", "checkpoint folder (config.json + safetensors)")
	cmd.Flags().StringVar(&opts.Inputs, "inputs", "", "safetensors file with the batch")
	cmd.Flags().StringVar(&opts.Out, "out", "", "safetensors file to write")
	cmd.Flags().BoolVar(&opts.Grads, "grads", false, "also write grad.<name> for every parameter (needs labels)")
	cmd.Flags().BoolVar(&opts.Hidden, "hidden-states", false, "also write hidden_states.<i>")
	cmd.Flags().BoolVar(&opts.Overwrite, "overwrite", false, "replace an existing --out file (never one of the inputs)")
	return cmd
}

func runForward(opts *ForwardOptions) error {
	if err := checkModelFits(opts.Model); err != nil {
		return err
	}
	m, weights, rep, err := graph.LoadModelReport(opts.Model)
	if err != nil {
		return err
	}
	if len(rep.Ignored) > 0 || rep.AddedPrefix != "" {
		fmt.Fprintf(opts.f.stderr, "loaded %s: %d ignored tensor(s) %v, base-model prefix %q added\n", opts.Model, len(rep.Ignored), rep.Ignored, rep.AddedPrefix)
	}
	batch, err := graph.LoadBatch(opts.Inputs)
	if err != nil {
		return err
	}
	if err := checkBatchIDs(m, batch, opts.Inputs); err != nil {
		return err
	}
	if opts.Grads {
		if _, ok := batch["labels"]; !ok {
			if _, ok := batch["start_positions"]; !ok {
				return badInput("--grads needs a loss, but %s has no labels", opts.Inputs)
			}
		}
	}
	b, err := opts.f.Backend()
	if err != nil {
		return err
	}
	out, err := graph.RunForward(b, m, weights, batch, graph.ForwardOptions{Grads: opts.Grads, Hidden: opts.Hidden})
	if err != nil {
		return err
	}
	recs, err := graph.ToSafetensors(out)
	if err != nil {
		return err
	}
	if err := safetensors.WriteFile(opts.Out, recs, map[string]string{"format": "pt", "producer": "hift " + Version}); err != nil {
		return err
	}
	fmt.Fprintf(opts.f.stderr, "wrote %d tensors to %s\n", len(recs), opts.Out)
	return nil
}

// checkBatchIDs refuses input_ids outside the model's vocabulary and, for a causal LM, token labels that are
// neither -100 nor a vocabulary id: the graph's gather would read a clamped row and print logits and a loss
// with exit 0 (transformers raises an index error).
func checkBatchIDs(m *graph.Model, batch map[string]*tensors.Tensor, path string) error {
	vocab, ok := m.Config.IntField("vocab_size")
	if !ok || vocab <= 0 {
		return nil
	}
	check := func(name string, ignore bool) error {
		t, ok := batch[name]
		if !ok || t.DType() != dtypes.Int64 {
			return nil
		}
		var err error
		tensors.MustConstFlatData(t, func(flat []int64) {
			for i, v := range flat {
				if (v < 0 || v >= int64(vocab)) && !(ignore && v == -100) {
					err = fmt.Errorf("batch %s: %s element %d = %d is outside the model's vocabulary [0, %d) (%s)", path, name, i, v, vocab, m.Config.Path)
					return
				}
			}
		})
		return err
	}
	if err := check("input_ids", false); err != nil {
		return err
	}
	if m.Task == graph.TaskCausalLM {
		return check("labels", true)
	}
	return nil
}
