package tokenizer

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/hift-go/hift/internal/validators"
	"github.com/hift-go/hift/io/gguf"
)

// A GGUF vocabulary of tokenizer.ggml.model "llama" or "bert" under test: exported by hift from a fixture, or
// made by llama.cpp's converter (testdata/gguf-vocab/ggml-vocab-NAME.gguf.gz with NAME.gguf.inp/.out, the
// inputs and expected ids of llama.cpp's test-tokenizer-0).
type spmWPMCase struct {
	name, file string
	golden     string // path of NAME.gguf (beside it .inp/.out), "" for hift-exported files
	gz         string // the llama.cpp file, when file is ""
}

func spmWPMVocabDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "gguf-vocab"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// spmWPMCases exports the LLaMA-2 tokenizer.model, the Mistral tokenizer.json and the BERT tokenizer.json as
// vocab-only GGUFs and decompresses llama.cpp's llama-spm, phi-3 and bert-bge vocabularies into a temporary
// folder. A llama.cpp file missing from testdata is reported as a skipped subtest by the caller.
func spmWPMCases(t *testing.T) []spmWPMCase {
	t.Helper()
	var cases []spmWPMCase
	for _, c := range []struct{ name, path string }{
		{"hift-llama2-sentencepiece", filepath.Join(fixtures(t), "llama2", "tokenizer.model.gz")},
		{"hift-mistral-bpe", filepath.Join(fixtures(t), "mistral", "tokenizer.json.gz")},
		{"hift-bert-wordpiece", filepath.Join(fixtures(t), "bert", "tokenizer.json.gz")},
	} {
		tok, err := Load(c.path)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, spmWPMCase{name: c.name, file: vocabOnlyGGUF(t, tok)})
	}
	cases = append(cases, spmWPMSpecialsCases(t)...)
	dir := spmWPMVocabDir(t)
	for _, name := range []string{"llama-spm", "phi-3", "bert-bge"} {
		gz := filepath.Join(dir, "ggml-vocab-"+name+".gguf.gz")
		c := spmWPMCase{name: "llamacpp-" + name, golden: spmWPMGoldenBase(dir, name), gz: gz}
		if _, err := os.Stat(gz); err == nil {
			c.file = spmWPMGunzip(t, gz)
		}
		cases = append(cases, c)
	}
	return cases
}

