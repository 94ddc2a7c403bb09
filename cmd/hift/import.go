package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/internal/outdir"
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
	// Overwrite lets import replace a non-empty --out folder (never one holding the input).
	Overwrite bool
}

func newImportCmd(f *factory, runF func(*ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{f: f}
	cmd := &cobra.Command{
		Use:   "import --format gguf|onnx --in FILE --out DIR [--overwrite]",
		Short: "Import a model from another format into an HF checkpoint folder (GGUF from llama.cpp, ONNX)",
		Long: `import converts a GGUF file (llama, qwen2, gpt2, gptneox, bert: every architecture hift exports) into
config.json, model.safetensors (float32, HF names, q/k rows back in HF's layout; Q8_0/Q4_0/Q4_1/Q5_0/Q5_1/
Q4_K/Q5_K/Q6_K tensors dequantized, so a quantized model can be fine-tuned again) and, where hift can read the
GGUF vocabulary, tokenizer.json and tokenizer_config.json. llama.cpp's bert embedding models come back as an
HF BertModel (no task head: hift train --task seq_cls|token_cls --init-head adds one, and for seq_cls
a new pooler, which GGUF does not hold), their pooling in config.json's
hift_gguf_pooling; a RoBERTa exported by hift comes back as a BERT computing the same embeddings (position i
is row i; RoBERTa's left-padded batches, whose positions skip the padding, are the exception). --format
onnx recovers the HF checkpoint from a model.onnx whose initializers carry HF names (hift's own exports,
optimum's exports of the same architectures; the config comes from the file's metadata or a config.json
beside it). A tensor hift cannot place is an error, never dropped. A vocab-only GGUF gives just the
tokenizer files; a LoRA adapter GGUF (general.type adapter) and one part of a llama-gguf-split file are
refused by what they are (merge the parts with llama-gguf-split --merge first).

The folder is written complete or not at all: everything goes to a hidden folder beside --out, renamed into
place at the end. A non-empty --out is refused unless --overwrite, which replaces it whole.`,
		Example: `  hift import --format gguf --in tiny.gguf --out /tmp/tiny-hf
  hift import --format gguf --in embed-q8_0.gguf --out /tmp/embed-hf --overwrite
  hift import --format onnx --in /tmp/tiny-onnx/model.onnx --out /tmp/tiny-from-onnx`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.In == "" || opts.Out == "" {
				return badInput("import needs --in and --out")
			}
			opts.Format = strings.ToLower(opts.Format)
			if opts.Format != "gguf" && opts.Format != "onnx" {
				return badInput("--format must be gguf or onnx (got %q)", opts.Format)
			}
			if st, err := os.Stat(opts.In); err == nil && st.IsDir() && opts.Format == "gguf" {
				return badInput("--in %s is a folder; give the .gguf file to import", opts.In)
			}
			if err := checkImportOut(opts); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			if opts.Format == "onnx" {
				return stagedImport(opts, runImportONNX)
			}
			return stagedImport(opts, runImport)
		},
	}
	cmd.Flags().StringVar(&opts.In, "in", "", "file to import")
	cmd.Flags().StringVar(&opts.Format, "format", "gguf", "input format: gguf or onnx")
	cmd.Flags().StringVar(&opts.Out, "out", "", "checkpoint folder to write (new or empty, or any with --overwrite)")
	cmd.Flags().BoolVar(&opts.Overwrite, "overwrite", false, "replace a non-empty --out folder (never one holding the input)")
	return cmd
}

