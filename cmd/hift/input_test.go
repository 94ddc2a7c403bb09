package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/safetensors"
)

// writeIDs writes a pre-tokenized batch file of rows×t tokens (all id), with labels equal to the ids.
func writeIDs(t *testing.T, path string, rows, tlen int, id func(r, j int) int64) string {
	t.Helper()
	n := rows * tlen
	ids, mask := make([]byte, 8*n), make([]byte, 8*n)
	for r := 0; r < rows; r++ {
		for j := 0; j < tlen; j++ {
			binary.LittleEndian.PutUint64(ids[8*(r*tlen+j):], uint64(id(r, j)))
			binary.LittleEndian.PutUint64(mask[8*(r*tlen+j):], 1)
		}
	}
	recs := []safetensors.Tensor{{Name: "input_ids", DType: safetensors.I64, Shape: []int{rows, tlen}, Data: ids},
		{Name: "attention_mask", DType: safetensors.I64, Shape: []int{rows, tlen}, Data: mask},
		{Name: "labels", DType: safetensors.I64, Shape: []int{rows, tlen}, Data: ids}}
	if err := safetensors.WriteFile(path, recs, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSeqLenAboveLimitEveryFamily: --seq-len (text data) or pre-tokenized sequences longer than the model's
// position limit are a clear usage error for every family's fixture.
func TestSeqLenAboveLimitEveryFamily(t *testing.T) {
	names := []string{"llama_causal_lm", "llama_seq_cls", "gpt2_causal_lm", "gpt_neo_causal_lm", "gpt_neox_causal_lm",
		"opt_causal_lm", "bert_seq_cls", "bert_token_cls", "roberta_seq_cls", "roberta_qa"}
	dir := t.TempDir()
	text := filepath.Join(dir, "t.jsonl")
	os.WriteFile(text, []byte(`{"text":"hello"}`+"\n"), 0o644)
	n := 0
	for _, name := range names {
		fx, err := fixture.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := graph.LoadConfig(fx.Dir)
		if err != nil {
			t.Fatal(err)
		}
		limit := cfg.PositionLimit()
		if limit <= 0 {
			t.Fatalf("%s: no position limit", name)
		}
		long := writeIDs(t, filepath.Join(dir, name+".safetensors"), 2, limit+1, func(r, j int) int64 { return 5 })
		for _, args := range [][]string{{"--data", text, "--seq-len", fmt.Sprint(limit + 1)}, {"--data", long}} {
			code, _, stderr := runCLI(t, append([]string{"train", "--model", fx.Dir, "--steps", "1", "--output", filepath.Join(dir, "o-"+name)}, args...)...)
			if code != exitBadInput || !strings.Contains(stderr, fmt.Sprintf("position limit of %d", limit)) {
				t.Errorf("%s %v: exit %d: %s", name, args, code, stderr)
			}
			n++
		}
	}
	t.Logf("%d fixtures (7 families) × 2 (text --seq-len, pre-tokenized length): all refused with the limit named", n/2)
}

// TestOutOfVocabIDs: pre-tokenized ids outside the vocabulary are an error naming the example (exit 1), or
// skipped and counted with --skip-bad-rows.
func TestOutOfVocabIDs(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := writeIDs(t, filepath.Join(dir, "bad.safetensors"), 4, 8, func(r, j int) int64 {
		if r == 2 && j == 3 {
			return 256 // vocab_size is 256
		}
		return int64(3 + r + j)
	})
	code, _, stderr := runCLI(t, "train", "--model", fx.Dir, "--data", bad, "--steps", "1", "--output", filepath.Join(dir, "o1"))
	if code != exitError || !strings.Contains(stderr, "example 2: input_ids[3] = 256 is outside the model's vocabulary [0, 256)") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "train", "--model", fx.Dir, "--data", bad, "--steps", "1", "--skip-bad-rows", "--output", filepath.Join(dir, "o2"))
	if code != 0 || !strings.Contains(stderr, "skipped 1 example(s)") {
		t.Errorf("--skip-bad-rows: exit %d: %s", code, stderr)
	}
}

// TestDefaultSeqLenCapped: without --seq-len, text data is cut to the model's position limit (as HF's run_clm
// caps block_size), and the run records it so a resume formats the same way.
func TestDefaultSeqLenCapped(t *testing.T) {
	model := tinyModel(t, "LlamaForCausalLM", "") // max_position_embeddings 128 = the default --seq-len
	edited := filepath.Join(t.TempDir(), "m64")
	os.MkdirAll(edited, 0o755)
	entries, _ := os.ReadDir(model)
	for _, e := range entries {
		copyFile(t, filepath.Join(model, e.Name()), filepath.Join(edited, e.Name()))
	}
	b, _ := os.ReadFile(filepath.Join(edited, "config.json"))
	os.WriteFile(filepath.Join(edited, "config.json"), []byte(strings.Replace(string(b), `"max_position_embeddings":128`, `"max_position_embeddings":48`, 1)), 0o644)
	out := filepath.Join(t.TempDir(), "o")
	code, _, log := runCLI(t, "train", "--model", edited, "--data", repoPath("examples", "data", "opticks-queries.jsonl"), "--max-rows", "8",
		"--steps", "2", "--save-every", "1", "--output", out)
	if code != 0 || !strings.Contains(log, "using 48") || !strings.Contains(log, "examples of 48 tokens") {
		t.Fatalf("exit %d: %s", code, log)
	}
	code, _, log = runCLI(t, "train", "--resume", filepath.Join(out, "checkpoint-1"), "--output", out)
	if code != 0 || !strings.Contains(log, "--seq-len=48") {
		t.Errorf("resume: exit %d: %s", code, log)
	}
}
