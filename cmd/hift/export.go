package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/gguf"
	"github.com/spf13/cobra"
)

// ExportOptions are the flags of `hift export`.
type ExportOptions struct {
	f      *factory
	Model  string
	Format string
	Out    string
	DType  string
}

func newExportCmd(f *factory, runF func(*ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{f: f}
	cmd := &cobra.Command{
		Use:   "export --model DIR --format gguf --out FILE [--dtype f32|f16|bf16]",
		Short: "Export a checkpoint to another format (GGUF for llama.cpp)",
		Long: `export converts the HF checkpoint in DIR. --format gguf writes a GGUF v3 file that llama.cpp loads:
LLaMA/Mistral causal LMs, weights in --dtype (norms stay f32), q/k rows permuted to llama.cpp's rotary layout,
and the byte-level BPE tokenizer of the checkpoint.`,
		Example: `  hift export --model examples/tiny-llama --format gguf --out tiny.gguf`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Model == "" || opts.Out == "" {
				return badInput("export needs --model and --out")
			}
			if opts.Format != "gguf" {
				return badInput("--format must be gguf (got %q)", opts.Format)
			}
			if _, ok := ggufTypes[strings.ToLower(opts.DType)]; !ok {
				return badInput("--dtype must be f32, f16 or bf16 (got %q)", opts.DType)
			}
			if runF != nil {
				return runF(opts)
			}
			return runExport(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Model, "model", "", "checkpoint folder")
	cmd.Flags().StringVar(&opts.Format, "format", "gguf", "output format: gguf")
	cmd.Flags().StringVar(&opts.Out, "out", "", "file to write")
	cmd.Flags().StringVar(&opts.DType, "dtype", "f32", "tensor type: f32, f16 or bf16")
	return cmd
}

var ggufTypes = map[string]uint32{"f32": gguf.TypeF32, "f16": gguf.TypeF16, "bf16": gguf.TypeBF16}

func runExport(opts *ExportOptions) error {
	m, w, err := graph.LoadModel(opts.Model)
	if err != nil {
		return err
	}
	kvs, ts, err := graph.GGUFLlama(m, w, ggufTypes[strings.ToLower(opts.DType)], filepath.Base(filepath.Clean(opts.Model)))
	if err != nil {
		return err
	}
	tok, err := tokenizer.Load(opts.Model)
	if err != nil {
		return err
	}
	tkv, err := tok.GGUFMetadata()
	if err != nil {
		return err
	}
	if err := gguf.WriteFile(opts.Out, append(kvs, tkv...), ts); err != nil {
		return err
	}
	fmt.Fprintf(opts.f.stderr, "wrote %s: %d tensors, %d metadata keys\n", opts.Out, len(ts), len(kvs)+len(tkv)+1)
	return nil
}