// checkImportOut refuses an --out that is a file, holds the input, or (without --overwrite) already holds
// anything: a checkpoint is named as such (as init and convert refuse it), other files are listed.
func checkImportOut(opts *ImportOptions) error {
	if rel, err := outdir.Overlap(opts.Out, opts.In); err == nil && rel != "" {
		return badInput("--out %s %s the input %s; write to a new folder", opts.Out, rel, opts.In)
	}
	st, err := os.Stat(opts.Out)
	if err != nil {
		return nil
	}
	if !st.IsDir() {
		return badInput("--out %s is a file; give a folder to write", opts.Out)
	}
	names, err := outdir.Contents(opts.Out)
	if err != nil {
		return err
	}
	if len(names) == 0 || opts.Overwrite {
		return nil
	}
	for _, n := range names {
		if n == "config.json" || strings.HasSuffix(n, ".safetensors") || strings.HasSuffix(n, ".safetensors.index.json") || strings.HasSuffix(n, ".bin") {
			return badInput("--out %s already holds a checkpoint (%s); give --overwrite to replace it, or choose a new or empty folder", opts.Out, n)
		}
	}
	if len(names) > 3 {
		names = append(names[:3], "...")
	}
	return badInput("--out %s is not empty (%s); give --overwrite to replace it, or choose a new or empty folder", opts.Out, strings.Join(names, ", "))
}

// stagedImport runs an import into a hidden folder beside --out and renames it into place when it succeeded
// (an earlier --out, allowed by --overwrite, is moved aside first and removed after): a failed or killed
// import never leaves a half-written checkpoint under the --out name. The importer's messages name --out.
func stagedImport(opts *ImportOptions, run func(*ImportOptions) error) error {
	final := filepath.Clean(opts.Out)
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	stage, err := os.MkdirTemp(parent, "."+filepath.Base(final)+".tmp-import-")
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if err := os.Chmod(stage, 0o755); err != nil {
		os.RemoveAll(stage)
		return fmt.Errorf("import: %w", err)
	}
	var msgs bytes.Buffer
	staged := *opts
	staged.Out = stage
	staged.f = &factory{stdout: opts.f.stdout, stderr: &msgs, backendFlag: opts.f.backendFlag}
	runErr := run(&staged)
	fmt.Fprint(opts.f.stderr, strings.ReplaceAll(msgs.String(), stage, final))
	if runErr != nil {
		os.RemoveAll(stage)
		if msg := runErr.Error(); strings.Contains(msg, stage) {
			return fmt.Errorf("%s", strings.ReplaceAll(msg, stage, final))
		}
		return runErr
	}
	if err := replaceFolder(stage, final); err != nil {
		os.RemoveAll(stage)
		return fmt.Errorf("import: %w", err)
	}
	return nil
}

// replaceFolder renames the finished folder stage to final; an existing final (empty, or any with
// --overwrite) is first renamed to a trash name in the same parent and deleted afterwards.
func replaceFolder(stage, final string) error {
	var trash string
	if _, err := os.Lstat(final); err == nil {
		trash = filepath.Join(filepath.Dir(final), fmt.Sprintf(".trash-%s-%d", filepath.Base(final), os.Getpid()))
		if err := os.RemoveAll(trash); err != nil {
			return err
		}
		if err := os.Rename(final, trash); err != nil {
			return fmt.Errorf("moving the old %s aside: %w", final, err)
		}
	}
	if err := outdir.Rename(stage, final); err != nil {
		if trash != "" {
			os.Rename(trash, final) // put the old folder back
		}
		return err
	}
	if trash != "" {
		if err := os.RemoveAll(trash); err != nil {
			return fmt.Errorf("removing the old %s (now %s): %w", final, trash, err)
		}
	}
	return nil
}

