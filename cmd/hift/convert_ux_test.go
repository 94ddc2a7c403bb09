package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/safetensors"
)

// TestParseShardSize: --max-shard-size means what max_shard_size means to transformers. The expected values
// were computed by running a transcription of transformers' convert_file_size_to_int
// (src/transformers/utils/hub.py) under python3 on each string: GB/MB/KB are powers of 10, GiB/MiB/KiB powers
// of 2, suffixes match case-insensitively, a trailing lower-case "b" on a decimal unit means bits (floor /8),
// the number is read as Python's int() reads it. A bare integer is bytes (transformers' int argument).
func TestParseShardSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"5GB", 5000000000}, {"5GiB", 5368709120}, {"500MB", 500000000}, {"500MiB", 524288000}, {"100KB", 100000},
		{"5Gb", 625000000}, {"5gb", 625000000}, {"5gB", 5000000000}, {"5gib", 5368709120}, {"5GIB", 5368709120},
		{"100kb", 12500}, {"100Kb", 12500}, {"3kb", 375}, {"1Kb", 125}, {" 5 GB", 5000000000}, {"1_000MB", 1000000000},
		{"+2MB", 2000000}, {"5 KiB", 5120}, {"7mib", 7340032}, {"427264", 427264}, {"10GB", 10000000000},
	} {
		if got, err := parseShardSize(c.in); err != nil || got != c.want {
			t.Errorf("parseShardSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	// transformers raises ValueError on these (the first eight); hift also refuses sizes that cannot shard.
	for _, in := range []string{"1.5GB", "5GB ", "GB", "5B", "5_GB", "5__0MB", "1e3KB", "0x10MB", "", "0GB", "-1GB", "99999999999GiB", "-0KB"} {
		if got, err := parseShardSize(in); err == nil {
			t.Errorf("parseShardSize(%q) = %d; want an error", in, got)
		}
	}
}

// TestConvertMaxShardSize: the llama fixture holds 427264 bytes of tensors; --max-shard-size 427KB (427000
// bytes, decimal as in transformers) must shard it, 427KiB (437248) must not, nor a byte count equal to the
// total; 3418kb is 427250 bytes (bits), 3419kb 427375. Each shard stays within the limit and the tensors are
// the fixture's.
func TestConvertMaxShardSize(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	ref := mustCk(t, fx.Path("model.safetensors"))
	var total int64
	for _, n := range ref.Names() {
		b, _ := ref.Bytes(n)
		total += int64(len(b))
	}
	if total != 427264 {
		t.Fatalf("the fixture holds %d bytes of tensors; this test's sizes are chosen around 427264", total)
	}
	dir := t.TempDir()
	for i, c := range []struct {
		size    string
		limit   int64
		sharded bool
	}{
		{"427KB", 427000, true}, {"427KiB", 437248, false}, {"427264", 427264, false}, {"427263", 427263, true},
		{"3418kb", 427250, true}, {"3419kb", 427375, false},
	} {
		out := filepath.Join(dir, strings.Repeat("x", i+1))
		code, _, stderr := runCLI(t, "convert", "--model", fx.Dir, "--out", out, "--max-shard-size", c.size)
		if code != 0 {
			t.Fatalf("convert --max-shard-size %s: exit %d: %s", c.size, code, stderr)
		}
		shards, _ := filepath.Glob(filepath.Join(out, "model-*-of-*.safetensors"))
		single := filepath.Join(out, safetensors.SingleFileName)
		_, singleErr := os.Stat(single)
		if c.sharded != (len(shards) > 1) || c.sharded == (singleErr == nil) {
			t.Errorf("--max-shard-size %s (%d bytes): %d shards, %s present: %v; want sharded %v", c.size, c.limit, len(shards), single, singleErr == nil, c.sharded)
		}
		for _, s := range shards {
			ck := mustCk(t, s)
			var n int64
			for _, name := range ck.Names() {
				b, _ := ck.Bytes(name)
				n += int64(len(b))
			}
			if n > c.limit {
				t.Errorf("--max-shard-size %s: %s holds %d bytes > %d", c.size, filepath.Base(s), n, c.limit)
			}
		}
		got := mustCk(t, out)
		if got.Len() != ref.Len() {
			t.Errorf("--max-shard-size %s: %d tensors, want %d", c.size, got.Len(), ref.Len())
		}
		t.Logf("--max-shard-size %-7s = %6d bytes: %d shard file(s)", c.size, c.limit, max(len(shards), 1))
	}
	code, _, stderr := runCLI(t, "convert", "--model", fx.Dir, "--out", filepath.Join(dir, "bad"), "--max-shard-size", "1.5GB")
	if code != exitBadInput || !strings.Contains(stderr, "--max-shard-size") || !strings.Contains(stderr, `"1.5GB"`) {
		t.Errorf("--max-shard-size 1.5GB: exit %d: %s", code, stderr)
	}
}

// TestConvertDropsTiedCopies: a tied OPT checkpoint saved by torch.save with lm_head.weight sharing the
// embedding's storage (testdata/torchbin/opt_tied, as save_pretrained(safe_serialization=False) writes it)
// converts to exactly the tensors HF's own safetensors save holds (the opt_causal_lm fixture's model.safetensors,
// written by transformers: no lm_head.weight), byte for byte; both load in hift and forward identically; a
// tied copy that differs from its owner is refused, naming both.
func TestConvertDropsTiedCopies(t *testing.T) {
	fx, err := fixture.Load("opt_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	bin := repoPath("testdata", "torchbin", "opt_tied")
	dir := t.TempDir()
	conv := filepath.Join(dir, "conv")
	code, _, stderr := runCLI(t, "convert", "--model", bin, "--out", conv)
	if code != 0 {
		t.Fatalf("convert %s: exit %d: %s", bin, code, stderr)
	}
	if !strings.Contains(stderr, "left out tied copies") || !strings.Contains(stderr, "lm_head.weight") {
		t.Errorf("convert does not say it left lm_head.weight out:\n%s", stderr)
	}
	ref := mustCk(t, fx.Path("model.safetensors"))
	got := mustCk(t, conv)
	if !slices.Equal(got.Names(), ref.Names()) {
		t.Fatalf("converted names %v\nHF's model.safetensors %v", got.Names(), ref.Names())
	}
	for _, n := range ref.Names() {
		a, _ := ref.Bytes(n)
		b, _ := got.Bytes(n)
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from HF's", n)
		}
	}
	t.Logf("converted %d tensors = HF's key set (lm_head.weight left out)", got.Len())

	// Both the .bin with the tied copy and the converted folder load and give the same forward pass.
	outs := map[string]string{}
	for name, model := range map[string]string{"bin": bin, "conv": conv} {
		outs[name] = filepath.Join(dir, name+"-fwd.safetensors")
		if code, _, stderr := runCLI(t, "forward", "--model", model, "--inputs", fx.Path("inputs.safetensors"), "--out", outs[name]); code != 0 {
			t.Fatalf("forward --model %s: exit %d: %s", model, code, stderr)
		}
	}
	a, _ := os.ReadFile(outs["bin"])
	b, _ := os.ReadFile(outs["conv"])
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("forward from the converted checkpoint differs from the tied .bin (%d vs %d bytes)", len(b), len(a))
	}

	// A "tied" copy with other values: refused, both names in the message, nothing written.
	bad := filepath.Join(dir, "bad")
	os.MkdirAll(bad, 0o755)
	copyFile(t, fx.Path("config.json"), filepath.Join(bad, "config.json"))
	var recs []safetensors.Tensor
	for _, n := range ref.Names() {
		tt, _ := ref.Tensor(n)
		recs = append(recs, tt)
		if n == "model.decoder.embed_tokens.weight" {
			d := slices.Clone(tt.Data)
			d[0] ^= 1
			recs = append(recs, safetensors.Tensor{Name: "lm_head.weight", DType: tt.DType, Shape: tt.Shape, Data: d})
		}
	}
	if err := safetensors.WriteFile(filepath.Join(bad, safetensors.SingleFileName), recs, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "convert", "--model", bad, "--out", filepath.Join(dir, "bad-out"))
	if code != exitError || !strings.Contains(stderr, "lm_head.weight is tied to model.decoder.embed_tokens.weight") || !strings.Contains(stderr, "differ") {
		t.Errorf("convert of a differing tied copy: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad-out", safetensors.SingleFileName)); err == nil {
		t.Errorf("a refused convert wrote weights")
	}
}

// TestTrainSavesHFKeySet: training a tied model saves the names save_pretrained writes (no lm_head.weight),
// from HF's safetensors and from the tied .bin that holds the copy, and the saved model loads back.
func TestTrainSavesHFKeySet(t *testing.T) {
	fx, err := fixture.Load("opt_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	ref := mustCk(t, fx.Path("model.safetensors"))
	dir := t.TempDir()
	for name, model := range map[string]string{"safetensors": fx.Dir, "tied-bin": repoPath("testdata", "torchbin", "opt_tied")} {
		out := filepath.Join(dir, name)
		code, _, stderr := runCLI(t, "train", "--model", model, "--data", fx.Path("inputs.safetensors"), "--batch-size", "2", "--steps", "1", "--output", out)
		if code != 0 {
			t.Fatalf("train --model %s: exit %d: %s", model, code, stderr)
		}
		got := mustCk(t, out)
		if !slices.Equal(got.Names(), ref.Names()) {
			t.Errorf("train from %s saved %v\nwant HF's %v", name, got.Names(), ref.Names())
		}
		if code, _, stderr := runCLI(t, "inspect", out); code != 0 {
			t.Errorf("inspect %s: exit %d: %s", out, code, stderr)
		}
	}
}
