package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/safetensors"
	"github.com/spf13/cobra"
)

// InitOptions are the flags of `hift init`.
type InitOptions struct {
	f         *factory
	Config    string
	Tokenizer string
	Out       string
	Seed      uint64
	DType     string
}

func newInitCmd(f *factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{f: f}
	cmd := &cobra.Command{
		Use:   "init --config config.json --out DIR [--tokenizer tokenizer.json]",
		Short: "Create a new, randomly initialised checkpoint from a config.json (for pre-training from scratch)",
		Long: `init writes an HF checkpoint folder whose weights are drawn at random (matrices ~ N(0, 1/fan_in), norm
weights 1, biases 0, from --seed). It is the only command that initialises weights at random: loading a
checkpoint never does.`,
		Example: `  hift init --config examples/tiny-llama/config.json --tokenizer examples/tiny-llama/tokenizer.json --out /tmp/scratch`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Config == "" || opts.Out == "" {
				return badInput("init needs --config and --out")
			}
			if opts.DType != "F32" && opts.DType != "BF16" {
				return badInput("--dtype must be F32 or BF16, got %q", opts.DType)
			}
			if err := checkOutFolder("out", opts.Out, opts.Config, opts.Tokenizer); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runInit(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Config, "config", "", "HF config.json of the model")
	cmd.Flags().StringVar(&opts.Tokenizer, "tokenizer", "", "tokenizer.json (or tokenizer.model) to copy beside the weights")
	cmd.Flags().StringVar(&opts.Out, "out", "", "checkpoint folder to create")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 42, "random seed")
	cmd.Flags().StringVar(&opts.DType, "dtype", "F32", "stored dtype: F32 or BF16")
	return cmd
}

func runInit(opts *InitOptions) error {
	cfgBytes, err := os.ReadFile(opts.Config)
	if err != nil {
		return err
	}
	cfg, err := graph.ParseConfig(cfgBytes, opts.Config)
	if err != nil {
		return err
	}
	if err := checkFits(cfg, machineMemory()); err != nil {
		return err
	}
	m, err := graph.NewModel(cfg)
	if err != nil {
		return err
	}
	w := graph.RandomWeights(m, opts.Seed)
	var recs []safetensors.Tensor
	for _, name := range graph.SortedKeys(w) {
		vals := tensors.MustCopyFlatData[float32](w[name])
		b, err := safetensors.EncodeFloat32(safetensors.DType(opts.DType), vals)
		if err != nil {
			return err
		}
		recs = append(recs, safetensors.Tensor{Name: name, DType: safetensors.DType(opts.DType), Shape: w[name].Shape().Dimensions, Data: b})
	}
	var tokName string
	var tokBytes []byte
	if opts.Tokenizer != "" {
		// Checked before anything is written: a folder with a tokenizer that cannot load is a broken checkpoint.
		if _, err := tokenizer.Load(opts.Tokenizer); err != nil {
			return err
		}
		st, err := os.Stat(opts.Tokenizer)
		if err != nil {
			return err
		}
		if st.IsDir() {
			return badInput("--tokenizer %s is a folder; give its tokenizer.json or tokenizer.model", opts.Tokenizer)
		}
		if tokBytes, err = os.ReadFile(opts.Tokenizer); err != nil {
			return err
		}
		// Saved under the name loaders look for, whatever the source file is called.
		tokName = "tokenizer.json"
		if base := filepath.Base(opts.Tokenizer); strings.HasSuffix(base, ".model") || strings.HasSuffix(base, ".model.gz") {
			tokName = "tokenizer.model"
		}
		if strings.HasSuffix(filepath.Base(opts.Tokenizer), ".gz") {
			tokName += ".gz"
		}
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	if err := safetensors.WriteFile(filepath.Join(opts.Out, safetensors.SingleFileName), recs, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(opts.Out, "config.json"), cfgBytes, 0o644); err != nil {
		return err
	}
	if tokName != "" {
		if err := writeSideFile(filepath.Join(opts.Out, tokName), tokBytes); err != nil {
			return err
		}
	}
	fmt.Fprintf(opts.f.stderr, "initialised %s (%d parameters, %s) in %s\n", m.Class, m.NumParameters(), opts.DType, opts.Out)
	return nil
}
