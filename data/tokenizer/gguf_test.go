package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/validators"
	"github.com/hift-go/hift/io/gguf"
	"golang.org/x/text/unicode/norm"
)

// vocabOnlyGGUF writes a vocab-only GGUF (llama architecture keys of a tiny model, no tensors) carrying t's
// tokenizer metadata, as llama.cpp's own ggml-vocab-*.gguf files are.
func vocabOnlyGGUF(t *testing.T, tok *Tokenizer) string {
	t.Helper()
	kvs, err := tok.GGUFMetadata()
	if err != nil {
		t.Fatal(err)
	}
	if tok.Family() == FamilyWordPiece {
		return writeVocabGGUF(t, append([]gguf.KV{{Key: "general.architecture", Value: "bert"}, {Key: "general.name", Value: "vocab"},
			{Key: "bert.context_length", Value: uint32(512)}, {Key: "bert.embedding_length", Value: uint32(256)},
			{Key: "bert.block_count", Value: uint32(1)}, {Key: "bert.feed_forward_length", Value: uint32(512)},
			{Key: "bert.attention.head_count", Value: uint32(4)}, {Key: "bert.attention.layer_norm_epsilon", Value: float32(1e-12)},
			{Key: "bert.attention.causal", Value: false}, {Key: "tokenizer.ggml.token_type_count", Value: uint32(2)}}, kvs...))
	}
	arch := []gguf.KV{{Key: "general.architecture", Value: "llama"}, {Key: "general.name", Value: "vocab"},
		{Key: "llama.context_length", Value: uint32(256)}, {Key: "llama.embedding_length", Value: uint32(256)},
		{Key: "llama.block_count", Value: uint32(1)}, {Key: "llama.feed_forward_length", Value: uint32(512)},
		{Key: "llama.attention.head_count", Value: uint32(4)}, {Key: "llama.rope.dimension_count", Value: uint32(64)},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: float32(1e-6)}}
	return writeVocabGGUF(t, append(arch, kvs...))
}

