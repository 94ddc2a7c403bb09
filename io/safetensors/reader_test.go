package safetensors

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const llamaDir = "testdata/llama_causal_lm"

// The HF fixture (written by transformers' save_pretrained) reads with the
// names, shapes and values torch wrote.
func TestReadHFFixture(t *testing.T) {
	path := filepath.Join(llamaDir, "model.safetensors")
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wantShapes := map[string][]int{"lm_head.weight": {256, 64}, "model.embed_tokens.weight": {256, 64}, "model.norm.weight": {64}}
	for i := 0; i < 2; i++ {
		p := "model.layers." + string(rune('0'+i)) + "."
		for name, shape := range map[string][]int{
			"input_layernorm.weight": {64}, "post_attention_layernorm.weight": {64},
			"mlp.down_proj.weight": {64, 128}, "mlp.gate_proj.weight": {128, 64}, "mlp.up_proj.weight": {128, 64},
			"self_attn.k_proj.weight": {32, 64}, "self_attn.v_proj.weight": {32, 64},
			"self_attn.o_proj.weight": {64, 64}, "self_attn.q_proj.weight": {64, 64},
		} {
			wantShapes[p+name] = shape
		}
	}
	names := c.Names()
	if len(names) != len(wantShapes) || !slices.IsSorted(names) {
		t.Fatalf("Names() = %v, want %d sorted names", names, len(wantShapes))
	}
	for _, name := range names {
		info, ok := c.Info(name)
		if !ok || info.DType != F32 || !slices.Equal(info.Shape, wantShapes[name]) || info.File != path {
			t.Errorf("Info(%q) = %+v, %v; want F32 %v", name, info, ok, wantShapes[name])
		}
		if got := c.ShardOf(name); got != "model.safetensors" {
			t.Errorf("ShardOf(%q) = %q", name, got)
		}
	}
	if md := c.Metadata(); len(md) != 1 || md["format"] != "pt" {
		t.Errorf("Metadata() = %v", md)
	}
	if f := c.Files(); !slices.Equal(f, []string{path}) {
		t.Errorf("Files() = %v", f)
	}
	norm, err := c.Float32("model.norm.weight")
	if err != nil {
		t.Fatal(err)
	}
	// First values as read by numpy from the same file.
	for i, want := range []float64{1.0461355447769165, 0.692665696144104, 1.2929617166519165, 0.9689474105834961} {
		if float64(norm[i]) != want {
			t.Errorf("model.norm.weight[%d] = %v, want %v", i, norm[i], want)
		}
	}
	head, _ := c.Float32("lm_head.weight")
	if len(head) != 256*64 || head[0] != float32(0.09563998132944107) {
		t.Errorf("lm_head.weight: %d values, first %v", len(head), head[0])
	}
	if _, err := c.Int64("model.norm.weight"); err == nil || !strings.Contains(err.Error(), `"model.norm.weight"`) {
		t.Errorf("Int64 of F32 error = %v", err)
	}
}

func TestReadHFInputs(t *testing.T) {
	c, err := Open(filepath.Join(llamaDir, "inputs.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Names(); !slices.Equal(got, []string{"attention_mask", "input_ids", "labels"}) {
		t.Errorf("Names() = %v", got)
	}
	labels, err := c.Int64("labels")
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{89, 222, 82, 236, 249, 92, 192, 64, 3, 206, 15, 137, 39, 208, 66, 78, 97, 60, 233, 176, -100, -100, -100, -100}
	if !slices.Equal(labels, want) {
		t.Errorf("labels = %v", labels)
	}
	mask, err := c.Float32("attention_mask")
	if err != nil || len(mask) != 24 || mask[19] != 1 || mask[20] != 0 {
		t.Errorf("attention_mask as float32 = %v, %v", mask, err)
	}
	if md := c.Metadata(); md == nil || len(md) != 0 {
		t.Errorf("Metadata() = %#v, want empty", md)
	}
}

// Re-writing what was read from an HF file reproduces it byte for byte: the
// writer lays files out as transformers does for single-dtype checkpoints.
func TestRewriteHFFixtureIsByteIdentical(t *testing.T) {
	for _, name := range []string{"model.safetensors", "inputs.safetensors"} {
		src := filepath.Join(llamaDir, name)
		out := filepath.Join(t.TempDir(), name)
		rewrite(t, src, out)
		a, _ := os.ReadFile(src)
		b, _ := os.ReadFile(out)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: re-written file differs (%d vs %d bytes)", name, len(a), len(b))
		}
	}
}

