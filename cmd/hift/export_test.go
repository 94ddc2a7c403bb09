package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/internal/validators"
	"github.com/hift-go/hift/io/gguf"
)

// TestExportGGUF: the demo model exports to GGUF with llama.cpp's names and shapes (always checked), and —
// when the pinned validators are installed — llama.cpp loads it and computes the same logits as hift
// (max |Δ| <= 1e-4) and the same tokenisation.
func TestExportGGUF(t *testing.T) {
	model := repoPath("examples", "tiny-llama")
	out := filepath.Join(t.TempDir(), "tiny.gguf")
	code, _, stderr := runCLI(t, "export", "--model", model, "--format", "gguf", "--out", out)
	if code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	g, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	keys := g.Keys
	ts := map[string][]int{}
	for _, ti := range g.Tensors {
		ts[ti.Name] = ti.Shape
	}
	g.Close()
	if !slices.Equal(ts["blk.0.attn_q.weight"], []int{128, 128}) || !slices.Equal(ts["token_embd.weight"], []int{512, 128}) || len(ts) != 4*9+3 {
		t.Errorf("tensors: %d, attn_q %v, token_embd %v", len(ts), ts["blk.0.attn_q.weight"], ts["token_embd.weight"])
	}
	for _, k := range []string{"general.architecture", "llama.block_count", "tokenizer.ggml.merges", "tokenizer.ggml.tokens"} {
		if !slices.Contains(keys, k) {
			t.Errorf("missing key %s", k)
		}
	}

	node, dir := validators.Require(t, "node-llama-cpp")
	text := "Query 1. Do not Bodies act upon Light at a distance"
	tok, err := tokenizer.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := tok.Encode(text, false)
	js, _ := json.Marshal(ids)
	cmd := exec.Command(node, filepath.Join(dir, "llama_logits.mjs"), out, string(js), text)
	cmd.Env = append(os.Environ(), "NODE_LLAMA_CPP_SKIP_DOWNLOAD=true")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("llama_logits.mjs: %v\n%s", err, errb.String())
	}
	var ref struct {
		Logits [][]float64 `json:"logits"`
		Tokens []int       `json:"tokens"`
	}
	if err := json.Unmarshal(stdout, &ref); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ref.Tokens, ids) {
		t.Errorf("llama.cpp tokenises %v, hift %v", ref.Tokens, ids)
	}
	m, w, err := graph.LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	be, err := graph.NewBackend("")
	if err != nil {
		t.Fatal(err)
	}
	in := make([]int64, len(ids))
	for i, id := range ids {
		in[i] = int64(id)
	}
	res, err := graph.RunForward(be, m, w, map[string]*tensors.Tensor{"input_ids": tensors.FromFlatDataAndDimensions(in, 1, len(in))}, graph.ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ours := tensors.MustCopyFlatData[float32](res["logits"])
	V := res["logits"].Shape().Dimensions[2]
	worst := 0.0
	for p, row := range ref.Logits {
		for v, x := range row {
			worst = math.Max(worst, math.Abs(x-float64(ours[p*V+v])))
		}
	}
	t.Logf("llama.cpp vs hift logits over %d positions × %d: max |Δ| %.3g", len(ref.Logits), V, worst)
	if len(ref.Logits) != len(ids) || worst > 1e-4 {
		t.Errorf("llama.cpp logits differ: max |Δ| %g (%d positions)", worst, len(ref.Logits))
	}
}

// TestGGUFRoundTrip: export then import gives back every weight bit for bit (f32), the same config and a
// tokenizer that encodes the corpus identically.
func TestGGUFRoundTrip(t *testing.T) {
	model := repoPath("examples", "tiny-llama")
	dir := t.TempDir()
	file := filepath.Join(dir, "tiny.gguf")
	if code, _, stderr := runCLI(t, "export", "--model", model, "--out", file); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	back := filepath.Join(dir, "hf")
	if code, _, stderr := runCLI(t, "import", "--in", file, "--out", back); code != 0 {
		t.Fatalf("import: %s", stderr)
	}
	m0, w0, err := graph.LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	m1, w1, err := graph.LoadModel(back)
	if err != nil {
		t.Fatal(err)
	}
	if m0.Class != m1.Class || len(m0.Params) != len(m1.Params) {
		t.Fatalf("imported %s with %d params, want %s with %d", m1.Class, len(m1.Params), m0.Class, len(m0.Params))
	}
	for _, p := range m0.Params {
		if !slices.Equal(tensors.MustCopyFlatData[float32](w0[p.Name]), tensors.MustCopyFlatData[float32](w1[p.Name])) {
			t.Errorf("%s differs after the round trip", p.Name)
		}
	}
	t0, _ := tokenizer.Load(model)
	t1, err := tokenizer.Load(back)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Query 1. Do not Bodies act upon Light?", "  spaces\tand\nlines 12345 émigré 光", ""} {
		a, _ := t0.Encode(s, true)
		b, _ := t1.Encode(s, true)
		if !slices.Equal(a, b) {
			t.Errorf("%q: original %v, imported %v", s, a, b)
		}
	}
	if code, stdout, stderr := runCLI(t, "inspect", file); code != 0 || !strings.Contains(stdout, "general.architecture") || !strings.Contains(stdout, "blk.3.ffn_down.weight") {
		t.Errorf("inspect a GGUF file: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, "import", "--in", repoPath("examples", "tiny-llama", "model.safetensors"), "--out", t.TempDir()); code == 0 || !strings.Contains(stderr, "not a GGUF file") {
		t.Errorf("importing a non-GGUF file: exit %d, %s", code, stderr)
	}
}
