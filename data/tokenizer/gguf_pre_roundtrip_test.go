package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hift-go/hift/io/gguf"
)

// TestGGUFPreRoundTrip: the pre_tokenizer hift's GGUF import writes for every llama.cpp pre type is recognised
// again by the export (ggufPre), as a name of a llama.cpp type with the same regexes and ignore_merges. Before, only HF's own three regexes were: a LLaMA-3 or Qwen2 GGUF imported by hift could not
// be exported again ("Split regex ... is none of the llama.cpp pre-tokenizer types hift knows").
func TestGGUFPreRoundTrip(t *testing.T) {
	var names []string
	for name := range llamaPreTypes {
		if name != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	types := map[string]bool{}
	for _, name := range names {
		pt := llamaPreTypes[name]
		hf, err := hfPreTokenizer(pt)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		raw, err := json.Marshal(hf)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ggufPre(raw, pt.ignoreMerges)
		if err != nil {
			t.Errorf("%s (%s): the imported pre_tokenizer is not exported again: %v", name, pt.name, err)
			continue
		}
		back := llamaPreTypes[got]
		if !slices.Equal(back.regexes, pt.regexes) || back.ignoreMerges != pt.ignoreMerges {
			t.Errorf("%s (%s): exported again as %q (%s), which splits or merges differently", name, pt.name, got, back.name)
		}
		if back.name != pt.name {
			// Only the default BOS id tells them apart (chatglm's cleared BOS); the export writes the BOS id
			// and add_bos_token the tokenizer has explicitly.
			t.Logf("%s (%s) exported again as %q (%s): same regexes and merges", name, pt.name, got, back.name)
		}
		types[pt.name] = true
	}
	t.Logf("%d pre names of %d llama.cpp types recognised again after import", len(names), len(types))
}

// TestGGUFVocabExportAgain: each byte-level BPE vocabulary llama.cpp ships (testdata/gguf-vocab), imported as
// hift import writes it (tokenizer.json, tokenizer_config.json) and exported again (GGUFMetadata), keeps its pre type (same llama.cpp
// type as the original tokenizer.ggml.pre), its tokens and token types, and tokenizes the corpus texts into
// the same ids as the original file (LoadGGUF, which matches llama.cpp: TestLlamaCppBPEVocabs).
func TestGGUFVocabExportAgain(t *testing.T) {
	gzs, err := filepath.Glob(filepath.Join(vocabDir(), "ggml-vocab-*.gguf.gz"))
	if err != nil {
		t.Fatal(err)
	}
	texts := corpusTexts(t)
	checked := 0
	for _, gz := range gzs {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(gz), "ggml-vocab-"), ".gguf.gz")
		dir := t.TempDir()
		file := gunzipTo(t, gz, dir, name+".gguf")
		g, err := gguf.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		kv := g.KV
		g.Close()
		if model, _ := kv["tokenizer.ggml.model"].(string); model != "gpt2" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			tj, err := TokenizerJSONFromGGUF(kv, file)
			if err != nil {
				t.Fatal(err)
			}
			tjPath := filepath.Join(dir, "tokenizer.json")
			if err := os.WriteFile(tjPath, tj, 0o644); err != nil {
				t.Fatal(err)
			}
			tc, err := json.Marshal(TokenizerConfigFromGGUF(kv))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), tc, 0o644); err != nil {
				t.Fatal(err)
			}
			imported, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			kvs, err := imported.GGUFMetadata()
			if err != nil {
				t.Fatalf("exporting the imported tokenizer again: %v", err)
			}
			again := map[string]any{}
			for _, x := range kvs {
				again[x.Key] = x.Value
			}
			pre0, _ := kv["tokenizer.ggml.pre"].(string)
			pre1, _ := again["tokenizer.ggml.pre"].(string)
			if llamaPreTypes[pre0].name != llamaPreTypes[pre1].name {
				t.Errorf("pre %q exported again as %q (%s, was %s)", pre0, pre1, llamaPreTypes[pre1].name, llamaPreTypes[pre0].name)
			}
			out := filepath.Join(dir, "again.gguf")
			if err := gguf.WriteFile(out, kvs, nil); err != nil {
				t.Fatal(err)
			}
			orig, err := LoadGGUF(file)
			if err != nil {
				t.Fatal(err)
			}
			back, err := LoadGGUF(out)
			if err != nil {
				t.Fatal(err)
			}
			same := 0
			for _, s := range texts {
				a, err1 := orig.Encode(s, true)
				b, err2 := back.Encode(s, true)
				if err1 != nil || err2 != nil {
					t.Fatalf("%q: %v / %v", s, err1, err2)
				}
				if slices.Equal(a, b) {
					same++
				} else if len(texts)-same < 3 || same == 0 {
					t.Logf("%.60q: %v vs %v", s, a[:min(len(a), 12)], b[:min(len(b), 12)])
				}
			}
			t.Logf("pre %q -> %q; %d of %d corpus texts give the same ids", pre0, pre1, same, len(texts))
			if same != len(texts) {
				t.Errorf("%d of %d texts tokenize differently after import and export", len(texts)-same, len(texts))
			}
		})
		checked++
	}
	if checked < 8 {
		t.Errorf("%d byte-level BPE vocabularies checked, want llama.cpp's 8", checked)
	}
}

// TestGGUFMetadataRepeatedToken: a tokenizer.json whose added token repeats a vocabulary entry (the synthetic
// RoBERTa tokenizer's "hift", id 29323 in the vocabulary and 50262 as an added token) is refused by the GGUF
// export, naming both ids: llama.cpp aborts the process on loading such a vocabulary (GGML_ASSERT
// id_to_token.size() == token_to_id.size()); the GPT-2 tokenizer, without repeats, still exports.
func TestGGUFMetadataRepeatedToken(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		want string
	}{{"roberta", `tokens 29323 and 50262 are both "hift"`}, {"gpt2", ""}} {
		path := gunzipTo(t, filepath.Join("..", "..", "testdata", "tokenizers", c.name, "tokenizer.json.gz"), dir, c.name+".json")
		tok, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tok.GGUFMetadata()
		t.Logf("%s: %v", c.name, err)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "llama.cpp")):
			t.Errorf("%s: %v; want an error saying %s and why llama.cpp cannot take it", c.name, err, c.want)
		}
	}
}