// spmWPMSpecialsCases add tokens of each type to the exported LLaMA-2 and BERT vocabularies and name them
// so that llama.cpp's per-model attribute rules apply: "Phi3" (every special token rstrip except <unk>, <s>,
// <|endoftext|>; </s> rstrip) and "modern-bert" ([MASK] lstrip). "<|end|>" is user-defined in the file and
// control-looking for llama.cpp.
func spmWPMSpecialsCases(t *testing.T) []spmWPMCase {
	t.Helper()
	var cases []spmWPMCase
	for _, c := range []struct {
		name, path, general string
		extra               []string
		types               []int32
		arch                []gguf.KV
	}{
		{"hift-llama2-phi3-specials", filepath.Join(fixtures(t), "llama2", "tokenizer.model.gz"), "Phi3 vocab",
			[]string{"<|user|>", "<|end|>", "<|placeholder1|>", "<|assistant|>", "<|endoftext|>"}, []int32{3, 4, 4, 3, 3},
			[]gguf.KV{{Key: "general.architecture", Value: "llama"}, {Key: "llama.context_length", Value: uint32(256)},
				{Key: "llama.embedding_length", Value: uint32(256)}, {Key: "llama.block_count", Value: uint32(1)},
				{Key: "llama.feed_forward_length", Value: uint32(512)}, {Key: "llama.attention.head_count", Value: uint32(4)},
				{Key: "llama.rope.dimension_count", Value: uint32(64)}, {Key: "llama.attention.layer_norm_rms_epsilon", Value: float32(1e-6)}}},
		{"hift-bert-modernbert-specials", filepath.Join(fixtures(t), "bert", "tokenizer.json.gz"), "modern-bert vocab",
			[]string{"<special_user>", "▁newword"}, []int32{4, 1},
			[]gguf.KV{{Key: "general.architecture", Value: "bert"}, {Key: "bert.context_length", Value: uint32(512)},
				{Key: "bert.embedding_length", Value: uint32(256)}, {Key: "bert.block_count", Value: uint32(1)},
				{Key: "bert.feed_forward_length", Value: uint32(512)}, {Key: "bert.attention.head_count", Value: uint32(4)},
				{Key: "bert.attention.layer_norm_epsilon", Value: float32(1e-12)}, {Key: "bert.attention.causal", Value: false},
				{Key: "tokenizer.ggml.token_type_count", Value: uint32(2)}}},
	} {
		tok, err := Load(c.path)
		if err != nil {
			t.Fatal(err)
		}
		kvs, err := tok.GGUFMetadata()
		if err != nil {
			t.Fatal(err)
		}
		for i, kv := range kvs {
			switch x := kv.Value.(type) {
			case []string:
				kvs[i].Value = append(slices.Clone(x), c.extra...)
			case []int32:
				kvs[i].Value = append(slices.Clone(x), c.types...)
			case []float32:
				kvs[i].Value = append(slices.Clone(x), make([]float32, len(c.extra))...)
			}
		}
		kvs = append(append(slices.Clone(c.arch), gguf.KV{Key: "general.name", Value: c.general}), kvs...)
		cases = append(cases, spmWPMCase{name: c.name, file: writeVocabGGUF(t, kvs)})
	}
	return cases
}

// spmWPMGoldenBase is the path of NAME's test-tokenizer-0 files without .inp/.out: ggml-vocab-NAME.gguf as
// llama.cpp names them, or NAME.gguf.
func spmWPMGoldenBase(dir, name string) string {
	for _, base := range []string{"ggml-vocab-" + name + ".gguf", name + ".gguf"} {
		if _, err := os.Stat(filepath.Join(dir, base+".inp")); err == nil {
			return filepath.Join(dir, base)
		}
	}
	return filepath.Join(dir, "ggml-vocab-"+name+".gguf")
}

