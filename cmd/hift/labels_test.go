package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hift-go/hift/data/tokenizer"
)

// readJSON decodes a JSON file of a saved model into a map.
func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// labelData writes n rows of a two-class CSV/TSV dataset whose labels are spelled by label(i).
func labelData(t *testing.T, name string, sep string, label func(i int) string) string {
	t.Helper()
	var sb strings.Builder
	sb.WriteString("sentence" + sep + "label\n")
	for i := 0; i < 16; i++ {
		fmt.Fprintf(&sb, "sentence number %d about %s%s%s\n", i, []string{"light", "dark"}[i%2], sep, label(i))
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLabelsAndPadToken: numeric CSV labels train a new classification head (classes counted from the data),
// TSV label names become the saved config's id2label/label2id (sorted, or in --label-names order), and
// --pad-token lands in the config and tokenizer_config.json.
func TestLabelsAndPadToken(t *testing.T) {
	base := tinyModel(t, "LlamaForCausalLM", "")
	cfg := readJSON(t, filepath.Join(base, "config.json"))
	delete(cfg, "pad_token_id") // as GPT-2/LLaMA checkpoints ship: no pad token
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(base, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	eosID, ok := tok.TokenID("<|endoftext|>")
	if !ok || tok.PAD() >= 0 {
		t.Fatalf("test tokenizer: eos %d/%v pad %d", eosID, ok, tok.PAD())
	}
	train := func(data string, extra ...string) (string, string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out")
		args := append([]string{"train", "--model", base, "--data", data, "--text-field", "sentence", "--seq-len", "16", "--batch-size", "4",
			"--steps", "2", "--task", "seq_cls", "--init-head", "--pad-token", "<|endoftext|>", "--output", out}, extra...)
		code, _, log := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("train %v: exit %d\n%s", extra, code, log)
		}
		return out, log
	}
	wantLabels := func(out string, names ...string) {
		t.Helper()
		c := readJSON(t, filepath.Join(out, "config.json"))
		id2, l2i := map[string]any{}, map[string]any{}
		for i, n := range names {
			id2[fmt.Sprint(i)], l2i[n] = n, float64(i)
		}
		if !reflect.DeepEqual(c["id2label"], id2) || !reflect.DeepEqual(c["label2id"], l2i) || c["num_labels"] != float64(len(names)) {
			t.Errorf("%s: id2label %v label2id %v num_labels %v, want %v", out, c["id2label"], c["label2id"], c["num_labels"], names)
		}
		if c["pad_token_id"] != float64(eosID) {
			t.Errorf("%s: pad_token_id %v, want %d", out, c["pad_token_id"], eosID)
		}
		if tc := readJSON(t, filepath.Join(out, "tokenizer_config.json")); tc["pad_token"] != "<|endoftext|>" || tc["eos_token"] != "<|endoftext|>" {
			t.Errorf("%s: tokenizer_config pad_token %v eos_token %v", out, tc["pad_token"], tc["eos_token"])
		}
	}
	// Numeric labels in a CSV ("0", "2"): three classes counted from the largest id.
	numeric := labelData(t, "num.csv", ",", func(i int) string { return fmt.Sprint(2 * (i % 2)) })
	out, log := train(numeric)
	wantLabels(out, "LABEL_0", "LABEL_1", "LABEL_2")
	if !strings.Contains(log, "class ids 0..2 → --num-labels 3") {
		t.Errorf("log does not say where the classes came from:\n%s", log)
	}
	// The same numbers named by --label-names.
	out, _ = train(numeric, "--label-names", "neg,neutral,pos")
	wantLabels(out, "neg", "neutral", "pos")
	// Names in a TSV: sorted unique values.
	named := labelData(t, "names.tsv", "\t", func(i int) string { return []string{"pos", "neg"}[i%2] })
	out, _ = train(named)
	wantLabels(out, "neg", "pos")
	// --label-names chooses another order; the data's names are mapped through it.
	out, _ = train(named, "--label-names", "pos,neg")
	wantLabels(out, "pos", "neg")

	// A run with --pad-token resumes from its checkpoint (whose tokenizer_config.json carries the pad token) and
	// keeps the labels and pad token.
	out, _ = train(named, "--label-names", "pos,neg", "--save-every", "2")
	code, _, log := runCLI(t, "train", "--resume", filepath.Join(out, "checkpoint-2"), "--steps", "3", "--output", out)
	if code != 0 || !strings.Contains(log, "step 3/3") {
		t.Fatalf("resume: exit %d\n%s", code, log)
	}
	wantLabels(out, "pos", "neg")

	// Mistakes are usage errors that say what is wrong.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--pad-token", "<pad>"}, `pad token "<pad>" is not in the vocabulary (the EOS token is "<|endoftext|>")`},
		{[]string{"--label-names", "a,b", "--num-labels", "3"}, "--label-names gives 2 names for --num-labels 3"},
		{[]string{"--num-labels", "3"}, "has 2 distinct labels (neg,pos) but --num-labels is 3"},
	} {
		args := append([]string{"train", "--model", base, "--data", named, "--text-field", "sentence", "--seq-len", "16", "--steps", "1",
			"--task", "seq_cls", "--init-head", "--no-save", "--pad-token", "<|endoftext|>"}, c.args...)
		code, _, log := runCLI(t, args...)
		if code != 2 || !strings.Contains(log, c.want) {
			t.Errorf("%v: exit %d, want 2 and %q:\n%s", c.args, code, c.want, log)
		}
	}
}
