package main

import (
	"fmt"

	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
	"github.com/spf13/cobra"
)

// GenerateOptions are the flags of `hift generate`.
type GenerateOptions struct {
	f         *factory
	Model     string
	Tokenizer string
	Prompt    string
	Gen       graph.GenerateOptions
}

func newGenerateCmd(f *factory, runF func(*GenerateOptions) error) *cobra.Command {
	opts := &GenerateOptions{f: f}
	cmd := &cobra.Command{
		Use:   "generate --model DIR --prompt TEXT [flags]",
		Short: "Continue a prompt with a causal LM (greedy or sampled)",
		Long: `generate tokenizes --prompt with the model's tokenizer (special tokens as the tokenizer adds them) and
continues it until EOS or --max-new-tokens. --temperature 0 (the default) decodes greedily; otherwise tokens are
sampled with --top-k / --top-p from --seed, reproducibly.`,
		Example: `  hift generate --model examples/tiny-llama --prompt "Query 1. Do not Bodies" --max-new-tokens 40`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Model == "" || opts.Prompt == "" {
				return badInput("generate needs --model and --prompt")
			}
			if opts.Gen.MaxNewTokens < 1 || opts.Gen.Temperature < 0 || opts.Gen.TopK < 0 || opts.Gen.TopP <= 0 || opts.Gen.TopP > 1 {
				return badInput("need --max-new-tokens >= 1, --temperature >= 0, --top-k >= 0 and 0 < --top-p <= 1")
			}
			if runF != nil {
				return runF(opts)
			}
			return runGenerate(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Model, "model", "", "checkpoint folder of a causal LM")
	fl.StringVar(&opts.Tokenizer, "tokenizer", "", "tokenizer (default: the model folder)")
	fl.StringVar(&opts.Prompt, "prompt", "", "text to continue")
	fl.IntVar(&opts.Gen.MaxNewTokens, "max-new-tokens", 64, "tokens to generate at most")
	fl.Float64Var(&opts.Gen.Temperature, "temperature", 0, "sampling temperature (0 = greedy)")
	fl.IntVar(&opts.Gen.TopK, "top-k", 0, "sample among the k most likely tokens (0 = all)")
	fl.Float64Var(&opts.Gen.TopP, "top-p", 1, "sample among the most likely tokens reaching this probability")
	fl.Uint64Var(&opts.Gen.Seed, "seed", 0, "sampling seed")
	return cmd
}

func runGenerate(opts *GenerateOptions) error {
	m, w, err := graph.LoadModel(opts.Model)
	if err != nil {
		return err
	}
	tokPath := opts.Tokenizer
	if tokPath == "" {
		tokPath = opts.Model
	}
	tok, err := tokenizer.Load(tokPath)
	if err != nil {
		return err
	}
	be, err := opts.f.Backend()
	if err != nil {
		return err
	}
	if ids, err := promptIDs(tok, opts.Prompt); err == nil {
		o := opts.Gen
		if fitGeneration(m, tok, ids, &o) == nil && o.MaxNewTokens < opts.Gen.MaxNewTokens {
			fmt.Fprintf(opts.f.stderr, "generating at most %d tokens (not %d): the %d-token prompt reaches the model's position limit of %d (%s)\n",
				o.MaxNewTokens, opts.Gen.MaxNewTokens, len(ids), m.Config.PositionLimit(), positionKey(m.Config))
		}
	}
	text, err := generateText(be, m, w, tok, opts.Prompt, opts.Gen)
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.f.stdout, opts.Prompt+text)
	return nil
}
