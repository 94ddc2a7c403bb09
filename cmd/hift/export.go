package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/gguf"
	"github.com/hift-go/hift/io/torchbin"
	"github.com/spf13/cobra"
)

// ExportOptions are the flags of `hift export`.
type ExportOptions struct {
	f      *factory
	Model  string
	Format string
	Out    string
	DType  string
	ONNX   ONNXExportFlags // --format onnx only (export_onnx.go)
	// Adapter is a PEFT LoRA folder (hift train --lora output) written as a llama.cpp adapter GGUF.
	Adapter string
	// Overwrite lets export replace an existing output file (never an input).
	Overwrite bool
	// EmbeddingsOnly writes a BERT/RoBERTa encoder as llama.cpp's bert embedding model (its head dropped);
	// Pooling is its pooling_type (none, mean, cls).
	EmbeddingsOnly bool
	Pooling        string
	// name is general.name when set (a re-typed GGUF keeps its own); otherwise the --model folder's name.
	name string
}

func newExportCmd(f *factory, runF func(*ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{f: f}
	cmd := &cobra.Command{
		Use:   "export --model DIR --format gguf|onnx --out FILE|DIR [--dtype f32|f16|bf16|q8_0|q4_0|q4_k_m|q5_k_m|q6_k|...]",
		Short: "Export a checkpoint to another format (GGUF for llama.cpp, ONNX for onnxruntime)",
		Long: `export converts the HF checkpoint in DIR. --format gguf writes a GGUF v3 file that llama.cpp loads,
with the checkpoint's tokenizer. --dtype picks the tensor types: f32, f16 and bf16 store every matrix in that
type; the block quantizations (q8_0, q4_0, q4_1, q5_0, q5_1, q6_k) and llama-quantize's mixes (q4_k_s,
q4_k_m, q5_k_s, q5_k_m) are computed in pure Go, bit for bit as llama-quantize writes them without an
importance matrix (1-D tensors stay f32, output and "more bits" layers get more bits, K-quants fall back to
Q5_0/Q5_1/Q8_0 when a row is not a multiple of 256). Tensors are quantized in parallel and streamed to the
file one at a time. A BERT or RoBERTa checkpoint is written as llama.cpp's bert embedding model only with
--embeddings-only: its task head is dropped, and llama.cpp computes the encoder's embeddings, pooled as
--pooling says; a BERT without a head (hift import's BertModel from a llama.cpp bert GGUF) is written so
without the flag, with the pooling it was imported with. --model may also be a GGUF file (hift's or llama.cpp's, any type above): it is dequantized
into a temporary folder beside --out and written again in --dtype, as llama-quantize re-types a file (a note
says when the input was quantized already, whose rounding then adds up).

--format onnx writes DIR/model.onnx for onnxruntime in Hugging Face optimum's layout (opset 18 by default;
inputs input_ids, attention_mask, position_ids for decoders, token_type_ids for BERT; outputs logits, or
start_logits/end_logits for QA; dynamic batch and sequence axes), for every architecture and task head;
--with-past adds past_key_values.{i}.key/value inputs and present.{i}.key/value outputs; weights above 2 GB
(or with --external-data) go to model.onnx_data; config and tokenizer files are copied beside it.`,
		Example: `  hift export --model examples/tiny-llama --format gguf --out tiny.gguf
  hift export --model out/checkpoint --format gguf --dtype q4_k_m --out model-q4_k_m.gguf
  hift export --model tiny.gguf --format gguf --dtype q4_k_m --out tiny-q4_k_m.gguf   # re-type a GGUF
  hift export --model base --adapter out/lora-run --format gguf --out lora.gguf   # llama.cpp --lora
  hift export --model bert-run --format gguf --embeddings-only --pooling cls --out embed.gguf
  hift export --model examples/tiny-llama --format onnx --with-past --out /tmp/tiny-onnx`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Model == "" || opts.Out == "" {
				return badInput("export needs --model and --out")
			}
			if opts.Out == "-" {
				return badInput("--out -: export writes files (GGUF or an ONNX folder), not to standard output; give a path")
			}
			opts.Format = strings.ToLower(opts.Format) // --format GGUF as --format gguf
			run, ok := exportFormats[opts.Format]
			if !ok {
				return badInput("--format must be one of %s (got %q)", strings.Join(sortedKeys(exportFormats), ", "), opts.Format)
			}
			if opts.Format == "gguf" {
				if _, err := gguf.ParseMix(opts.DType); err != nil {
					return badInput("--dtype: %v", err)
				}
				if err := checkOutFile("out", opts.Out, opts.Overwrite, opts.Model, opts.Adapter); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return run(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Model, "model", "", "checkpoint folder (with --format gguf also a .gguf file to re-type)")
	cmd.Flags().StringVar(&opts.Format, "format", "gguf", "output format: gguf (llama.cpp) or onnx (onnxruntime)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "file to write (gguf; missing folders are created) or folder (onnx)")
	cmd.Flags().StringVar(&opts.Adapter, "adapter", "", "with --format gguf: write this PEFT LoRA folder as a llama.cpp adapter for the base model --model")
	cmd.Flags().StringVar(&opts.DType, "dtype", "f32", "tensor type or llama.cpp mix: "+strings.Join(gguf.MixNames(), ", "))
	cmd.Flags().BoolVar(&opts.EmbeddingsOnly, "embeddings-only", false, "with --format gguf: write a BERT/RoBERTa encoder as llama.cpp's bert embedding model, dropping its task head")
	cmd.Flags().StringVar(&opts.Pooling, "pooling", "", "with --embeddings-only: llama.cpp's pooling of the token embeddings: none, mean, cls or last (default: the pooling an imported GGUF had, else mean)")
	cmd.Flags().BoolVar(&opts.Overwrite, "overwrite", false, "replace an existing --out file (onnx: --out/model.onnx), never one of the inputs")
	addONNXExportFlags(cmd, &opts.ONNX)
	return cmd
}

// exportFormats maps --format to its exporter (one line per format).
var exportFormats = map[string]func(*ExportOptions) error{
	"gguf": runExport,
	"onnx": runExportONNX,
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func runExport(opts *ExportOptions) error {
	if gguf.IsGGUF(opts.Model) {
		return runExportFromGGUF(opts)
	}
	if st, err := os.Stat(opts.Model); err == nil && !st.IsDir() {
		return badInput("--model %s is a file; give the checkpoint folder (config.json and weights), or a .gguf file to re-type", opts.Model)
	}
	if opts.Adapter != "" {
		return runExportAdapter(opts)
	}
	mix, err := gguf.ParseMix(opts.DType)
	if err != nil {
		return badInput("--dtype: %v", err)
	}
	// Tensors are read from the checkpoint one at a time while the file streams (no full load).
	cfg, err := graph.LoadConfig(opts.Model)
	if err != nil {
		return err
	}
	m, headless, cfgPooling, err := graph.GGUFExportModel(cfg)
	if err != nil {
		return err
	}
	// A headless encoder (a BertModel, as import writes llama.cpp's bert models) can only be an embedding
	// model, written with the pooling it was imported with unless --pooling says otherwise.
	embeddings := opts.EmbeddingsOnly || headless
	poolingName := opts.Pooling
	if poolingName == "" {
		poolingName = cfgPooling
	}
	if poolingName == "" {
		poolingName = "mean"
	}
	ck, err := torchbin.Open(opts.Model)
	if err != nil {
		return err
	}
	defer ck.Close()
	w, err := graph.CheckpointWeights(m, ck)
	if err != nil {
		return err
	}
	name := filepath.Base(filepath.Clean(opts.Model))
	if opts.name != "" {
		name = opts.name
	}
	var kvs []gguf.KV
	var ts []gguf.Tensor
	if embeddings {
		pooling, ok := map[string]int{"none": graph.GGUFPoolingNone, "mean": graph.GGUFPoolingMean, "cls": graph.GGUFPoolingCLS, "last": graph.GGUFPoolingLast}[poolingName]
		if !ok {
			return badInput("--pooling must be none, mean, cls or last (got %q)", poolingName)
		}
		kvs, ts, err = graph.GGUFExportEmbeddings(m, w, mix, name, pooling)
	} else {
		kvs, ts, err = graph.GGUFExport(m, w, mix, name)
	}
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
	if err := makeOutParent("out", opts.Out); err != nil {
		return err
	}
	if err := gguf.WriteFile(opts.Out, append(kvs, tkv...), ts); err != nil {
		return err
	}
	fmt.Fprintf(opts.f.stderr, "wrote %s (%s): %d tensors, %d metadata keys\n", opts.Out, mix.Name, len(ts), len(kvs)+len(tkv)+1)
	return nil
}