func spmWPMGunzip(t *testing.T, gz string) string {
	t.Helper()
	f, err := os.Open(gz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", gz, err)
	}
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(gz), ".gz"))
	w, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, zr); err != nil {
		t.Fatalf("%s: %v", gz, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// spmWPMReadVocabTests reads llama.cpp's test-tokenizer-0 files BASE.inp and BASE.out (see readVocabTests).
func spmWPMReadVocabTests(t *testing.T, base string) ([]string, [][]int) {
	t.Helper()
	return readVocabTests(t, base+".inp", base+".out")
}

// spmWPMEncode is llama_tokenize(text, add_special=false, parse_special) with the vocabulary of tok.
func spmWPMEncode(t *testing.T, tok *Tokenizer, text string, parseSpecial bool) []int {
	t.Helper()
	var v *spmWPMVocab
	switch m := tok.model.(type) {
	case *spmWPMVocab:
		v = m
	case *llamaWPMModel:
		v = m.spmWPMVocab
	default:
		t.Fatalf("LoadGGUF gave model %T, not llama.cpp's", tok.model)
	}
	ids, err := v.encode(validUTF8(text), parseSpecial, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestGGUFSPMWPMGoldens: llama.cpp's own expected ids (test-tokenizer-0 .inp/.out, add_special and
// parse_special off) for its llama-spm, phi-3 and bert-bge vocabularies, reproduced exactly.
func TestGGUFSPMWPMGoldens(t *testing.T) {
	for _, c := range spmWPMCases(t) {
		if c.golden == "" {
			continue
		}
		t.Run(c.name, func(t *testing.T) { checkSPMWPMGoldens(t, c) })
	}
}

// TestGGUFSPMWPMMatchesLlamaCpp: LoadGGUF tokenizes the 404-text corpus (and the .inp texts of the three
// llama.cpp vocabularies) exactly as llama.cpp (node-llama-cpp) does with the same file, with special-token
// parsing on (Encode) and off.
func TestGGUFSPMWPMMatchesLlamaCpp(t *testing.T) {
	texts := spmWPMTexts(t)
	for _, c := range spmWPMCases(t) {
		t.Run(c.name, func(t *testing.T) { checkSPMWPMMatchesLlamaCpp(t, c, texts) })
	}
}

func spmWPMVocabOf(t *testing.T, tok *Tokenizer) *spmWPMVocab {
	t.Helper()
	switch m := tok.model.(type) {
	case *spmWPMVocab:
		return m
	case *llamaWPMModel:
		return m.spmWPMVocab
	}
	t.Fatalf("model %T", tok.model)
	return nil
}

// spmWPMTexts is the corpus (without the empty text) plus the .inp texts of llama.cpp's vocabularies found in
// testdata/gguf-vocab.
func spmWPMTexts(t *testing.T) []string {
	t.Helper()
	var corpus []string
	readJSON(t, filepath.Join(fixtures(t), "corpus.json"), &corpus)
	var texts []string
	for _, s := range corpus {
		if s != "" {
			texts = append(texts, s)
		}
	}
	texts = append(texts, "<|user|>\nHello<|end|>\n<|assistant|>  Hi there<|end|>", "a<|placeholder1|> b <|placeholder1|>\t",
		"  [MASK] is [MASK]  here <special_user> x [MASK]", "<s> x</s>  y <unk> z</s>", "[CLS] hello [SEP]  [PAD]",
		" <|end|> \t<|user|>\t\n", "<|endoftext|> <|endoftext|>x", "newword newwords <special_user><special_user>",
		"İstanbul", "a\u0378b unassigned", "raw jamo \u1100\u1161\u11a8 x")
	for _, name := range []string{"llama-spm", "phi-3", "bert-bge"} {
		base := spmWPMGoldenBase(spmWPMVocabDir(t), name)
		if _, err := os.Stat(base + ".inp"); err == nil {
			inp, _ := spmWPMReadVocabTests(t, base)
			for _, s := range inp {
				if s != "" {
					texts = append(texts, s)
				}
			}
		}
	}
	return texts
}

func spmWPMLlamaCpp(t *testing.T, file string, texts []string, mode string) [][]int {
	t.Helper()
	js, _ := json.Marshal(texts)
	tp := filepath.Join(t.TempDir(), "texts.json")
	if err := os.WriteFile(tp, js, 0o644); err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Tokens [][]int `json:"tokens"`
	}
	validators.Run(t, &ref, []string{"node-llama-cpp"}, "llama_tokenize.mjs", file, tp, mode)
	if len(ref.Tokens) != len(texts) {
		t.Fatalf("llama_tokenize.mjs: %d results for %d texts", len(ref.Tokens), len(texts))
	}
	return ref.Tokens
}

// TestGGUFSPMWPMImportedTokenizerJSON: the tokenizer.json hift import writes for a "llama"/"bert" GGUF loads
// in HF tokenizers (npm) and gives llama.cpp's ids (parse_special on, as HF always matches added tokens). For
// SentencePiece every text must match. For WordPiece, a text may differ only where it holds a code point
// llama.cpp's WPM preprocessing treats unlike BertNormalizer (wpmQuirk); those are counted and logged.
func TestGGUFSPMWPMImportedTokenizerJSON(t *testing.T) {
	texts := spmWPMTexts(t)
	for _, c := range spmWPMCases(t) {
		t.Run(c.name, func(t *testing.T) { checkSPMWPMImportedTokenizerJSON(t, c, texts) })
	}
}

// wpmQuirk names the first code point of s that llama.cpp's WPM preprocessing treats unlike the imported
// tokenizer.json's normalizer (wpmNormalizer: BertNormalizer plus Replace steps), "" if none: an unassigned
// code point (BertNormalizer deletes it, llama.cpp keeps it), a conjoining jamo U+1160-U+11FF in the input
// (deleted with the decomposed Hangul jamo) and a character whose lowercase is longer than one code point.
func wpmQuirk(s string, v *spmWPMVocab) string {
	for _, r := range s {
		switch {
		case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs):
			return "unassigned code point kept"
		case v.stripAccents && r >= 0x1160 && r <= 0x11FF:
			return "conjoining jamo in the input"
		case v.lowercase && len([]rune(strings.ToLower(string(r)))) > 1:
			return "multi-code-point lowercase"
		}
	}
	return ""
}

// TestGGUFSPMWPMImportRoundTrip: the tokenizer.json + tokenizer_config.json hift import writes for a
// "llama"/"bert" GGUF, loaded back by hift's HF pipeline (Load), encode the corpus as LoadGGUF (llama.cpp's
// way) does, with and without special tokens; WordPiece texts may differ only by a wpmQuirk code point.
// Needs no validator.
func TestGGUFSPMWPMImportRoundTrip(t *testing.T) {
	texts := spmWPMTexts(t)
	for _, c := range spmWPMCases(t) {
		t.Run(c.name, func(t *testing.T) { checkSPMWPMImportRoundTrip(t, c, texts) })
	}
}

func checkSPMWPMGoldens(t *testing.T, c spmWPMCase) {
	if c.file == "" {
		t.Skipf("llama.cpp's vocabulary %s is not there (testdata/gguf-vocab)", c.gz)
	}
	tok, err := LoadGGUF(c.file)
	if err != nil {
		t.Fatal(err)
	}
	texts, want := spmWPMReadVocabTests(t, c.golden)
	bad := 0
	for i, s := range texts {
		if got := spmWPMEncode(t, tok, s, false); !slices.Equal(got, want[i]) {
			if bad < 5 {
				t.Errorf("%q: llama.cpp's golden %v, hift %v", s, want[i], got)
			}
			bad++
		}
	}
	t.Logf("%s: %d of %d llama.cpp goldens identical", c.name, len(texts)-bad, len(texts))
}

func checkSPMWPMMatchesLlamaCpp(t *testing.T, c spmWPMCase, texts []string) {
	if c.file == "" {
		t.Skipf("llama.cpp's vocabulary %s is not there (testdata/gguf-vocab)", c.gz)
	}
	tok, err := LoadGGUF(c.file)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"special", "plain"} {
		ref := spmWPMLlamaCpp(t, c.file, texts, mode)
		bad := 0
		for i, s := range texts {
			var got []int
			if mode == "special" {
				if got, err = tok.Encode(s, false); err != nil {
					t.Fatal(err)
				}
			} else {
				got = spmWPMEncode(t, tok, s, false)
			}
			if !slices.Equal(got, ref[i]) {
				if bad < 5 {
					t.Errorf("%s %q: llama.cpp %v, hift %v", mode, s, ref[i], got)
				}
				bad++
			}
		}
		t.Logf("%s (parse_special %v): %d of %d texts identical to llama.cpp", c.name, mode == "special", len(texts)-bad, len(texts))
	}
	// With add_special: BOS/EOS (SentencePiece) or [CLS] … [SEP] (WordPiece) as llama.cpp adds them.
	v := spmWPMVocabOf(t, tok)
	got, err := tok.Encode("Hello world", true)
	if err != nil {
		t.Fatal(err)
	}
	want := spmWPMEncode(t, tok, "Hello world", true)
	switch {
	case v.wpm:
		want = append(append([]int{v.bos}, want...), v.sep)
	default:
		if v.addBOS {
			want = append([]int{v.bos}, want...)
		}
		if v.addEOS {
			want = append(want, v.eos)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("Encode(add special): %v, want %v", got, want)
	}
}

func checkSPMWPMImportedTokenizerJSON(t *testing.T, c spmWPMCase, texts []string) {
	if c.file == "" {
		t.Skipf("llama.cpp's vocabulary %s is not there (testdata/gguf-vocab)", c.gz)
	}
	g, err := gguf.Open(c.file)
	if err != nil {
		t.Fatal(err)
	}
	tj, err := TokenizerJSONFromGGUF(g.KV, c.file)
	g.Close()
	if err != nil {
		t.Fatal(err)
	}
	tjPath := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(tjPath, tj, 0o644); err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "corpus.json")
	js, _ := json.Marshal(texts)
	if err := os.WriteFile(cp, js, 0o644); err != nil {
		t.Fatal(err)
	}
	var hf struct {
		Cases []struct {
			IDs        []int `json:"ids"`
			IDsSpecial []int `json:"ids_special"`
		} `json:"cases"`
	}
	validators.Run(t, &hf, []string{"tokenizers"}, "tok_ids.mjs", tjPath, cp)
	ref := spmWPMLlamaCpp(t, c.file, texts, "special")
	tok, err := LoadGGUF(c.file)
	if err != nil {
		t.Fatal(err)
	}
	v := spmWPMVocabOf(t, tok)
	bad, quirk := 0, 0
	reasons := map[string]int{}
	for i, s := range texts {
		if slices.Equal(hf.Cases[i].IDs, ref[i]) {
			continue
		}
		if v.wpm {
			if r := wpmQuirk(s, v); r != "" {
				quirk++
				reasons[r]++
				t.Logf("WordPiece quirk (%s) in %q: llama.cpp %v, HF %v", r, s, ref[i], hf.Cases[i].IDs)
				continue
			}
		}
		if bad < 5 {
			t.Errorf("%q: llama.cpp %v, HF tokenizers on the imported tokenizer.json %v", s, ref[i], hf.Cases[i].IDs)
		}
		bad++
	}
	t.Logf("%s: HF tokenizers on the imported tokenizer.json gives llama.cpp's ids for %d of %d texts; %d differ only by llama.cpp's WPM preprocessing %v",
		c.name, len(texts)-bad-quirk, len(texts), quirk, reasons)
	// [CLS]/[SEP] or BOS/EOS from the post-processor, as hift's Encode(text, true) adds them.
	for i, s := range texts[:20] {
		got, err := tok.Encode(s, true)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, hf.Cases[i].IDsSpecial) && slices.Equal(hf.Cases[i].IDs, ref[i]) {
			t.Errorf("%q with special tokens: HF %v, hift %v", s, hf.Cases[i].IDsSpecial, got)
		}
	}
}