// rewrite copies a single-file checkpoint through Open and WriteFile.
func rewrite(t *testing.T, src, dst string) {
	t.Helper()
	c, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ts []Tensor
	for _, n := range c.Names() {
		tt, err := c.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tt)
	}
	if err := WriteFile(dst, ts, c.Metadata()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenDirectory(t *testing.T) {
	// The fixture folder holds model.safetensors and inputs.safetensors:
	// model.safetensors is chosen.
	c, err := Open(llamaDir)
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Files(); len(f) != 1 || filepath.Base(f[0]) != "model.safetensors" {
		t.Errorf("Open(dir).Files() = %v", f)
	}
	c.Close()

	one := t.TempDir()
	if err := WriteFile(filepath.Join(one, "adapter_model.safetensors"), []Tensor{f32Tensor(t, "a", 0, 2)}, nil); err != nil {
		t.Fatal(err)
	}
	c, err = Open(one)
	if err != nil {
		t.Fatal(err)
	}
	if c.ShardOf("a") != "adapter_model.safetensors" {
		t.Errorf("ShardOf(a) = %q", c.ShardOf("a"))
	}
	c.Close()

	two := t.TempDir()
	for _, n := range []string{"x.safetensors", "y.safetensors"} {
		if err := WriteFile(filepath.Join(two, n), []Tensor{f32Tensor(t, "a", 0, 2)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = Open(two)
	wantErr(t, "two files", err, two, "x.safetensors", "y.safetensors", "pass the file")

	_, err = Open(t.TempDir())
	wantErr(t, "empty dir", err, "no model.safetensors.index.json")

	_, err = Open(filepath.Join(two, "missing.safetensors"))
	wantErr(t, "missing file", err, "missing.safetensors", "no such file")
}

func TestCheckpointErrors(t *testing.T) {
	path := filepath.Join(llamaDir, "inputs.safetensors")
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Bytes("nope")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Bytes(nope) error = %v, want ErrNotFound", err)
	}
	wantErr(t, "not found", err, path, `"nope"`)
	if _, ok := c.Info("nope"); ok || c.ShardOf("nope") != "" {
		t.Error("Info/ShardOf of a missing tensor succeeded")
	}
	b, err := c.Bytes("input_ids")
	if err != nil || len(b) != 192 || cap(b) != 192 {
		t.Errorf("Bytes(input_ids): len %d cap %d, %v", len(b), cap(b), err)
	}
	tt, _ := c.Tensor("input_ids")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err = c.Float32("input_ids")
	wantErr(t, "after Close", err, "closed")
	if v, err := DecodeInt64(tt.DType, tt.Data); err != nil || v[0] != 89 {
		t.Errorf("Tensor copy after Close = %v, %v", v[:1], err)
	}
}

func TestFloat32Conversions(t *testing.T) {
	dir := t.TempDir()
	bf, _ := EncodeFloat32(BF16, []float32{1.5, -2.71828})
	i32, _ := EncodeInt64(I32, []int64{-7, 9})
	path := filepath.Join(dir, "m.safetensors")
	err := WriteFile(path, []Tensor{
		{Name: "bf", DType: BF16, Shape: []int{2}, Data: bf},
		{Name: "i", DType: I32, Shape: []int{2}, Data: i32},
		{Name: "nan", DType: F32, Shape: []int{}, Data: []byte{0, 0, 0xC0, 0x7F}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.Float32("bf"); err != nil || !slices.Equal(v, []float32{1.5, -2.71875}) {
		t.Errorf("Float32(bf) = %v, %v", v, err)
	}
	if v, err := c.Float32("i"); err != nil || !slices.Equal(v, []float32{-7, 9}) {
		t.Errorf("Float32(i) = %v, %v", v, err)
	}
	if v, err := c.Int64("i"); err != nil || !slices.Equal(v, []int64{-7, 9}) {
		t.Errorf("Int64(i) = %v, %v", v, err)
	}
	if v, err := c.Float32("nan"); err != nil || len(v) != 1 || !math.IsNaN(float64(v[0])) {
		t.Errorf("Float32(nan) = %v, %v", v, err)
	}
}
