package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/hift"
	"github.com/hift-go/hift/io/gguf"
	"github.com/spf13/cobra"
)

// InspectOptions are the flags of `hift inspect`.
type InspectOptions struct {
	f    *factory
	Path string
	JSON bool
}

func newInspectCmd(f *factory, runF func(*InspectOptions) error) *cobra.Command {
	opts := &InspectOptions{f: f}
	cmd := &cobra.Command{
		Use:   "inspect PATH",
		Short: "Show the architecture, parameter count, HiFT units and tensors of a checkpoint",
		Long: `inspect reads the safetensors header(s) of a checkpoint folder, an index file or a single .safetensors
file (no tensor data) and, when config.json is beside it, the detected architecture and its HiFT units.`,
		Example: `  hift inspect testdata/fixtures/llama_causal_lm
  hift inspect --json model.safetensors`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runInspect(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "machine-readable JSON output")
	return cmd
}

func runInspect(opts *InspectOptions) (err error) {
	if strings.EqualFold(filepath.Ext(opts.Path), ".gguf") || gguf.IsGGUF(opts.Path) {
		return inspectGGUF(opts)
	}
	if ext := strings.ToLower(filepath.Ext(opts.Path)); ext == ".onnx" || ext == ".onnx_data" {
		// Read as safetensors it was "header length 8387507251489933320 exceeds the limit (corrupt ...)".
		return badInput("inspect reads checkpoints (a folder or .safetensors) and .gguf files, not ONNX: %s; `hift import --format onnx --in %s --out DIR` recovers the checkpoint to inspect", opts.Path, opts.Path)
	}
	if dir := configDir(opts.Path); dir != "" {
		if err := checkModelFits(dir); err != nil {
			return err
		}
	}
	in, err := graph.Inspect(opts.Path)
	if err != nil {
		return err
	}
	defer func() {
		if len(in.Problems) > 0 && err == nil {
			err = fmt.Errorf("%s: %d tensor(s) or settings do not match config.json:\n  %s", opts.Path, len(in.Problems), strings.Join(in.Problems, "\n  "))
		}
	}()
	out := opts.f.stdout
	if opts.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(in)
	}
	fmt.Fprintf(out, "path:         %s\n", in.Path)
	for _, p := range in.Problems {
		fmt.Fprintf(out, "PROBLEM:      %s\n", p)
	}
	fmt.Fprintf(out, "files:        %s\n", strings.Join(in.Files, ", "))
	if in.Architecture != "" {
		fmt.Fprintf(out, "architecture: %s (model_type %s, task %s)\n", in.Architecture, in.ModelType, in.Task)
	} else {
		fmt.Fprintf(out, "architecture: unknown (%s)\n", in.ArchError)
	}
	fmt.Fprintf(out, "parameters:   %d (%s)\n", in.Parameters, hift.HumanBytes(in.Bytes))
	if in.AddedPrefix != "" {
		fmt.Fprintf(out, "base model:   names are loaded with the prefix %q\n", in.AddedPrefix)
	}
	for _, l := range []struct {
		what  string
		names []string
	}{{"ignored (never read)", in.Ignored}, {"missing", in.Missing}, {"unexpected", in.Unexpected}} {
		if len(l.names) > 0 {
			fmt.Fprintf(out, "%-13s %d: %s\n", l.what+":", len(l.names), strings.Join(l.names, ", "))
		}
	}
	if len(in.Units) > 0 {
		fmt.Fprintf(out, "HiFT units:   %d\n", len(in.Units))
		for i, u := range in.Units {
			fmt.Fprintf(out, "  %3d  %-40s %12d\n", i, u.Name, u.Parameters)
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDTYPE\tSHAPE\tBYTES")
	for _, t := range in.Tensors {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%d\n", t.Name, t.DType, t.Shape, t.Bytes)
	}
	return tw.Flush()
}

// configDir returns the folder holding config.json beside path (a folder or a weights file), or "".
func configDir(path string) string {
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir = filepath.Dir(path)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return ""
	}
	return dir
}

// inspectGGUF lists a GGUF file's metadata (arrays summarised) and tensors.
func inspectGGUF(opts *InspectOptions) error {
	g, err := gguf.Open(opts.Path)
	if err != nil {
		return err
	}
	defer g.Close()
	if err := g.CheckData(); err != nil {
		return err
	}
	out := opts.f.stdout
	if opts.JSON {
		type tensor struct {
			Name     string `json:"name"`
			Type     uint32 `json:"type"`
			TypeName string `json:"type_name"`
			Shape    []int  `json:"shape"`
		}
		meta := map[string]any{}
		for k, v := range g.KV {
			if a, ok := v.([]any); ok {
				meta[k] = fmt.Sprintf("[%d values]", len(a))
			} else {
				meta[k] = v
			}
		}
		var ts []tensor
		for _, t := range g.Tensors {
			ts = append(ts, tensor{t.Name, t.Type, gguf.TypeName(t.Type), t.Shape})
		}
		sum := ggufSummarize(g)
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"path": opts.Path, "metadata": meta, "tensors": ts,
			"parameters": sum.params, "tensor_bytes": sum.bytes, "types": sum.types})
	}
	fmt.Fprintf(out, "path:     %s (GGUF)\n", opts.Path)
	fmt.Fprintf(out, "summary:  %s\n", ggufSummarize(g).line(g))
	for _, k := range g.Keys {
		v := g.KV[k]
		if a, ok := v.([]any); ok {
			v = fmt.Sprintf("[%d values]", len(a))
		}
		fmt.Fprintf(out, "  %-45s %v\n", k, v)
	}
	if len(g.Tensors) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tSHAPE")
	for _, t := range g.Tensors {
		fmt.Fprintf(tw, "%s\t%s\t%v\n", t.Name, gguf.TypeName(t.Type), t.Shape)
	}
	return tw.Flush()
}

