package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/internal/validators"
)

// longONNXEnv turns on TestExportONNXOver2GB (a few minutes and ~8 GB of RAM: writes 2.3 GB twice).
const longONNXEnv = "HIFT_LONG_ONNX"

// TestExportONNXOver2GB: a 2.26 GB LLaMA-layout model with random weights from `hift init` exports without
// --external-data (the 2 GB protobuf limit switches it on by itself) into model.onnx + model.onnx_data, and
// onnxruntime loads it and computes hift's logits. Run with HIFT_LONG_ONNX=1.
func TestExportONNXOver2GB(t *testing.T) {
	if os.Getenv(longONNXEnv) != "1" {
		t.Skipf("long test: set %s=1 to export a > 2 GB model with external data and load it in onnxruntime", longONNXEnv)
	}
	dir := t.TempDir()
	cfg := map[string]any{"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama", "vocab_size": 1000,
		"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 11, "num_attention_heads": 16,
		"num_key_value_heads": 16, "tie_word_embeddings": false}
	data, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "ckpt")
	if code, _, stderr := runCLI(t, "init", "--config", cfgPath, "--out", ckpt); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	out := filepath.Join(dir, "onnx")
	start := time.Now()
	code, _, stderr := runCLI(t, "export", "--format", "onnx", "--model", ckpt, "--out", out)
	if code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	t.Logf("export in %.1fs: %s", time.Since(start).Seconds(), strings.TrimSpace(stderr))
	model, ext := filepath.Join(out, "model.onnx"), filepath.Join(out, "model.onnx_data")
	if fileSize(ext) < 1<<31 || fileSize(model) > 1<<20 {
		t.Fatalf("model.onnx %d bytes, model.onnx_data %d bytes: want the weights (> 2 GiB) in the data file", fileSize(model), fileSize(ext))
	}

	m, w, err := graph.LoadModel(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{5, 17, 256, 999, 3, 42, 7, 100}
	batch := map[string]*tensors.Tensor{"input_ids": tensors.FromFlatDataAndDimensions(ids, 1, 8),
		"attention_mask": tensors.FromFlatDataAndDimensions([]int64{1, 1, 1, 1, 1, 1, 1, 1}, 1, 8)}
	be, err := graph.NewBackend("")
	if err != nil {
		t.Fatal(err)
	}
	want, err := graph.RunForward(be, m, w, batch, graph.ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w = nil
	ref := tensors.MustCopyFlatData[float32](want["logits"])
	req, _ := json.Marshal(map[string]any{"model": model, "runs": []any{map[string]any{
		"inputs": map[string]any{
			"input_ids":      map[string]any{"type": "int64", "dims": []int{1, 8}, "data": ids},
			"attention_mask": map[string]any{"type": "int64", "dims": []int{1, 8}, "data": []int{1, 1, 1, 1, 1, 1, 1, 1}},
			"position_ids":   map[string]any{"type": "int64", "dims": []int{1, 8}, "data": []int{0, 1, 2, 3, 4, 5, 6, 7}},
		}, "outputs": []string{"logits"}}}})
	reqPath := filepath.Join(dir, "req.json")
	if err := os.WriteFile(reqPath, req, 0o644); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Runs []map[string]struct {
			Dims []int     `json:"dims"`
			Data []float64 `json:"data"`
		} `json:"runs"`
	}
	validators.Run(t, &res, []string{"onnxruntime-node"}, "ort_run.mjs", reqPath)
	got := res.Runs[0]["logits"].Data
	if len(got) != len(ref) {
		t.Fatalf("onnxruntime logits %v, hift %d values", res.Runs[0]["logits"].Dims, len(ref))
	}
	worst, scale := 0.0, 1.0
	for i := range ref {
		worst = math.Max(worst, math.Abs(got[i]-float64(ref[i])))
		scale = math.Max(scale, math.Abs(float64(ref[i])))
	}
	t.Logf("onnxruntime (external data, %.2f GB) vs hift logits: max|diff| %.3g (max|logit| %.3g)", float64(fileSize(ext))/1e9, worst, scale)
	if !(worst <= 1e-4*scale) {
		t.Errorf("max|diff| %.3g > 1e-4 × %.3g", worst, scale)
	}
}