func runImport(opts *ImportOptions) error {
	g, err := gguf.Open(opts.In)
	if err != nil {
		return err
	}
	defer g.Close()
	if len(g.Tensors) == 0 {
		// A vocab-only file (as llama.cpp's models/ggml-vocab-*.gguf): its tokenizer is all there is to import.
		tj, err := tokenizer.TokenizerJSONFromGGUF(g.KV, opts.In)
		if err != nil {
			return fmt.Errorf("import: %s holds no tensors (a vocab-only file) and its tokenizer cannot be imported: %w", opts.In, err)
		}
		if err := writeGGUFTokenizer(opts.Out, g.KV, tj); err != nil {
			return err
		}
		fmt.Fprintf(opts.f.stderr, "imported %s: vocab-only GGUF, tokenizer.json and tokenizer_config.json into %s (no weights)\n", opts.In, opts.Out)
		return nil
	}
	cfg, weights, err := graph.GGUFImport(g)
	if err != nil {
		return err
	}
	recs, err := graph.ToSafetensors(weights)
	if err != nil {
		return err
	}
	if err := safetensors.WriteFile(filepath.Join(opts.Out, safetensors.SingleFileName), recs, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	cj, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("import: config.json: %w", err)
	}
	if err := outdir.WriteFile(filepath.Join(opts.Out, "config.json"), cj); err != nil {
		return err
	}
	if err := writePoolingModules(opts.Out, cfg); err != nil {
		return err
	}
	for _, note := range graph.GGUFImportNotes(g) {
		fmt.Fprintf(opts.f.stderr, "note: %s\n", note)
	}
	tj, err := tokenizer.TokenizerJSONFromGGUF(g.KV, opts.In)
	if err != nil {
		fmt.Fprintf(opts.f.stderr, "tokenizer not imported: %v\n  the weights and config.json are written; copy tokenizer.json and tokenizer_config.json of the model this GGUF was made from into %s, or give that tokenizer to hift train/generate with --tokenizer\n", err, opts.Out)
	} else if err := writeGGUFTokenizer(opts.Out, g.KV, tj); err != nil {
		return err
	}
	fmt.Fprintf(opts.f.stderr, "imported %s: %d tensors into %s\n", opts.In, len(recs), opts.Out)
	return nil
}

// writeGGUFTokenizer writes the tokenizer.json rebuilt from a GGUF vocabulary and its tokenizer_config.json.
func writeGGUFTokenizer(dir string, kv map[string]any, tj []byte) error {
	if err := outdir.WriteFile(filepath.Join(dir, "tokenizer.json"), tj); err != nil {
		return err
	}
	b, err := json.MarshalIndent(tokenizer.TokenizerConfigFromGGUF(kv), "", "  ")
	if err != nil {
		return fmt.Errorf("import: tokenizer_config.json: %w", err)
	}
	return outdir.WriteFile(filepath.Join(dir, "tokenizer_config.json"), b)
}

// writePoolingModules writes sentence-transformers' modules.json and 1_Pooling/config.json for a bert
// embedding model whose GGUF pooling (mean, cls, last) sentence-transformers has, so that
// SentenceTransformer(dir) pools as llama.cpp did. Other models and pooling none/rank write nothing.
func writePoolingModules(dir string, cfg map[string]any) error {
	pooling, _ := cfg["hift_gguf_pooling"].(string)
	mode := map[string]string{"mean": "pooling_mode_mean_tokens", "cls": "pooling_mode_cls_token", "last": "pooling_mode_lasttoken"}[pooling]
	if mode == "" {
		return nil
	}
	pc := map[string]any{"word_embedding_dimension": cfg["hidden_size"], "pooling_mode_cls_token": false,
		"pooling_mode_mean_tokens": false, "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false,
		"pooling_mode_weightedmean_tokens": false, "pooling_mode_lasttoken": false}
	pc[mode] = true
	modules := []map[string]any{
		{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
		{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
	}
	if err := os.MkdirAll(filepath.Join(dir, "1_Pooling"), 0o755); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	for _, f := range []struct {
		path string
		v    any
	}{{filepath.Join(dir, "1_Pooling", "config.json"), pc}, {filepath.Join(dir, "modules.json"), modules}} {
		b, err := json.MarshalIndent(f.v, "", "  ")
		if err != nil {
			return fmt.Errorf("import: %s: %w", f.path, err)
		}
		if err := outdir.WriteFile(f.path, b); err != nil {
			return err
		}
	}
	return nil
}