func checkSPMWPMImportRoundTrip(t *testing.T, c spmWPMCase, texts []string) {
	if c.file == "" {
		t.Skipf("llama.cpp's vocabulary %s is not there (testdata/gguf-vocab)", c.gz)
	}
	g, err := gguf.Open(c.file)
	if err != nil {
		t.Fatal(err)
	}
	tj, err := TokenizerJSONFromGGUF(g.KV, c.file)
	if err != nil {
		t.Fatal(err)
	}
	tc := TokenizerConfigFromGGUF(g.KV)
	g.Close()
	dir := t.TempDir()
	tcJSON, _ := json.Marshal(tc)
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), tcJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	imported, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	native, err := LoadGGUF(c.file)
	if err != nil {
		t.Fatal(err)
	}
	v := spmWPMVocabOf(t, native)
	bad, quirk := 0, 0
	for _, s := range texts {
		for _, special := range []bool{false, true} {
			a, _ := native.Encode(s, special)
			b, _ := imported.Encode(s, special)
			if slices.Equal(a, b) {
				continue
			}
			if v.wpm && wpmQuirk(s, v) != "" {
				quirk++
				continue
			}
			if bad < 5 {
				t.Errorf("%q (special %v): llama.cpp's way %v, imported tokenizer.json %v", s, special, a, b)
			}
			bad++
		}
	}
	t.Logf("%s: %d of %d encodings equal after GGUF → tokenizer.json + tokenizer_config.json → hift; %d differ by llama.cpp's WPM preprocessing",
		c.name, 2*len(texts)-bad-quirk, 2*len(texts), quirk)
	if want := map[bool]string{false: "LlamaTokenizerFast", true: "BertTokenizerFast"}[v.wpm]; tc["tokenizer_class"] != want {
		t.Errorf("tokenizer_class %v, want %s", tc["tokenizer_class"], want)
	}
	// Decoding the llama.cpp ids gives the text back (SentencePiece: exactly, up to the byte-fallback of
	// invalid UTF-8; WordPiece: lowercased, spaces normalized), through either tokenizer.
	s := "Hello world, this is a test."
	ids, _ := native.Encode(s, true)
	d1, err := native.Decode(ids, true)
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := imported.Decode(ids, true)
	want := s
	if v.wpm {
		want = "hello world, this is a test."
	}
	if d1 != want || d2 != want {
		t.Errorf("decode %v: LoadGGUF %q, imported %q, want %q", ids, d1, d2, want)
	}
}

