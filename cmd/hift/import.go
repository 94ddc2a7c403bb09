package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/gguf"
	"github.com/hift-go/hift/io/safetensors"
	"github.com/spf13/cobra"
)

// ImportOptions are the flags of `hift import`.
type ImportOptions struct {
	f      *factory
	In     string
	Format string
	Out    string
}

func newImportCmd(f *factory, runF func(*ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{f: f}
	cmd := &cobra.Command{
		Use:   "import --format gguf|onnx --in FILE --out DIR",
		Short: "Import a model from another format into an HF checkpoint folder (GGUF from llama.cpp, ONNX)",
		Long: `import converts a GGUF file (llama, qwen2, ...: every architecture hift exports) into config.json,
model.safetensors (float32, HF names, q/k rows back in HF's layout; Q8_0/Q4_0/Q4_1/Q5_0/Q5_1/Q4_K/Q5_K/Q6_K
tensors dequantized, so a quantized model can be fine-tuned again) and, for GPT-2-style byte-level BPE
vocabularies, tokenizer.json and tokenizer_config.json. --format onnx recovers the HF checkpoint from a
model.onnx whose initializers carry HF names (hift's own exports, optimum's exports of the same
architectures; the config comes from the file's metadata or a config.json beside it). A tensor hift cannot
place is an error, never dropped.`,
		Example: `  hift import --format gguf --in tiny.gguf --out /tmp/tiny-hf
  hift import --format onnx --in /tmp/tiny-onnx/model.onnx --out /tmp/tiny-from-onnx`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.In == "" || opts.Out == "" {
				return badInput("import needs --in and --out")
			}
			if err := checkOutFolder("out", opts.Out, opts.In); err != nil {
				return err
			}
			if opts.Format == "onnx" && runF == nil {
				return runImportONNX(opts)
			}
			if opts.Format != "gguf" {
				return badInput("--format must be gguf (got %q)", opts.Format)
			}
			if runF != nil {
				return runF(opts)
			}
			return runImport(opts)
		},
	}
	cmd.Flags().StringVar(&opts.In, "in", "", "file to import")
	cmd.Flags().StringVar(&opts.Format, "format", "gguf", "input format: gguf or onnx")
	cmd.Flags().StringVar(&opts.Out, "out", "", "checkpoint folder to write")
	return cmd
}

func runImport(opts *ImportOptions) error {
	g, err := gguf.Open(opts.In)
	if err != nil {
		return err
	}
	defer g.Close()
	cfg, weights, err := graph.GGUFImport(g)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	recs, err := graph.ToSafetensors(weights)
	if err != nil {
		return err
	}
	if err := safetensors.WriteFile(filepath.Join(opts.Out, safetensors.SingleFileName), recs, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	cj, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(opts.Out, "config.json"), cj, 0o644); err != nil {
		return err
	}
	tj, err := tokenizer.TokenizerJSONFromGGUF(g.KV, opts.In)
	if err != nil {
		fmt.Fprintf(opts.f.stderr, "tokenizer not imported: %v\n", err)
	} else {
		if err := os.WriteFile(filepath.Join(opts.Out, "tokenizer.json"), tj, 0o644); err != nil {
			return err
		}
		tc := tokenizer.TokenizerConfigFromGGUF(g.KV)
		b, _ := json.MarshalIndent(tc, "", "  ")
		if err := os.WriteFile(filepath.Join(opts.Out, "tokenizer_config.json"), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(opts.f.stderr, "imported %s: %d tensors into %s\n", opts.In, len(recs), opts.Out)
	return nil
}
