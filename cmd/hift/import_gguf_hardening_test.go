package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/validators"
	"github.com/hift-go/hift/io/gguf"
	"github.com/hift-go/hift/io/torchbin"
)

// checkImportFails runs an import expected to fail: a non-zero exit, one error line naming the file (no
// panic, no megabytes of a garbled name), and nothing left under --out's name or beside it.
func checkImportFails(t *testing.T, file, want string) {
	t.Helper()
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	code, _, stderr := runCLI(t, "import", "--in", file, "--out", out)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	t.Logf("exit %d: %.300s", code, strings.TrimSpace(stderr))
	switch {
	case code == 0:
		t.Errorf("import succeeded: %s", stderr)
	case strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine "):
		t.Errorf("import panicked: %.2000s", stderr)
	case len(lines) != 1 || len(stderr) > 1000:
		t.Errorf("import's error is %d lines, %d bytes; want one short line: %.1000s", len(lines), len(stderr), stderr)
	case !strings.Contains(stderr, file):
		t.Errorf("import's error does not name the file %s: %s", file, stderr)
	case !strings.Contains(stderr, want):
		t.Errorf("import's error does not say %q: %s", want, stderr)
	}
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		t.Errorf("a failed import left %s in %s", e.Name(), parent)
	}
}

// ggufParts reads a GGUF file back into writer form (keys without general.alignment, raw tensor data).
func ggufParts(t *testing.T, file string) ([]gguf.KV, []gguf.Tensor) {
	t.Helper()
	g, err := gguf.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var kvs []gguf.KV
	for _, k := range g.Keys {
		if k != "general.alignment" {
			kvs = append(kvs, gguf.KV{Key: k, Value: ggufValue(g.KV[k])})
		}
	}
	var ts []gguf.Tensor
	for _, ti := range g.Tensors {
		b, err := g.Data(ti)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, gguf.Tensor{Name: ti.Name, Type: ti.Type, Shape: ti.Shape, Data: b})
	}
	return kvs, ts
}

// setKV returns kvs with key set to v (added when absent).
func setKV(kvs []gguf.KV, key string, v any) []gguf.KV {
	out := append([]gguf.KV(nil), kvs...)
	for i := range out {
		if out[i].Key == key {
			out[i].Value = v
			return out
		}
	}
	return append(out, gguf.KV{Key: key, Value: v})
}

// TestImportGGUFCorruptFiles: truncated files (in the header, the keys, the tensor infos, the data), a
// garbled key of megabytes, and files whose keys disagree with their tensors are each refused with one
// error line naming the file, and leave no folder behind.
func TestImportGGUFCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "tiny.gguf")
	exportGGUF(t, repoPath("examples", "tiny-llama"), "q8_0", src)
	whole, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	firstTensor := bytes.Index(whole, []byte("token_embd.weight"))
	if firstTensor < 0 {
		t.Fatal("no tensor name in the export")
	}
	for _, c := range []struct {
		name string
		size int
		want string
	}{
		{"magic", 3, "not a GGUF file"},
		{"header", 20, "header"},
		{"keys", 200, "key"},
		{"tensor-infos", firstTensor + 30, "tensor"},
		{"data", len(whole) - 100, "past the end of the file"},
	} {
		t.Run("truncated-"+c.name, func(t *testing.T) {
			f := filepath.Join(dir, "cut-"+c.name+".gguf")
			if err := os.WriteFile(f, whole[:c.size], 0o644); err != nil {
				t.Fatal(err)
			}
			checkImportFails(t, f, c.want)
		})
	}
	t.Run("garbled-key", func(t *testing.T) {
		var b bytes.Buffer
		le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
		le(uint32(0x46554747))
		le(uint32(3))
		le(uint64(0))       // tensors
		le(uint64(1))       // keys
		le(uint64(4 << 20)) // a 4 MiB key
		b.Write(bytes.Repeat([]byte{0xAB, 'x', 0x00, '"'}, 1<<20))
		le(uint32(99)) // no such value type
		f := filepath.Join(dir, "garbled.gguf")
		if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		checkImportFails(t, f, "4194304 bytes")
	})
	kvs, ts := ggufParts(t, src)
	layers := 0
	for _, x := range ts {
		if x.Name == fmt.Sprintf("blk.%d.attn_norm.weight", layers) {
			layers++
		}
	}
	for _, c := range []struct {
		name string
		kvs  []gguf.KV
		ts   []gguf.Tensor
		want string
	}{
		{"huge-block-count", setKV(kvs, "llama.block_count", uint32(1<<30)), ts, "block_count"},
		{"zero-heads", setKV(kvs, "llama.attention.head_count", uint32(0)), ts, "head_count"},
		{"string-size", setKV(kvs, "llama.embedding_length", "64"), ts, "not an integer"},
		{"fewer-layers", setKV(kvs, "llama.block_count", uint32(layers-1)), ts, fmt.Sprintf("blk.%d.", layers-1)},
		{"more-layers", setKV(kvs, "llama.block_count", uint32(layers+1)), ts, fmt.Sprintf("layers.%d.", layers)},
		{"wrong-width", setKV(kvs, "llama.feed_forward_length", uint32(48)), ts, "shape"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(dir, c.name+".gguf")
			if err := gguf.WriteFile(f, c.kvs, c.ts); err != nil {
				t.Fatal(err)
			}
			checkImportFails(t, f, c.want)
		})
	}
}