// TestGGUFSPMWPMBadInput: malformed "llama"/"bert" vocabularies are refused with an error naming the file and
// the problem; a SentencePiece vocabulary without byte pieces fails to encode an unknown character (as
// llama.cpp does) with an error instead of a panic.
func TestGGUFSPMWPMBadInput(t *testing.T) {
	toks := func(s ...string) []any {
		out := make([]any, len(s))
		for i, x := range s {
			out[i] = x
		}
		return out
	}
	small := toks("<unk>", "<s>", "</s>", "▁", "a", "▁a")
	for _, c := range []struct {
		name string
		kv   map[string]any
		wpm  bool
		want string
	}{
		{"no tokens", map[string]any{"tokenizer.ggml.model": "llama"}, false, "no tokenizer.ggml.tokens"},
		{"short scores", map[string]any{"tokenizer.ggml.tokens": small, "tokenizer.ggml.scores": []any{float32(0)}}, false, "1 tokenizer.ggml.scores for 6 tokens"},
		{"token type not int32", map[string]any{"tokenizer.ggml.tokens": small, "tokenizer.ggml.token_type": []any{uint8(1), uint8(1), uint8(1), uint8(1), uint8(1), uint8(1)}}, false, "token_type[0] is uint8"},
		{"token not a string", map[string]any{"tokenizer.ggml.tokens": []any{"a", int32(3)}}, false, "tokens[1] is int32"},
		{"add_bos without bos", map[string]any{"tokenizer.ggml.tokens": toks("a")}, false, "add_bos_token is true but there is no BOS token"},
		{"duplicate token", map[string]any{"tokenizer.ggml.tokens": toks("<unk>", "<s>", "a", "a")}, false, `token "a" appears twice`},
		{"bert without unk", map[string]any{"tokenizer.ggml.tokens": toks("[PAD]", "▁a")}, true, "unknown token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			load, build := loadGGUFSPM, tokenizerJSONFromGGUFSPM
			if c.wpm {
				load, build = loadGGUFWPM, tokenizerJSONFromGGUFWPM
			}
			_, err := load(c.kv, "bad.gguf")
			if err == nil || !strings.Contains(err.Error(), "bad.gguf") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("LoadGGUF: error %v, want one naming bad.gguf and %q", err, c.want)
			}
			if _, err := build(c.kv, "bad.gguf"); err == nil || !strings.Contains(err.Error(), "bad.gguf") {
				t.Errorf("TokenizerJSONFromGGUF: error %v, want one naming bad.gguf", err)
			}
		})
	}
	tok, err := loadGGUFSPM(map[string]any{"tokenizer.ggml.tokens": small, "tokenizer.ggml.model": "llama"}, "nobytes.gguf")
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := tok.Encode("a a", false); err != nil || !slices.Equal(ids, []int{5, 5}) {
		t.Errorf("Encode(\"a a\") = %v, %v; want [5 5]", ids, err)
	}
	if _, err := tok.Encode("ab", false); err == nil || !strings.Contains(err.Error(), "<0x62>") {
		t.Errorf("Encode of a character with no piece and no byte piece: error %v, want one naming <0x62>", err)
	}
	// Arbitrary input (invalid UTF-8, NULs, lone continuation bytes) never panics.
	for _, c := range spmWPMCases(t)[:3] {
		tok, err := LoadGGUF(c.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"\xff\xfe", "a\x00b", "\x80\x80", "é\xe9", strings.Repeat("ab ", 2000), "\u0085\u200d\U0010FFFF"} {
			if _, err := tok.Encode(s, true); err != nil {
				t.Errorf("%s: Encode(%q): %v", c.name, s, err)
			}
		}
	}
}

