package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/onnx"
	"github.com/hift-go/hift/io/safetensors"
)

// runImportONNX recovers an HF checkpoint (model.safetensors, config.json, tokenizer files) from an ONNX model
// whose initializers carry HF names: hift's exports and optimum's exports of the same architectures.
func runImportONNX(opts *ImportOptions) error {
	dir := filepath.Dir(opts.In)
	if err := refuseInputFolder(opts.In, opts.Out); err != nil {
		return err
	}
	mp, err := onnx.Read(opts.In)
	if err != nil {
		return err
	}
	var cfg *graph.Config
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		if cfg, err = graph.LoadConfig(dir); err != nil {
			return err
		}
	}
	m, weights, err := graph.ImportONNX(mp, opts.In, dir, cfg)
	if err != nil {
		return err
	}
	mp = nil
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	recs, err := graph.ToSafetensors(weights)
	if err != nil {
		return err
	}
	if err := safetensors.WriteFile(filepath.Join(opts.Out, safetensors.SingleFileName), recs, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	cj, err := m.Config.JSON()
	if err != nil {
		return err
	}
	if err := writeSideFile(filepath.Join(opts.Out, "config.json"), cj); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	var copied []string
	for _, name := range onnxSideFiles[1:] { // config.json was written above
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if err := writeSideFile(filepath.Join(opts.Out, name), data); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		copied = append(copied, name)
	}
	fmt.Fprintf(opts.f.stderr, "imported %s (%s): %d tensors into %s; copied %v\n", opts.In, m.Class, len(recs), opts.Out, copied)
	return nil
}
