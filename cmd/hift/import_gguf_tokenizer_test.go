package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hift-go/hift/internal/validators"
)

// TestImportGGUFTokenizers: importing a GGUF with a WordPiece ("bert") or a SentencePiece ("llama")
// vocabulary writes tokenizer.json and tokenizer_config.json, and HF tokenizers on the imported
// tokenizer.json gives the ids the original tokenizer gives (HF tokenizers on BERT's tokenizer.json; C++
// SentencePiece on LLaMA 2's tokenizer.model) on testdata/tokenizers/corpus.json, without and with special
// tokens. Two kinds of text are left out, where the imported tokenizer follows llama.cpp (the GGUF's own
// tokenizer) by design of data/tokenizer: WordPiece words over 100 characters (HF's
// max_input_chars_per_word makes them [UNK], llama.cpp has no limit) and, for SentencePiece, the literal
// spellings <s>, </s>, <unk> (tokenizer.json matches them as the special tokens, as HF's own LLaMA
// tokenizer.json does; C++ SentencePiece spells them out).
func TestImportGGUFTokenizers(t *testing.T) {
	tmp := t.TempDir()
	bertTok := filepath.Join(tmp, "tokenizer.json")
	gunzip(t, repoPath("testdata", "tokenizers", "bert", "tokenizer.json.gz"), bertTok)
	spm := filepath.Join(tmp, "tokenizer.model")
	gunzip(t, repoPath("testdata", "tokenizers", "llama2", "tokenizer.model.gz"), spm)
	var texts []string
	b, err := os.ReadFile(repoPath("testdata", "tokenizers", "corpus.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &texts); err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(tmp, "corpus.json")
	js, _ := json.Marshal(texts)
	if err := os.WriteFile(corpus, js, 0o644); err != nil {
		t.Fatal(err)
	}
	longWord := func(s string) bool {
		for _, w := range strings.Fields(s) {
			if utf8.RuneCountInString(w) > 100 {
				return true
			}
		}
		return false
	}
	controlText := func(s string) bool {
		return strings.Contains(s, "<s>") || strings.Contains(s, "</s>") || strings.Contains(s, "<unk>")
	}
	for _, c := range []struct {
		name, tok, cfg string
		exportArgs     []string
		leftOut        func(string) bool
	}{
		{"bert-wordpiece", bertTok, `{"architectures":["BertForSequenceClassification"],"model_type":"bert","vocab_size":30522,
"hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":64}`,
			[]string{"--embeddings-only", "--pooling", "cls"}, longWord},
		{"llama-sentencepiece", spm, `{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":32000,
"hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":64}`, nil, controlText},
	} {
		t.Run(c.name, func(t *testing.T) {
			model := initEncoder(t, encoderCase{name: c.name, cfg: c.cfg, tok: c.tok})
			dir := t.TempDir()
			file := filepath.Join(dir, "model.gguf")
			args := append([]string{"export", "--model", model, "--format", "gguf", "--out", file}, c.exportArgs...)
			if code, _, stderr := runCLI(t, args...); code != 0 {
				t.Fatalf("export: %s", stderr)
			}
			back := filepath.Join(dir, "back")
			code, _, stderr := runCLI(t, "import", "--in", file, "--out", back)
			if code != 0 {
				t.Fatalf("import: %s", stderr)
			}
			for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
				b, err := os.ReadFile(filepath.Join(back, f))
				if err != nil {
					t.Fatalf("import wrote no %s: %v (stderr: %s)", f, err, stderr)
				}
				var v map[string]any
				if err := json.Unmarshal(b, &v); err != nil {
					t.Fatalf("%s is not a JSON object: %v", f, err)
				}
			}
			type encodings struct {
				Cases []struct {
					IDs        []int `json:"ids"`
					IDsSpecial []int `json:"ids_special"`
				} `json:"cases"`
			}
			var want, got encodings
			validators.Run(t, &want, []string{"tokenizers", "@sctg/sentencepiece-js"}, "tok_ids.mjs", c.tok, corpus)
			validators.Run(t, &got, []string{"tokenizers"}, "tok_ids.mjs", filepath.Join(back, "tokenizer.json"), corpus)
			if len(want.Cases) != len(texts) || len(got.Cases) != len(texts) {
				t.Fatalf("%d and %d encodings for %d texts", len(want.Cases), len(got.Cases), len(texts))
			}
			same, sameSpecial, n := 0, 0, 0
			for i, s := range texts {
				if c.leftOut(s) {
					continue
				}
				n++
				if slices.Equal(got.Cases[i].IDs, want.Cases[i].IDs) {
					same++
				} else if n-same <= 5 {
					t.Errorf("%.100q: imported tokenizer.json %v, original %v", s, got.Cases[i].IDs, want.Cases[i].IDs)
				}
				if slices.Equal(got.Cases[i].IDsSpecial, want.Cases[i].IDsSpecial) {
					sameSpecial++
				} else if n-sameSpecial <= 5 {
					t.Errorf("%.100q with special tokens: imported tokenizer.json %v, original %v", s, got.Cases[i].IDsSpecial, want.Cases[i].IDsSpecial)
				}
			}
			t.Logf("%s: HF tokenizers on the imported tokenizer.json equals the original on %d/%d texts, %d/%d with special tokens (%d texts left out, see above)",
				c.name, same, n, sameSpecial, n, len(texts)-n)
			if n < len(texts)*9/10 {
				t.Errorf("only %d of %d texts compared", n, len(texts))
			}
		})
	}
}