// spmWPMKV is the metadata map gguf.Open would give for kvs (arrays as []any).
func spmWPMKV(kvs []gguf.KV) map[string]any {
	kv := map[string]any{}
	for _, e := range kvs {
		switch x := e.Value.(type) {
		case []string:
			a := make([]any, len(x))
			for i, s := range x {
				a[i] = s
			}
			kv[e.Key] = a
		case []float32:
			a := make([]any, len(x))
			for i, s := range x {
				a[i] = s
			}
			kv[e.Key] = a
		case []int32:
			a := make([]any, len(x))
			for i, s := range x {
				a[i] = s
			}
			kv[e.Key] = a
		default:
			kv[e.Key] = e.Value
		}
	}
	return kv
}

// FuzzGGUFSPMWPMText: any text through llama.cpp's tokenization of the LLaMA-2 and BERT vocabularies in GGUF
// form. SentencePiece (special tokens not parsed) must decode back to the text exactly (byte fallback makes
// every character representable; the decoder strips the prefixed space; a "▁" in the text comes back as a
// space, as in SentencePiece); WordPiece must give ids inside the
// vocabulary. Neither may fail.
func FuzzGGUFSPMWPMText(f *testing.F) {
	for _, s := range []string{"Hello world", " lead space", "a\x00b", "\xff\xfe", "é\u0301 한국어", "<s>x</s>", "\u0085\v\f\t\n", "[CLS] ##ab", "\u2581x \u2581"} {
		f.Add(s)
	}
	var toks [2]*Tokenizer
	for i, p := range []string{filepath.Join("llama2", "tokenizer.model.gz"), filepath.Join("bert", "tokenizer.json.gz")} {
		src, err := Load(filepath.Join(fixtures(f), p))
		if err != nil {
			f.Fatal(err)
		}
		kvs, err := src.GGUFMetadata()
		if err != nil {
			f.Fatal(err)
		}
		load := loadGGUFSPM
		if i == 1 {
			load = loadGGUFWPM
		}
		if toks[i], err = load(spmWPMKV(kvs), p); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		s = validUTF8(s)
		spm := spmWPMVocabOf(t, toks[0])
		ids, err := spm.encode(s, false, nil)
		if err != nil {
			t.Fatalf("SentencePiece %q: %v", s, err)
		}
		back, err := toks[0].Decode(ids, false)
		if want := strings.ReplaceAll(s, "\u2581", " "); err != nil || back != want { // "▁" is the escaped space
			t.Fatalf("SentencePiece %q: ids %v decode to %q (%v)", s, ids, back, err)
		}
		ids, err = toks[1].Encode(s, true)
		if err != nil {
			t.Fatalf("WordPiece %q: %v", s, err)
		}
		for _, id := range ids {
			if _, ok := toks[1].Token(id); !ok {
				t.Fatalf("WordPiece %q: id %d outside the vocabulary", s, id)
			}
		}
	})
}
