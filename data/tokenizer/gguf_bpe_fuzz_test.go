package tokenizer

import (
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/hift-go/hift/io/gguf"
)

// FuzzGGUFBPEText: any text through llama.cpp-style byte-level BPE read from a GGUF (GPT-2's vocabulary under
// pre types that exercise every splitter kind: hand-written, collapsed-category and wide std::regex, digit
// grouping, Kimi-K2) never panics and decodes back to itself: llama.cpp's splitting must tile the text and every
// byte has a token. Run: go test -run '^$' -fuzz '^FuzzGGUFBPEText$' ./data/tokenizer.
func FuzzGGUFBPEText(f *testing.F) {
	for _, s := range append(mixedTexts(20), "", "Hello world", "<|endoftext|> x", "\xff\xfe", "1234567 天") {
		f.Add(s)
	}
	base, err := Load(filepath.Join("..", "..", "testdata", "tokenizers", "gpt2", "tokenizer.json.gz"))
	if err != nil {
		f.Fatal(err)
	}
	kvs, err := base.GGUFMetadata()
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	var toks []*Tokenizer
	for _, pre := range []string{"gpt-2", "llama-bpe", "qwen35", "deepseek-llm", "falcon", "tekken", "gpt-4o", "afmoe", "kimi-k2", "superbpe", "chameleon"} {
		kv := slices.Clone(kvs)
		for j := range kv {
			if kv[j].Key == "tokenizer.ggml.pre" {
				kv[j].Value = pre
			}
		}
		file := filepath.Join(dir, pre+".gguf")
		if err := gguf.WriteFile(file, append(llamaArchKVs(), kv...), nil); err != nil {
			f.Fatal(err)
		}
		tok, err := LoadGGUF(file)
		if err != nil {
			f.Fatal(err)
		}
		toks = append(toks, tok)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := validUTF8(s)
		for _, tok := range toks {
			ids, err := tok.Encode(s, false)
			if err != nil {
				t.Fatalf("%s: %q: %v", tok.model.(*llamaBPE).pre.name, s, err)
			}
			back, err := tok.Decode(ids, false)
			if err != nil {
				t.Fatalf("%s: %q: %v", tok.model.(*llamaBPE).pre.name, s, err)
			}
			if back != want && utf8.ValidString(s) {
				t.Fatalf("%s: %q decodes back to %q", tok.model.(*llamaBPE).pre.name, s, back)
			}
		}
	})
}
