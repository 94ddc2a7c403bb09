package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/gguf"
)

// GGUF export at the end of `hift train` (--export-gguf TYPE): the saved checkpoint — LoRA adapters already
// merged into the base weights in float32 by the trainer — goes through `hift export --format gguf`.

// checkExportGGUF validates --export-gguf before training starts, so a typo does not cost a run. A resumed
// run learns its --output from the checkpoint later (checkTrainedGGUFExportable checks it then).
func checkExportGGUF(dtype, output string, resuming bool) error {
	if dtype == "" {
		return nil
	}
	if _, err := gguf.ParseMix(dtype); err != nil {
		return badInput("--export-gguf: %v", err)
	}
	if output == "" && !resuming {
		return badInput("--export-gguf needs a saved model (it cannot be combined with --no-save)")
	}
	return nil
}

// exportTrainedGGUF writes <output>/model-<type>.gguf from the checkpoint training saved in output.
func exportTrainedGGUF(f *factory, log io.Writer, dtype, output string) error {
	if dtype == "" || output == "" {
		return nil
	}
	if err := checkExportGGUF(dtype, output, false); err != nil {
		return err
	}
	file := filepath.Join(output, "model-"+strings.ToLower(dtype)+".gguf")
	if err := runExport(&ExportOptions{f: f, Model: output, Format: "gguf", Out: file, DType: dtype}); err != nil {
		return fmt.Errorf("--export-gguf %s: %w", dtype, err)
	}
	fmt.Fprintf(log, "exported %s\n", file)
	return nil
}

// checkTrainedGGUFExportable refuses --export-gguf before training when the model being trained (m's
// configuration, task head included) or its tokenizer could not be written as GGUF at the end: a sequence
// classifier, a BERT with a head, an OPT or GPT-Neo, a tokenizer llama.cpp cannot represent.
func checkTrainedGGUFExportable(dtype, output string, m *graph.Model, tokenizerDir string) error {
	if dtype == "" {
		return nil
	}
	if err := checkExportGGUF(dtype, output, false); err != nil {
		return err
	}
	base, err := graph.NewModel(m.Config) // without LoRA: the saved model has its adapters merged
	if err != nil {
		return err
	}
	if err := graph.GGUFExportCheck(base, false); err != nil {
		return badInput("--export-gguf %s: the trained model could not be exported: %v (train without --export-gguf)", dtype, err)
	}
	if tok, err := tokenizer.Load(tokenizerDir); err == nil {
		if _, err := tok.GGUFMetadata(); err != nil {
			return badInput("--export-gguf %s: the tokenizer could not be exported: %v", dtype, err)
		}
	}
	return nil
}
