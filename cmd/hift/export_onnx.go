package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/gguf"
	"github.com/hift-go/hift/io/onnx"
	"github.com/spf13/cobra"
)

// ONNXExportFlags are the flags of `hift export --format onnx` beyond the shared ones.
type ONNXExportFlags struct {
	Task         string
	WithPast     bool
	Opset        int
	ExternalData bool
}

func addONNXExportFlags(cmd *cobra.Command, o *ONNXExportFlags) {
	cmd.Flags().StringVar(&o.Task, "task", "auto", "onnx: optimum task to check against the checkpoint's head (text-generation[-with-past], text-classification, token-classification, question-answering, multiple-choice) or auto")
	cmd.Flags().BoolVar(&o.WithPast, "with-past", false, "onnx: causal LMs take past_key_values.{i}.key/value and return present.{i}.key/value")
	cmd.Flags().IntVar(&o.Opset, "opset", 18, "onnx: ai.onnx opset version (18 to 21)")
	cmd.Flags().BoolVar(&o.ExternalData, "external-data", false, "onnx: keep the weights in model.onnx_data beside model.onnx (automatic above 2 GB)")
}

// onnxTasks maps optimum's task names (and hift's) to hift tasks; "-with-past" adds the cache.
var onnxTasks = map[string]graph.Task{
	"text-generation": graph.TaskCausalLM, "causal-lm": graph.TaskCausalLM, string(graph.TaskCausalLM): graph.TaskCausalLM,
	"text-classification": graph.TaskSeqCls, "sequence-classification": graph.TaskSeqCls, string(graph.TaskSeqCls): graph.TaskSeqCls,
	"token-classification": graph.TaskTokenCls, string(graph.TaskTokenCls): graph.TaskTokenCls,
	"question-answering": graph.TaskQA, string(graph.TaskQA): graph.TaskQA,
	"multiple-choice": graph.TaskMultipleChoice, string(graph.TaskMultipleChoice): graph.TaskMultipleChoice,
}

// onnxSideFiles are copied from the checkpoint next to model.onnx, as optimum does.
var onnxSideFiles = []string{"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
	"special_tokens_map.json", "tokenizer.model", "vocab.txt", "vocab.json", "merges.txt", "added_tokens.json"}

// runExportONNX writes DIR/model.onnx (and model.onnx_data with external data) plus the config and tokenizer.
func runExportONNX(opts *ExportOptions) error {
	o := opts.ONNX
	dtype := strings.ToLower(opts.DType)
	if _, ok := graph.ONNXDTypes[dtype]; !ok {
		return badInput("--dtype for onnx must be f32, f16 or bf16 (got %q)", opts.DType)
	}
	if o.Opset < 18 || o.Opset > 21 {
		return badInput("--opset %d: hift writes opsets 18 (optimum's) to 21", o.Opset)
	}
	withPast := o.WithPast
	task := strings.ToLower(o.Task)
	if t, ok := strings.CutSuffix(task, "-with-past"); ok {
		task, withPast = t, true
	}
	want, ok := onnxTasks[task]
	if task != "auto" && !ok {
		return badInput("--task %q is not one of text-generation[-with-past], text-classification, token-classification, question-answering, multiple-choice, auto", o.Task)
	}
	if gguf.IsGGUF(opts.Model) {
		return badInput("--model %s is a GGUF file; --format onnx exports a checkpoint folder: import it first (hift import --in %s --out DIR), then export DIR", opts.Model, opts.Model)
	}
	if err := refuseInputFolder(opts.Model, opts.Out); err != nil {
		return err
	}
	// As --format gguf: an earlier export in --out is replaced only with --overwrite.
	if err := checkOutFile("out", filepath.Join(opts.Out, "model.onnx"), opts.Overwrite, opts.Model); err != nil {
		return err
	}
	start := time.Now()
	m, w, err := graph.LoadModel(opts.Model)
	if err != nil {
		return err
	}
	if task != "auto" && m.Task != want {
		return badInput("--task %s: %s is a %s checkpoint (%s); export it with --task auto, or start a %s head first with `hift train --task`", o.Task, opts.Model, m.Task, m.Class, want)
	}
	mp, err := graph.ExportONNX(m, w, graph.ONNXOptions{WithPast: withPast, DType: dtype, Opset: o.Opset, ConsumeWeights: true})
	if err != nil {
		return err
	}
	w = nil              // the initializers hold their own copy:
	debug.FreeOSMemory() // give the float32 weights back before the model is serialized (peak −1 copy)
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	path := filepath.Join(opts.Out, "model.onnx")
	if err := onnx.Write(path, mp, onnx.WriteOptions{External: o.ExternalData}); err != nil {
		return err
	}
	copied, err := copyONNXSideFiles(opts.Model, opts.Out)
	if err != nil {
		return err
	}
	g := mp.GetGraph()
	var ins, outs []string
	for _, v := range g.GetInput() {
		ins = append(ins, v.GetName())
	}
	for _, v := range g.GetOutput() {
		outs = append(outs, v.GetName())
	}
	size := fileSize(path) + fileSize(path+"_data")
	fmt.Fprintf(opts.f.stderr, "wrote %s (%s, opset %d, %s weights, %d initializers, %d nodes, %.1f MB%s) in %.1fs\n  inputs: %s\n  outputs: %s\n  copied: %s\n",
		path, m.Class, o.Opset, dtype, len(g.GetInitializer()), len(g.GetNode()), float64(size)/1e6,
		map[bool]string{true: ", external data in model.onnx_data"}[fileSize(path+"_data") > 0], time.Since(start).Seconds(),
		strings.Join(ins, ", "), summarizeNames(outs), strings.Join(copied, ", "))
	return nil
}

// refuseInputFolder refuses an output folder that is the input checkpoint's folder.
func refuseInputFolder(in, out string) error {
	a, errA := filepath.Abs(in)
	b, errB := filepath.Abs(out)
	if errA == nil && errB == nil {
		if st, err := os.Stat(a); err == nil && !st.IsDir() {
			a = filepath.Dir(a)
		}
		if filepath.Clean(a) == filepath.Clean(b) {
			return badInput("--out %s is the input's folder; write the export to another folder", out)
		}
	}
	return nil
}

// copyONNXSideFiles copies the checkpoint's config and tokenizer files that exist into out, atomically.
func copyONNXSideFiles(in, out string) ([]string, error) {
	var copied []string
	for _, name := range onnxSideFiles {
		data, err := os.ReadFile(filepath.Join(in, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		if err := writeSideFile(filepath.Join(out, name), data); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		copied = append(copied, name)
	}
	return copied, nil
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// summarizeNames lists up to 6 names, then how many more.
func summarizeNames(names []string) string {
	if len(names) <= 6 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, … (%d more)", strings.Join(names[:6], ", "), len(names)-6)
}

// writeSideFile writes a copied config/tokenizer file atomically with the usual 0644 permissions.
func writeSideFile(path string, data []byte) error {
	if err := writeFileAtomic(path, data); err != nil {
		return err
	}
	return os.Chmod(path, 0o644)
}
