package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/io/gguf"
)

// TestImportVocabOnlyGGUF: `hift import` of a vocab-only GGUF made by llama.cpp's converter (testdata/gguf-vocab:
// byte-level BPE, SentencePiece, WordPiece) writes just tokenizer.json and tokenizer_config.json, and the
// imported tokenizer gives llama.cpp's expected ids (the .out of llama.cpp's test-tokenizer-0) for every
// test text, as the GGUF itself does. A vocab-only file whose tokenizer cannot be imported is an error.
func TestImportVocabOnlyGGUF(t *testing.T) {
	for _, name := range []string{"gpt-2", "deepseek-llm", "llama-spm", "bert-bge"} {
		t.Run(name, func(t *testing.T) {
			base := repoPath("testdata", "gguf-vocab", "ggml-vocab-"+name+".gguf")
			file := filepath.Join(t.TempDir(), name+".gguf")
			gunzip(t, base+".gz", file)
			out := filepath.Join(t.TempDir(), "tok")
			if code, _, stderr := runCLI(t, "import", "--in", file, "--out", out); code != 0 {
				t.Fatalf("import: exit %d: %s", code, stderr)
			}
			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if !slices.Equal(names, []string{"tokenizer.json", "tokenizer_config.json"}) {
				t.Errorf("import of a vocab-only GGUF wrote %v, want only the tokenizer files", names)
			}
			imported, err := tokenizer.Load(filepath.Join(out, "tokenizer.json"))
			if err != nil {
				t.Fatal(err)
			}
			fromGGUF, err := tokenizer.LoadGGUF(file)
			if err != nil {
				t.Fatal(err)
			}
			texts, want := vocabGoldens(t, base)
			same := 0
			for i, text := range texts {
				a, err1 := imported.Encode(text, false)
				b, err2 := fromGGUF.Encode(text, false)
				if err1 != nil || err2 != nil {
					t.Fatalf("%q: %v %v", text, err1, err2)
				}
				if !slices.Equal(a, want[i]) || !slices.Equal(b, want[i]) {
					t.Errorf("%q: llama.cpp's expected %v, imported tokenizer.json %v, GGUF %v", text, want[i], a, b)
					continue
				}
				same++
			}
			t.Logf("%s: %d of %d llama.cpp test texts give llama.cpp's ids through the imported tokenizer.json", name, same, len(texts))
		})
	}
}

// vocabGoldens reads llama.cpp's test-tokenizer-0 texts (.inp, each followed by a __ggml_vocab_test__ line) and
// expected ids (.out, a line per text).
func vocabGoldens(t *testing.T, base string) ([]string, [][]int) {
	t.Helper()
	inp, err := os.ReadFile(base + ".inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(base + ".out")
	if err != nil {
		t.Fatal(err)
	}
	texts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	texts = texts[:len(texts)-1]
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%s: %d texts but %d id lines", base, len(texts), len(lines))
	}
	ids := make([][]int, len(lines))
	for i, l := range lines {
		ids[i] = []int{}
		for _, f := range strings.Fields(l) {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s.out line %d: %v", base, i+1, err)
			}
			ids[i] = append(ids[i], n)
		}
	}
	return texts, ids
}

// TestImportVocabOnlyGGUFUnsupported: a vocab-only GGUF whose tokenizer model hift cannot read is an error that
// names the file and the model, and leaves no output folder.
func TestImportVocabOnlyGGUFUnsupported(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rwkv-vocab.gguf")
	if err := gguf.WriteFile(file, []gguf.KV{{Key: "general.architecture", Value: "rwkv"},
		{Key: "tokenizer.ggml.model", Value: "rwkv"}, {Key: "tokenizer.ggml.tokens", Value: []string{"a", "b"}}}, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "tok")
	code, _, stderr := runCLI(t, "import", "--in", file, "--out", out)
	if code != 1 || !strings.Contains(stderr, file) || !strings.Contains(stderr, `"rwkv"`) || strings.Contains(stderr, "goroutine") {
		t.Errorf("import of an unreadable vocab-only GGUF: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed import left %s behind (%v)", out, err)
	}
}