// TestImportGGUFOutFolder: import writes a new folder whole; an existing non-empty --out is refused without
// --overwrite (exit 2) and replaced whole with it; a failed import leaves an earlier folder as it was; a
// folder holding the input is never replaced.
func TestImportGGUFOutFolder(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "tiny.gguf")
	exportGGUF(t, repoPath("examples", "tiny-llama"), "f32", src)
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "import", "--in", src, "--out", out); code != 0 {
		t.Fatalf("import into an empty folder: exit %d: %s", code, stderr)
	}
	notes := filepath.Join(out, "notes.txt")
	if err := os.WriteFile(notes, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "import", "--in", src, "--out", out); code != 2 || !strings.Contains(stderr, "--overwrite") {
		t.Errorf("import into a non-empty folder without --overwrite: exit %d, want 2 and a hint at --overwrite: %s", code, stderr)
	}
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("a refused import touched %s: %v", notes, err)
	}
	// A failing import with --overwrite leaves the old folder as it was.
	bad := filepath.Join(dir, "bad.gguf")
	whole, _ := os.ReadFile(src)
	if err := os.WriteFile(bad, whole[:len(whole)-100], 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := runCLI(t, "import", "--in", bad, "--out", out, "--overwrite"); code == 0 {
		t.Error("importing a truncated file succeeded")
	}
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("a failed import --overwrite removed the old folder's %s: %v", notes, err)
	}
	if code, _, stderr := runCLI(t, "import", "--in", src, "--out", out, "--overwrite"); code != 0 {
		t.Fatalf("import --overwrite: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(notes); err == nil {
		t.Error("import --overwrite kept a file of the old folder")
	}
	if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err != nil {
		t.Errorf("import --overwrite wrote no weights: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, ".") {
			t.Errorf("import left %s beside --out", n)
		}
	}
	// --out holding the input is refused, with or without --overwrite.
	inside := filepath.Join(out, "copy.gguf")
	if err := os.WriteFile(inside, whole, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "import", "--in", inside, "--out", out, "--overwrite"); code != 2 || !strings.Contains(stderr, "input") {
		t.Errorf("import --overwrite into the folder holding the input: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(inside); err != nil {
		t.Errorf("the input was removed: %v", err)
	}
}

// TestImportGGUFBertVariants: a bert file without token_types.weight (llama.cpp then adds no token-type
// row) imports with one zero row, says so, and computes what llama.cpp computes on that file; a tensor of
// llama.cpp's reranker head (cls.output.weight) is refused by name; a causal bert is refused.
func TestImportGGUFBertVariants(t *testing.T) {
	c := encoderCases(t)[0]
	model := initEncoder(t, c)
	dir := t.TempDir()
	src := filepath.Join(dir, "bert.gguf")
	if code, _, stderr := runCLI(t, "export", "--model", model, "--format", "gguf", "--embeddings-only", "--pooling", "none", "--out", src); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	kvs, ts := ggufParts(t, src)
	var noTypes []gguf.Tensor
	for _, x := range ts {
		if x.Name != "token_types.weight" {
			noTypes = append(noTypes, x)
		}
	}
	if len(noTypes) != len(ts)-1 {
		t.Fatal("the export has no token_types.weight")
	}
	f := filepath.Join(dir, "no-types.gguf")
	if err := gguf.WriteFile(f, kvs, noTypes); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(dir, "back")
	code, _, stderr := runCLI(t, "import", "--in", f, "--out", back)
	if code != 0 {
		t.Fatalf("import without token_types: %s", stderr)
	}
	if !strings.Contains(stderr, "zero token-type table") {
		t.Errorf("import without token_types does not say it added a zero table: %s", stderr)
	}
	var cfg map[string]any
	b, _ := os.ReadFile(filepath.Join(back, "config.json"))
	if err := json.Unmarshal(b, &cfg); err != nil || cfg["type_vocab_size"] != 1.0 || cfg["hift_gguf_pooling"] != "none" {
		t.Errorf("config.json type_vocab_size %v, hift_gguf_pooling %v (%v), want 1 and none", cfg["type_vocab_size"], cfg["hift_gguf_pooling"], err)
	}
	if _, err := os.Stat(filepath.Join(back, "modules.json")); err == nil {
		t.Error("pooling none wrote a sentence-transformers modules.json")
	}
	ck, err := torchbin.Open(back)
	if err != nil {
		t.Fatal(err)
	}
	tt, err := ck.Float32("embeddings.token_type_embeddings.weight")
	ck.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range tt {
		if v != 0 {
			t.Fatalf("token-type row value %d is %g, want 0", i, v)
		}
	}
	checkAgainstLlamaCpp(t, f, back, c.ids)

	for _, v := range []struct {
		name string
		kvs  []gguf.KV
		ts   []gguf.Tensor
		want string
	}{
		{"reranker", kvs, append(append([]gguf.Tensor{}, ts...), gguf.Tensor{Name: "cls.output.weight", Type: gguf.TypeF32, Shape: []int{1, 256}, Data: make([]byte, 1024)}), "cls.output.weight"},
		{"causal", setKV(kvs, "bert.attention.causal", true), ts, "causal"},
		{"pooling", setKV(kvs, "bert.pooling_type", uint32(9)), ts, "pooling_type"},
	} {
		t.Run(v.name, func(t *testing.T) {
			file := filepath.Join(dir, v.name+".gguf")
			if err := gguf.WriteFile(file, v.kvs, v.ts); err != nil {
				t.Fatal(err)
			}
			checkImportFails(t, file, v.want)
		})
	}
}

// checkAgainstLlamaCpp compares llama.cpp's pooling-none embedding of file (the last token) with the imported
// folder's last hidden state for the full sequence and a shorter prefix: cosine ≥ 0.9999 and |Δ| ≤ 3e-3 (ggml's
// fp16-table GELU, as in TestExportGGUFEncoderEmbeddings).
func checkAgainstLlamaCpp(t *testing.T, file, back string, ids []int) {
	t.Helper()
	seqs := [][]int{ids, ids[:len(ids)/2]}
	js, _ := json.Marshal(seqs)
	var ref struct {
		Embeddings [][][]float64 `json:"embeddings"`
	}
	validators.Run(t, &ref, []string{"node-llama-cpp"}, "llama_embed_seqs.mjs", string(js), file)
	if len(ref.Embeddings) != 1 || len(ref.Embeddings[0]) != len(seqs) {
		t.Fatalf("llama.cpp returned %d×? embeddings, want 1×%d", len(ref.Embeddings), len(seqs))
	}
	h := loadHeadless(t, back)
	for j, seq := range seqs {
		hidden := h.lastHidden(t, seq)
		D := len(hidden) / len(seq)
		got, want := ref.Embeddings[0][j], hidden[(len(seq)-1)*D:]
		if len(got) != D {
			t.Fatalf("llama.cpp embedding of %d values, hidden size %d", len(got), D)
		}
		var dot, na, nb, maxAbs float64
		for d := range D {
			dot += got[d] * float64(want[d])
			na += got[d] * got[d]
			nb += float64(want[d]) * float64(want[d])
			maxAbs = math.Max(maxAbs, math.Abs(got[d]-float64(want[d])))
		}
		cos := dot / math.Sqrt(na*nb)
		t.Logf("%d tokens: llama.cpp on %s vs hift on its import: cosine %.6f, max |Δ| %.3g", len(seq), filepath.Base(file), cos, maxAbs)
		if !(cos >= 0.9999) || maxAbs > 3e-3 {
			t.Errorf("%d tokens: cosine %.6f, max |Δ| %g (want ≥ 0.9999, ≤ 3e-3)", len(seq), cos, maxAbs)
		}
	}
}

// TestImportGGUFWithoutTokenizer: a vocabulary hift cannot read (here tokenizer.ggml.model "rwkv") still
// imports the weights and config (exit 0), and says what the user can do about the tokenizer.
func TestImportGGUFWithoutTokenizer(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "tiny.gguf")
	exportGGUF(t, repoPath("examples", "tiny-llama"), "f32", src)
	kvs, ts := ggufParts(t, src)
	f := filepath.Join(dir, "rwkv-vocab.gguf")
	if err := gguf.WriteFile(f, setKV(kvs, "tokenizer.ggml.model", "rwkv"), ts); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, _, stderr := runCLI(t, "import", "--in", f, "--out", out)
	t.Logf("exit %d: %s", code, stderr)
	if code != 0 {
		t.Fatalf("import: exit %d", code)
	}
	for _, want := range []string{"tokenizer not imported", "rwkv", "tokenizer.json", "--tokenizer", out} {
		if !strings.Contains(stderr, want) {
			t.Errorf("import's message does not say %q: %s", want, stderr)
		}
	}
	for _, name := range []string{"config.json", "model.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("no %s: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "tokenizer.json")); err == nil {
		t.Error("a tokenizer.json was written for a vocabulary hift cannot read")
	}
}
