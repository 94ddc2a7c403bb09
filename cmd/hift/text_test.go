package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// repoPath returns a path inside the repository.
func repoPath(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

// tinyModel creates a small random model with the demo tokenizer (hift init) and returns its folder.
func tinyModel(t *testing.T, class string, extra string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{"architectures":[%q],"model_type":"llama","vocab_size":512,"hidden_size":32,"intermediate_size":64,
"num_hidden_layers":2,"num_attention_heads":2,"num_key_value_heads":1,"max_position_embeddings":128,"pad_token_id":511%s}`, class, extra)
	cfgPath := filepath.Join(dir, "src-config.json")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "model")
	code, _, stderr := runCLI(t, "init", "--config", cfgPath, "--tokenizer", repoPath("examples", "tiny-llama", "tokenizer.json"), "--out", out, "--seed", "3")
	if code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	copyFile(t, repoPath("examples", "tiny-llama", "tokenizer_config.json"), filepath.Join(out, "tokenizer_config.json"))
	return out
}

var lossRE = regexp.MustCompile(`loss ([0-9.]+)`)

// losses extracts the per-step losses from a train log.
func losses(log string) []float64 {
	var out []float64
	for _, line := range strings.Split(log, "\n") {
		if !strings.HasPrefix(line, "step ") {
			continue
		}
		if m := lossRE.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			out = append(out, v)
		}
	}
	return out
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// checkLossDrops asserts that the mean loss of the last steps is below that of the first ones.
func checkLossDrops(t *testing.T, log string, n int) {
	t.Helper()
	l := losses(log)
	if len(l) < 2*n {
		t.Fatalf("only %d loss lines in:\n%s", len(l), log)
	}
	first, last := mean(l[:n]), mean(l[len(l)-n:])
	t.Logf("loss %.4f (first %d steps) → %.4f (last %d)", first, n, last, n)
	if last >= first {
		t.Errorf("loss did not drop: %.4f → %.4f", first, last)
	}
}

// TestTrainFromTextFiles: causal LM from JSONL and Parquet, sequence classification from JSONL with label
// names; the loss drops, eval prints metrics, bad rows are handled.
func TestTrainFromTextFiles(t *testing.T) {
	lm := tinyModel(t, "LlamaForCausalLM", "")
	books := repoPath("examples", "data", "opticks-queries.jsonl")
	common := []string{"--seq-len", "32", "--batch-size", "4", "--steps", "24", "--lr", "3e-3", "--max-rows", "20", "--group-size", "2", "--no-shuffle"}
	out := t.TempDir()
	code, _, log := runCLI(t, append([]string{"train", "--model", lm, "--data", books, "--output", out,
		"--eval-data", repoPath("examples", "data", "opticks-queries-eval.jsonl"), "--sample-prompt", "Light", "--sample-tokens", "5"}, common...)...)
	if code != 0 {
		t.Fatalf("train on JSONL: %s", log)
	}
	checkLossDrops(t, log, 5)
	for _, want := range []string{"sample before training", "sample after training", "eval at step 24", "perplexity"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	metrics, _ := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if !strings.Contains(string(metrics), `"eval_perplexity"`) {
		t.Errorf("metrics.jsonl has no eval line")
	}

	// The same text as Parquet.
	type row struct {
		Text string `parquet:"text"`
	}
	var rows []row
	data, _ := os.ReadFile(books)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[:20] {
		var r row
		json.Unmarshal([]byte(line), &r)
		rows = append(rows, r)
	}
	pq := filepath.Join(t.TempDir(), "books.parquet")
	if err := parquet.WriteFile(pq, rows); err != nil {
		t.Fatal(err)
	}
	code, _, log = runCLI(t, append([]string{"train", "--model", lm, "--data", pq, "--no-save"}, common...)...)
	if code != 0 {
		t.Fatalf("train on Parquet: %s", log)
	}
	checkLossDrops(t, log, 5)

	// Sequence classification: is the sentence about light? Labels by name through label2id.
	cls := tinyModel(t, "LlamaForSequenceClassification", `,"id2label":{"0":"dark","1":"light"},"label2id":{"dark":0,"light":1}`)
	var sb strings.Builder
	words := []string{"Light", "Colours", "Rays", "Prism", "Bodies", "Motion", "Gravity", "Æther"}
	for i := 0; i < 48; i++ {
		w := words[i%len(words)]
		label := "dark"
		if i%len(words) < 4 {
			label = "light"
		}
		fmt.Fprintf(&sb, `{"sentence":"Of the %s and its nature, %d","label":%q}`+"\n", w, i, label)
	}
	clsData := filepath.Join(t.TempDir(), "cls.jsonl")
	os.WriteFile(clsData, []byte(sb.String()), 0o644)
	code, _, log = runCLI(t, "train", "--model", cls, "--data", clsData, "--text-field", "sentence", "--seq-len", "16",
		"--batch-size", "8", "--steps", "30", "--lr", "5e-3", "--group-size", "2", "--seed", "1", "--output", filepath.Join(t.TempDir(), "cls-out"))
	if code != 0 {
		t.Fatalf("train classification: %s", log)
	}
	checkLossDrops(t, log, 6)
	// Classification from Parquet, with a held-out split evaluated at the end.
	type clsRow struct {
		Sentence string `parquet:"sentence"`
		Label    string `parquet:"label"`
	}
	var prow []clsRow
	for _, line := range strings.Split(strings.TrimSpace(sb.String()), "\n") {
		var r clsRow
		json.Unmarshal([]byte(line), &r)
		prow = append(prow, r)
	}
	clsPq := filepath.Join(t.TempDir(), "cls.parquet")
	if err := parquet.WriteFile(clsPq, prow); err != nil {
		t.Fatal(err)
	}
	code, _, log = runCLI(t, "train", "--model", cls, "--data", clsPq, "--text-field", "sentence", "--seq-len", "16",
		"--batch-size", "8", "--steps", "30", "--lr", "5e-3", "--group-size", "2", "--seed", "1", "--eval-split", "0.25", "--no-save")
	if code != 0 {
		t.Fatalf("train classification from Parquet: %s", log)
	}
	checkLossDrops(t, log, 6)
	if !strings.Contains(log, "held out 12 of 48 examples") || !strings.Contains(log, "accuracy") {
		t.Errorf("eval split not reported:\n%s", log)
	}
	code, stdout, stderr := runCLI(t, "eval", "--model", cls, "--data", clsData, "--text-field", "sentence", "--seq-len", "16", "--json")
	if code != 0 || !strings.Contains(stdout, "eval_accuracy") {
		t.Errorf("eval: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// A bad row stops with its file and row number; --skip-bad-rows counts it.
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte(sb.String()+`{"sentence":"x","label":"twilight"}`+"\n"), 0o644)
	code, _, stderr = runCLI(t, "eval", "--model", cls, "--data", bad, "--text-field", "sentence", "--seq-len", "16")
	if code == 0 || !strings.Contains(stderr, "bad.jsonl: row 49") || !strings.Contains(stderr, "twilight") {
		t.Errorf("bad row: exit %d: %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "eval", "--model", cls, "--data", bad, "--text-field", "sentence", "--seq-len", "16", "--skip-bad-rows")
	if code != 0 || !strings.Contains(stderr, "1 rows skipped") {
		t.Errorf("--skip-bad-rows: exit %d: %s", code, stderr)
	}
}

func TestTokenizeAndGenerate(t *testing.T) {
	tok := repoPath("examples", "tiny-llama")
	var out strings.Builder
	f := &factory{stdout: &out, stderr: os.Stderr}
	opts := &TokenizeOptions{f: f, Tokenizer: tok, in: strings.NewReader(`"Query 1. Do not Bodies act upon Light at a distance?"` + "\n" + `""` + "\n")}
	if err := runTokenize(opts); err != nil {
		t.Fatal(err)
	}
	// Ids from HF tokenizers (npm tokenizers 0.23.2) for the same tokenizer.json.
	want := "[81,117,263,121,380,46,410,111,442,482,100,446,259,292,462,341,366,259,456,316,63]\n[]\n"
	if out.String() != want {
		t.Errorf("tokenize:\n%s\nwant\n%s", out.String(), want)
	}
	// Malformed stdin is bad data (exit 1, as a bad data file), named by its line, never a usage error.
	for _, bad := range []struct {
		decode bool
		in     string
	}{{false, "\"ok\"\nnotjson\n"}, {true, "[1,2]\n[1,\"x\"]\n"}} {
		opts := &TokenizeOptions{f: f, Tokenizer: tok, Decode: bad.decode, in: strings.NewReader(bad.in)}
		err := runTokenize(opts)
		var ue usageError
		if err == nil || !strings.Contains(err.Error(), "stdin line 2") || errors.As(err, &ue) {
			t.Errorf("tokenize (decode %v) of %q: want a data error (exit 1) naming stdin line 2, got %v", bad.decode, bad.in, err)
		}
	}
	lm := tinyModel(t, "LlamaForCausalLM", "")
	code, stdout, stderr := runCLI(t, "generate", "--model", lm, "--prompt", "Of the Light", "--max-new-tokens", "6")
	if code != 0 || !strings.HasPrefix(stdout, "Of the Light") || len(stdout) <= len("Of the Light\n") {
		t.Errorf("generate: exit %d, %q, %s", code, stdout, stderr)
	}
	code, stdout2, _ := runCLI(t, "generate", "--model", lm, "--prompt", "Of the Light", "--max-new-tokens", "6")
	if code != 0 || stdout2 != stdout {
		t.Errorf("greedy generation is not deterministic: %q vs %q", stdout, stdout2)
	}
}
