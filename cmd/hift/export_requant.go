package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hift-go/hift/io/gguf"
)

// runExportFromGGUF re-types a GGUF file (llama-quantize's job: `hift export --model in.gguf --dtype q4_k_m
// --out out.gguf`): the file is imported into a temporary checkpoint folder (dequantized to float32, the
// tokenizer rebuilt) and exported from there, under the file's own general.name. Quantizing an already
// quantized file compounds the rounding, so that is said on stderr (llama-quantize asks for
// --allow-requantize); the temporary folder is removed afterwards.
func runExportFromGGUF(opts *ExportOptions) error {
	if opts.Adapter != "" {
		return badInput("--adapter needs the base model's checkpoint folder as --model, not the GGUF %s", opts.Model)
	}
	g, err := gguf.Open(opts.Model)
	if err != nil {
		return err
	}
	name, _ := g.KV["general.name"].(string)
	quantized := map[string]bool{}
	for _, t := range g.Tensors {
		if t.Type != gguf.TypeF32 && t.Type != gguf.TypeF16 && t.Type != gguf.TypeBF16 {
			quantized[gguf.TypeName(t.Type)] = true
		}
	}
	g.Close()
	tmp, err := os.MkdirTemp(filepath.Dir(opts.Out), ".hift-export-from-gguf-")
	if err != nil {
		tmp, err = os.MkdirTemp("", "hift-export-from-gguf-")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	defer os.RemoveAll(tmp)
	var msgs bytes.Buffer
	imp := &ImportOptions{f: &factory{stdout: opts.f.stdout, stderr: &msgs, backendFlag: opts.f.backendFlag}, In: opts.Model, Out: tmp, Format: "gguf"}
	if err := runImport(imp); err != nil {
		return err
	}
	if strings.Contains(msgs.String(), "tokenizer not imported") {
		return fmt.Errorf("export: the tokenizer of %s cannot be carried over: %s", opts.Model, strings.TrimSpace(strings.ReplaceAll(msgs.String(), tmp, "the export")))
	}
	if _, err := os.Stat(filepath.Join(tmp, "config.json")); err != nil {
		return badInput("--model %s holds no tensors (a vocab-only GGUF): nothing to export", opts.Model)
	}
	if len(quantized) > 0 {
		var types []string
		for t := range quantized {
			types = append(types, t)
		}
		sort.Strings(types)
		fmt.Fprintf(opts.f.stderr, "note: %s holds quantized tensors (%s): they are dequantized and re-typed, which adds rounding to rounding; export from the original checkpoint when you have it\n", opts.Model, strings.Join(types, ", "))
	}
	from := *opts
	from.Model = tmp
	from.name = name
	if from.name == "" {
		from.name = strings.TrimSuffix(filepath.Base(opts.Model), filepath.Ext(opts.Model))
	}
	if err := runExport(&from); err != nil {
		if msg := err.Error(); strings.Contains(msg, tmp) { // name the input, not the temporary folder
			return fmt.Errorf("%s", strings.ReplaceAll(msg, tmp, "(the import of "+opts.Model+")"))
		}
		return err
	}
	return nil
}
