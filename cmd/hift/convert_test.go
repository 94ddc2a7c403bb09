package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/safetensors"
)

// TestTorchBinCheckpoint: a folder holding only torch-written pytorch_model-*.bin shards works where
// safetensors does (forward gives the same bytes as the safetensors fixture), and `hift convert` writes
// safetensors equal to the fixture, in bf16 with --dtype, sharded with --max-shard-size; a malicious pickle is
// refused without running anything.
func TestTorchBinCheckpoint(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	binDir := repoPath("testdata", "torchbin", "llama")
	dir := t.TempDir()
	outs := map[string]string{}
	for name, model := range map[string]string{"bin": binDir, "st": fx.Dir} {
		outs[name] = filepath.Join(dir, name+".safetensors")
		code, _, stderr := runCLI(t, "forward", "--model", model, "--inputs", fx.Path("inputs.safetensors"), "--out", outs[name])
		if code != 0 {
			t.Fatalf("forward --model %s: exit %d: %s", model, code, stderr)
		}
	}
	a, _ := os.ReadFile(outs["bin"])
	b, _ := os.ReadFile(outs["st"])
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("forward from the .bin checkpoint differs from the safetensors one (%d vs %d bytes)", len(a), len(b))
	}

	// inspect names the .bin files, not the temporary copy.
	if code, out, stderr := runCLI(t, "inspect", binDir); code != 0 || !strings.Contains(out, "pytorch_model-00002-of-00002.bin") || strings.Contains(out, "hift-torchbin") {
		t.Errorf("inspect %s: exit %d: %s%s", binDir, code, out, stderr)
	}

	// Training from the .bin checkpoint saves safetensors in the same two-shard layout.
	trained := filepath.Join(dir, "trained")
	code, _, stderr := runCLI(t, "train", "--model", binDir, "--data", fx.Path("inputs.safetensors"), "--batch-size", "2", "--steps", "2", "--output", trained)
	if code != 0 {
		t.Fatalf("train from .bin: exit %d: %s", code, stderr)
	}
	if shards, _ := filepath.Glob(filepath.Join(trained, "model-0000?-of-00002.safetensors")); len(shards) != 2 {
		t.Errorf("trained output shards %v, want the input's two-shard layout as safetensors", shards)
	}

	// convert: same tensors, config copied.
	conv := filepath.Join(dir, "conv")
	if code, _, stderr := runCLI(t, "convert", "--model", binDir, "--out", conv); code != 0 {
		t.Fatalf("convert: exit %d: %s", code, stderr)
	}
	ref := mustCk(t, fx.Path("model.safetensors"))
	got := mustCk(t, filepath.Join(conv, "model.safetensors"))
	if got.Len() != ref.Len() {
		t.Fatalf("converted %d tensors, fixture has %d", got.Len(), ref.Len())
	}
	for _, n := range ref.Names() {
		x, _ := ref.Bytes(n)
		y, err := got.Bytes(n)
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("converted %s differs: %v", n, err)
		}
	}
	if _, err := os.Stat(filepath.Join(conv, "config.json")); err != nil {
		t.Errorf("config.json not copied: %v", err)
	}

	// --dtype bf16 --max-shard-size: shards, index, torch_dtype updated, values rounded to bf16.
	conv16 := filepath.Join(dir, "conv16")
	if code, _, stderr := runCLI(t, "convert", "--model", binDir, "--out", conv16, "--dtype", "bf16", "--max-shard-size", "100KB"); code != 0 {
		t.Fatalf("convert --dtype bf16: exit %d: %s", code, stderr)
	}
	shards, _ := filepath.Glob(filepath.Join(conv16, "model-*-of-*.safetensors"))
	if len(shards) < 2 {
		t.Errorf("--max-shard-size 100KB on a %d-tensor model wrote %d shard(s)", ref.Len(), len(shards))
	}
	ck := mustCk(t, conv16)
	for _, n := range ref.Names() {
		info, _ := ck.Info(n)
		want, _ := ref.Float32(n)
		have, err := ck.Float32(n)
		if err != nil || info.DType != safetensors.BF16 {
			t.Fatalf("%s: %s, %v", n, info.DType, err)
		}
		for i := range want {
			if have[i] != safetensors.BF16ToF32(safetensors.F32ToBF16(want[i])) {
				t.Fatalf("%s[%d] = %v, want bf16(%v)", n, i, have[i], want[i])
			}
		}
	}
	var cfg map[string]any
	raw, _ := os.ReadFile(filepath.Join(conv16, "config.json"))
	if json.Unmarshal(raw, &cfg) != nil || cfg["torch_dtype"] != "bfloat16" {
		t.Errorf("config.json torch_dtype = %v, want bfloat16", cfg["torch_dtype"])
	}

	// Refusals: malicious pickle, writing into the input or over weights.
	evil := filepath.Join(dir, "evil")
	os.MkdirAll(evil, 0o755)
	copyFile(t, fx.Path("config.json"), filepath.Join(evil, "config.json"))
	copyFile(t, repoPath("testdata", "torchbin", "malicious.bin"), filepath.Join(evil, "pytorch_model.bin"))
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"convert", "--model", evil, "--out", filepath.Join(dir, "x")}, exitError, "global posix.system"},
		{[]string{"forward", "--model", evil, "--inputs", fx.Path("inputs.safetensors"), "--out", filepath.Join(dir, "y.safetensors")}, exitError, "refused"},
		{[]string{"convert", "--model", binDir, "--out", binDir}, exitBadInput, "is the input folder"},
		{[]string{"convert", "--model", binDir, "--out", conv}, exitBadInput, "already holds weights"},
		{[]string{"convert", "--model", binDir, "--out", conv, "--dtype", "int4"}, exitBadInput, "--dtype must be"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d (want %d), stderr should contain %q:\n%s", c.args, code, c.code, c.want, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Errorf("a refused convert created its output folder")
	}
}