// ggufSummary counts a GGUF file's parameters, tensor bytes and tensors per type.
type ggufSummary struct {
	params, bytes int64
	types         map[string]int
}

func ggufSummarize(g *gguf.File) ggufSummary {
	sum := ggufSummary{types: map[string]int{}}
	for _, t := range g.Tensors {
		n := int64(1)
		for _, d := range t.Shape {
			n *= int64(d)
		}
		sum.params += n
		if b, err := gguf.TensorBytes(t.Type, t.Shape); err == nil {
			sum.bytes += b
		}
		sum.types[gguf.TypeName(t.Type)]++
	}
	return sum
}

// line is the one-line summary: what the file is (model, LoRA adapter, vocab-only, part of a split file),
// its architecture, tensor and parameter counts, size and types.
func (s ggufSummary) line(g *gguf.File) string {
	arch, _ := g.KV["general.architecture"].(string)
	kind := "model"
	switch {
	case g.KV["general.type"] == "adapter":
		kind = "LoRA adapter"
	case len(g.Tensors) == 0:
		return fmt.Sprintf("vocab-only file (no tensors), tokenizer %v", g.KV["tokenizer.ggml.model"])
	}
	if n, ok := kvInt(g.KV["split.count"]); ok && n > 1 {
		no, _ := kvInt(g.KV["split.no"]) // 0-based in the file
		kind += fmt.Sprintf(" (part %d of %d of a split file)", no+1, n)
	}
	var types []string
	for t, n := range s.types {
		types = append(types, fmt.Sprintf("%d %s", n, t))
	}
	sort.Strings(types)
	return fmt.Sprintf("%s %s, %d tensors, %d parameters, %s of tensor data; types: %s", arch, kind, len(g.Tensors), s.params, hift.HumanBytes(s.bytes), strings.Join(types, ", "))
}

// kvInt reads an integer GGUF metadata value of any width.
func kvInt(v any) (int64, bool) {
	switch x := v.(type) {
	case uint8:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint64:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}