func writeVocabGGUF(t *testing.T, kvs []gguf.KV) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "vocab.gguf")
	if err := gguf.WriteFile(out, kvs, nil); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGGUFTokenizerMatchesLlamaCpp: for each byte-level BPE family (GPT-2, LLaMA-3, Qwen3 and the demo
// tokenizer), llama.cpp tokenizes testdata's corpus from hift's GGUF metadata exactly as hift does; the
// pre-tokenizer type is the family's (gpt-2, llama-bpe, qwen2). Qwen's tokenizer.json NFC-normalizes its
// input and GGUF has no key for that (llama.cpp's own Qwen GGUFs do not normalize either), so llama.cpp is
// given the NFC form of each text there; how many raw texts differ is logged. The LLaMA-2 SentencePiece
// tokenizer.model is compared with special-token parsing off, as SentencePiece itself reads "<s>" as text.
func TestGGUFTokenizerMatchesLlamaCpp(t *testing.T) {
	var corpus []string
	readJSON(t, filepath.Join(fixtures(t), "corpus.json"), &corpus)
	for _, c := range []struct {
		name, path, pre string
		nfc             bool
	}{
		{"gpt2", filepath.Join(fixtures(t), "gpt2", "tokenizer.json.gz"), "gpt-2", false},
		{"llama3", filepath.Join(fixtures(t), "llama3", "tokenizer.json.gz"), "llama-bpe", false},
		{"qwen3", filepath.Join(fixtures(t), "qwen3", "tokenizer.json.gz"), "qwen2", true},
		{"demo", filepath.Join("..", "..", "examples", "tiny-llama", "tokenizer.json"), "gpt-2", false},
		{"llama2-sentencepiece", filepath.Join(fixtures(t), "llama2", "tokenizer.model.gz"), "default", false},
		{"mistral-bpe-byte-fallback", filepath.Join(fixtures(t), "mistral", "tokenizer.json.gz"), "default", false},
		{"bert-wordpiece", filepath.Join(fixtures(t), "bert", "tokenizer.json.gz"), "default", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Load(c.path)
			if err != nil {
				t.Fatal(err)
			}
			file := vocabOnlyGGUF(t, tok)
			g, err := gguf.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			pre, _ := g.KV["tokenizer.ggml.pre"].(string)
			g.Close()
			if pre != c.pre {
				t.Errorf("tokenizer.ggml.pre %q, want %q", pre, c.pre)
			}
			var texts []string
			for _, s := range corpus {
				if s != "" {
					if c.nfc {
						s = norm.NFC.String(s)
					}
					texts = append(texts, s)
				}
			}
			js, _ := json.Marshal(texts)
			tp := filepath.Join(t.TempDir(), "texts.json")
			if err := os.WriteFile(tp, js, 0o644); err != nil {
				t.Fatal(err)
			}
			var ref struct {
				Tokens [][]int `json:"tokens"`
			}
			mode := "special"
			if tok.Family() == FamilySentencePiece {
				mode = "plain" // SentencePiece reads "<s>" in text as text
			}
			validators.Run(t, &ref, []string{"node-llama-cpp"}, "llama_tokenize.mjs", file, tp, mode)
			bad, eog, wpm := 0, 0, 0
			for i, s := range texts {
				ids, err := tok.Encode(s, false)
				if err != nil {
					t.Fatal(err)
				}
				if slices.Equal(ids, ref.Tokens[i]) {
					continue
				}
				// llama.cpp turns ordinary vocabulary entries spelled like end-of-generation markers ("</s>",
				// "<|im_end|>", ...) into control tokens by their text (llama-vocab.cpp, "control-looking
				// token"), so with special-token parsing it matches them where HF does not.
				if slices.ContainsFunc(ref.Tokens[i], func(id int) bool { return !slices.Contains(ids, id) && llamaCppEOGText[tokenText(tok, id)] }) {
					eog++
					continue
				}
				// llama.cpp's WordPiece is not HF's: it keeps Hangul syllables whole (HF's NFD splits them into
				// jamo), keeps Indic vowel signs HF strips as accents, reads some emoji sequences differently and
				// has no max_input_chars_per_word (HF: a word over 100 characters is [UNK]), and splits words at
				// control characters (U+0085, \v, \f) that HF's clean_text deletes. Counted, logged.
				if tok.Family() == FamilyWordPiece && (!isLatinText(s) || hasLongWord(s, 100) || strings.ContainsAny(s, "\u0085\v\f")) {
					wpm++
					t.Logf("WordPiece, non-Latin text %q: llama.cpp %v, hift %v", s, ref.Tokens[i], ids)
					continue
				}
				if bad < 3 {
					t.Errorf("%q: llama.cpp %v, hift %v", s, ref.Tokens[i], ids)
				}
				bad++
			}
			t.Logf("%s (pre %s): %d of %d corpus texts tokenized identically by llama.cpp; %d differ only by llama.cpp's control-looking-token override, %d differ only where llama.cpp's WordPiece preprocessing differs from HF's (non-Latin scripts, words over 100 characters, control characters)",
				c.name, pre, len(texts)-bad-eog-wpm, len(texts), eog, wpm)
			if tok.Family() != FamilyByteLevelBPE {
				return
			}
			// The same file read back by hift (LoadGGUF) tokenizes as llama.cpp does, overrides included.
			back, err := LoadGGUF(file)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s read back from the GGUF: %d of %d corpus texts identical to llama.cpp", c.name, compareIDs(t, c.name+" from GGUF", back, texts, ref.Tokens), len(texts))
		})
	}
}

// llamaCppEOGText are the token texts llama.cpp makes control tokens whatever their GGUF type says.
var llamaCppEOGText = map[string]bool{"</s>": true, "<|eot_id|>": true, "<|im_end|>": true, "<|end|>": true,
	"<end_of_turn>": true, "<|endoftext|>": true, "<EOT>": true, "<|end_of_text|>": true, "<|eom_id|>": true}

func tokenText(tok *Tokenizer, id int) string {
	s, _ := tok.Token(id)
	return s
}

