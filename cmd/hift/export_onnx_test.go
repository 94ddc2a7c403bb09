package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/onnx"
	"github.com/hift-go/hift/io/safetensors"
)

// TestExportImportONNX: `hift export --format onnx --with-past` writes model.onnx with optimum's inputs and
// outputs plus the checkpoint's config; `hift import --format onnx` gives back every tensor bit for bit; bad
// flags and an output folder equal to the input are refused with exit code 2 and nothing written.
func TestExportImportONNX(t *testing.T) {
	fx, err := fixture.Load("gpt2_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "onnx")
	code, _, stderr := runCLI(t, "export", "--format", "onnx", "--model", fx.Dir, "--out", out, "--task", "text-generation-with-past")
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	t.Log(strings.TrimSpace(stderr))
	mp, err := onnx.Read(filepath.Join(out, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var ins, outs []string
	for _, v := range mp.GetGraph().GetInput() {
		ins = append(ins, v.GetName())
	}
	for _, v := range mp.GetGraph().GetOutput() {
		outs = append(outs, v.GetName())
	}
	for _, n := range []string{"input_ids", "attention_mask", "position_ids", "past_key_values.0.key", "past_key_values.2.value"} {
		if !slices.Contains(ins, n) {
			t.Errorf("input %s missing: %v", n, ins)
		}
	}
	for _, n := range []string{"logits", "present.0.key", "present.2.value"} {
		if !slices.Contains(outs, n) {
			t.Errorf("output %s missing: %v", n, outs)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "config.json")); err != nil {
		t.Errorf("config.json not copied: %v", err)
	}

	back := filepath.Join(t.TempDir(), "hf")
	if code, _, stderr := runCLI(t, "import", "--format", "onnx", "--in", filepath.Join(out, "model.onnx"), "--out", back); code != 0 {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	orig, err := safetensors.Open(fx.Path("model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	got, err := safetensors.Open(filepath.Join(back, safetensors.SingleFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if len(got.Names()) != len(orig.Names()) {
		t.Errorf("imported %d tensors, checkpoint has %d", len(got.Names()), len(orig.Names()))
	}
	for _, n := range orig.Names() {
		a, _ := orig.Bytes(n)
		b, err := got.Bytes(n)
		if err != nil || !slices.Equal(a, b) {
			t.Errorf("%s: not bit for bit after export → import (%v)", n, err)
		}
	}

	for _, bad := range [][]string{
		{"export", "--format", "onnx", "--model", fx.Dir, "--out", fx.Dir},
		{"export", "--format", "onnx", "--model", fx.Dir, "--out", filepath.Join(t.TempDir(), "x"), "--dtype", "q4_0"},
		{"export", "--format", "onnx", "--model", fx.Dir, "--out", filepath.Join(t.TempDir(), "x"), "--task", "question-answering"},
		{"export", "--format", "onnx", "--model", fx.Dir, "--out", filepath.Join(t.TempDir(), "x"), "--opset", "13"},
	} {
		code, _, stderr := runCLI(t, bad...)
		if code == 0 || strings.Contains(stderr, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q", bad, code, stderr)
		}
		t.Logf("%v → exit %d: %s", bad[len(bad)-2:], code, strings.TrimSpace(stderr))
	}
	if _, err := os.Stat(filepath.Join(fx.Dir, "model.onnx")); err == nil {
		t.Fatal("export wrote into the input folder")
	}
}

// TestExportONNXCopiesTokenizer: the demo model's config and tokenizer files land next to model.onnx, as optimum
// lays out an export folder, and --dtype f16 halves the file.
func TestExportONNXCopiesTokenizer(t *testing.T) {
	model := repoPath("examples", "tiny-llama")
	out := filepath.Join(t.TempDir(), "onnx")
	if code, _, stderr := runCLI(t, "export", "--format", "onnx", "--model", model, "--out", out, "--dtype", "f16"); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	for _, f := range []string{"config.json", "tokenizer.json", "tokenizer_config.json"} {
		want, _ := os.ReadFile(filepath.Join(model, f))
		got, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s not copied unchanged (%v)", f, err)
		}
	}
	out32 := filepath.Join(t.TempDir(), "onnx32")
	if code, _, stderr := runCLI(t, "export", "--format", "onnx", "--model", model, "--out", out32); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	f16, f32 := fileSize(filepath.Join(out, "model.onnx")), fileSize(filepath.Join(out32, "model.onnx"))
	t.Logf("model.onnx: f16 %d bytes, f32 %d bytes", f16, f32)
	if f16 > f32*6/10 {
		t.Errorf("f16 model.onnx (%d bytes) is not about half the f32 one (%d)", f16, f32)
	}
}
