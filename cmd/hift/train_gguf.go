package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/hift-go/hift/io/gguf"
)

// GGUF export at the end of `hift train` (--export-gguf TYPE): the saved checkpoint — LoRA adapters already
// merged into the base weights in float32 by the trainer — goes through `hift export --format gguf`.

// checkExportGGUF validates --export-gguf before training starts, so a typo does not cost a run.
func checkExportGGUF(dtype, output string) error {
	if dtype == "" {
		return nil
	}
	if _, err := gguf.ParseMix(dtype); err != nil {
		return badInput("--export-gguf: %v", err)
	}
	if output == "" {
		return badInput("--export-gguf needs a saved model (it cannot be combined with --no-save)")
	}
	return nil
}

// exportTrainedGGUF writes <output>/model-<type>.gguf from the checkpoint training saved in output.
func exportTrainedGGUF(f *factory, log io.Writer, dtype, output string) error {
	if dtype == "" || output == "" {
		return nil
	}
	if err := checkExportGGUF(dtype, output); err != nil {
		return err
	}
	file := filepath.Join(output, "model-"+strings.ToLower(dtype)+".gguf")
	if err := runExport(&ExportOptions{f: f, Model: output, Format: "gguf", Out: file, DType: dtype}); err != nil {
		return fmt.Errorf("--export-gguf %s: %w", dtype, err)
	}
	fmt.Fprintf(log, "exported %s\n", file)
	return nil
}