// TestGGUFTokenizerRoundTrip: the tokenizer read back out of a GGUF (LoadGGUF, which hift tokenize and
// hift import use) encodes the corpus exactly as the original tokenizer.json for every byte-level BPE family
// (with and without BOS), and the tokenizer.json it writes loads in HF tokenizers (npm) with the same ids.
func TestGGUFTokenizerRoundTrip(t *testing.T) {
	var corpus []string
	readJSON(t, filepath.Join(fixtures(t), "corpus.json"), &corpus)
	for _, c := range []struct{ name, path string }{
		{"gpt2", filepath.Join(fixtures(t), "gpt2", "tokenizer.json.gz")},
		{"llama3", filepath.Join(fixtures(t), "llama3", "tokenizer.json.gz")},
		{"qwen3", filepath.Join(fixtures(t), "qwen3", "tokenizer.json.gz")},
	} {
		t.Run(c.name, func(t *testing.T) {
			orig, err := Load(c.path)
			if err != nil {
				t.Fatal(err)
			}
			file := vocabOnlyGGUF(t, orig)
			back, err := LoadGGUF(file)
			if err != nil {
				t.Fatal(err)
			}
			bad, eog := 0, 0
			for _, s := range corpus {
				if c.name == "qwen3" {
					s = norm.NFC.String(s) // GGUF has no normalizer key (see TestGGUFTokenizerMatchesLlamaCpp)
				}
				for _, special := range []bool{false, true} {
					a, _ := orig.Encode(s, special)
					b, _ := back.Encode(s, special)
					if !slices.Equal(a, b) {
						// The GGUF read back tokenizes as llama.cpp, which makes vocabulary entries spelled like
						// end-of-generation markers control tokens (TestGGUFTokenizerMatchesLlamaCpp).
						if slices.ContainsFunc(b, func(id int) bool { return !slices.Contains(a, id) && llamaCppEOGText[tokenText(back, id)] }) {
							eog++
							continue
						}
						if bad < 3 {
							t.Errorf("%q (special %v): original %v, from GGUF %v", s, special, a, b)
						}
						bad++
					}
				}
			}
			t.Logf("%s: %d of %d encodings equal after tokenizer.json → GGUF → tokenizer.json; %d differ only by llama.cpp's control-looking-token override", c.name, 2*len(corpus)-bad-eog, 2*len(corpus), eog)
			g, err := gguf.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			tj, err := TokenizerJSONFromGGUF(g.KV, file)
			g.Close()
			if err != nil {
				t.Fatal(err)
			}
			tjPath := filepath.Join(t.TempDir(), "tokenizer.json")
			if err := os.WriteFile(tjPath, tj, 0o644); err != nil {
				t.Fatal(err)
			}
			texts := []string{"Hello world", "The year 1984 was not like '1984'.", "  spaces\\tand\\nlines 12345"}
			js, _ := json.Marshal(texts)
			cp := filepath.Join(t.TempDir(), "corpus.json")
			if err := os.WriteFile(cp, js, 0o644); err != nil {
				t.Fatal(err)
			}
			var ref struct {
				Cases []struct {
					IDs []int `json:"ids"`
				} `json:"cases"`
			}
			validators.Run(t, &ref, []string{"tokenizers"}, "tok_ids.mjs", tjPath, cp)
			for i, s := range texts {
				ours, _ := back.Encode(s, false)
				if !slices.Equal(ours, ref.Cases[i].IDs) {
					t.Errorf("%q: HF tokenizers on the imported tokenizer.json %v, hift %v", s, ref.Cases[i].IDs, ours)
				}
			}
		})
	}
}

// isLatinText reports whether every letter of s is Latin, Greek or Cyrillic (below U+0530) and s holds no
// symbols from the emoji planes.
func isLatinText(s string) bool {
	for _, r := range s {
		if r >= 0x530 {
			return false
		}
	}
	return true
}

func hasLongWord(s string, n int) bool {
	for _, w := range strings.Fields(s) {
		if len([]rune(w)) > n {
			return true
		}
	}
	return false
}
