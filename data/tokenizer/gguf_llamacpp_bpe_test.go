package tokenizer

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/validators"
	"github.com/hift-go/hift/io/gguf"
)

// corpusTexts is the non-empty texts of testdata's tokenizer corpus.
func corpusTexts(t *testing.T) []string {
	t.Helper()
	var corpus []string
	readJSON(t, filepath.Join(fixtures(t), "corpus.json"), &corpus)
	var texts []string
	for _, s := range corpus {
		if s != "" {
			texts = append(texts, s)
		}
	}
	return texts
}

func writeJSONFile(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// llamaCppTokenizeMany tokenizes texts with each GGUF vocabulary in node-llama-cpp (special tokens parsed, no
// BOS/EOS); a file llama.cpp refuses fails the test.
func llamaCppTokenizeMany(t *testing.T, files, texts []string) map[string][][]int {
	t.Helper()
	var ref struct {
		Tokens map[string][][]int `json:"tokens"`
		Errors map[string]string  `json:"errors"`
	}
	validators.Run(t, &ref, []string{"node-llama-cpp"}, "llama_tokenize_many.mjs", writeJSONFile(t, files), writeJSONFile(t, texts))
	for f, e := range ref.Errors {
		t.Errorf("llama.cpp cannot load %s: %s", filepath.Base(f), e)
	}
	return ref.Tokens
}

// compareIDs counts the texts tok encodes (no BOS/EOS) exactly as want says, reporting the first mismatches.
func compareIDs(t *testing.T, label string, tok *Tokenizer, texts []string, want [][]int) int {
	t.Helper()
	same := 0
	for i, s := range texts {
		ids, err := tok.Encode(s, false)
		if err != nil {
			t.Fatalf("%s: %q: %v", label, s, err)
		}
		if i < len(want) && slices.Equal(ids, want[i]) {
			same++
		} else if i-same < 3 {
			t.Errorf("%s: %q: llama.cpp %v, hift %v", label, s, want[i], ids)
		}
	}
	return same
}

// TestLlamaCppPreTypes: for every pre type llama.cpp defines for byte-level BPE that hift splits (one
// tokenizer.ggml.pre name per type; aliases share the type), the GPT-2 vocabulary relabelled with that pre type
// tokenizes the corpus, llama.cpp's own tokenizer test texts and 150 random mixtures of the pieces that tell
// splitters apart in hift (LoadGGUF) exactly as in llama.cpp (node-llama-cpp) with the same file, and so does HF
// tokenizers with the tokenizer.json hift import writes. The
// vocabulary is the same for all: what differs is llama.cpp's splitting (several regexes in sequence, its
// category-collapsed std::regex, its hand-written GPT-2/LLaMA-3/Qwen2 splitters) and ignore_merges.
func TestLlamaCppPreTypes(t *testing.T) {
	base, err := Load(filepath.Join(fixtures(t), "gpt2", "tokenizer.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	kvs, err := base.GGUFMetadata()
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string]string{}
	for name, pt := range llamaPreTypes {
		if name != "" && (byType[pt.name] == "" || name < byType[pt.name]) {
			byType[pt.name] = name
		}
	}
	var names []string
	for _, n := range byType {
		names = append(names, n)
	}
	sort.Strings(names)
	dir := t.TempDir()
	files := make([]string, len(names))
	for i, pre := range names {
		kv := slices.Clone(kvs)
		for j := range kv {
			if kv[j].Key == "tokenizer.ggml.pre" {
				kv[j].Value = pre
			}
		}
		files[i] = filepath.Join(dir, pre+".gguf")
		if err := gguf.WriteFile(files[i], append(llamaArchKVs(), kv...), nil); err != nil {
			t.Fatal(err)
		}
	}
	texts := append(append(corpusTexts(t), vocabTestTexts(t)...), mixedTexts(150)...)
	ref := llamaCppTokenizeMany(t, files, texts)
	jsons := make([]string, len(files))
	for i, pre := range names {
		tok, err := LoadGGUF(files[i])
		if err != nil {
			t.Errorf("pre %s: %v", pre, err)
			continue
		}
		same := compareIDs(t, "pre "+pre, tok, texts, ref[files[i]])
		t.Logf("pre %-24s (%s): %d of %d texts (corpus and llama.cpp's tokenizer tests) identical to llama.cpp", pre, llamaPreTypes[pre].name, same, len(texts))
		jsons[i] = importedTokenizerJSON(t, files[i])
	}
	hf := hfTokenizeMany(t, jsons, texts)
	for i, pre := range names {
		checkHFAgainstLlamaCpp(t, "pre "+pre, texts, hf[jsons[i]], ref[files[i]])
	}
}

// importedTokenizerJSON writes the tokenizer.json TokenizerJSONFromGGUF (hift import) makes of a GGUF file.
func importedTokenizerJSON(t *testing.T, file string) string {
	t.Helper()
	g, err := gguf.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	tj, err := TokenizerJSONFromGGUF(g.KV, file)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(p, tj, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// hfTokenizeMany encodes texts (no special tokens added) with each tokenizer.json in HF tokenizers (npm); a file
// HF cannot load fails the test.
func hfTokenizeMany(t *testing.T, files, texts []string) map[string][][]int {
	t.Helper()
	var ref struct {
		IDs    map[string][][]int `json:"ids"`
		Errors map[string]string  `json:"errors"`
	}
	validators.Run(t, &ref, []string{"tokenizers"}, "tok_ids_many.mjs", writeJSONFile(t, files), writeJSONFile(t, texts))
	for f, e := range ref.Errors {
		t.Errorf("HF tokenizers cannot load the tokenizer.json imported from %s: %s", f, e)
	}
	return ref.IDs
}

// checkHFAgainstLlamaCpp compares HF tokenizers on the imported tokenizer.json with llama.cpp on the GGUF.
func checkHFAgainstLlamaCpp(t *testing.T, label string, texts []string, hf, llama [][]int) {
	t.Helper()
	same := 0
	for i, s := range texts {
		if i < len(hf) && i < len(llama) && slices.Equal(hf[i], llama[i]) {
			same++
			continue
		}
		if i-same < 3 {
			t.Errorf("%s: %q: llama.cpp %v, HF tokenizers on the imported tokenizer.json %v", label, s, llama[i], hf[i])
		}
	}
	t.Logf("%s: HF tokenizers on the imported tokenizer.json: %d of %d texts identical to llama.cpp", label, same, len(texts))
}

// mixedTexts are n texts drawn (fixed seed) from pieces where splitters differ: scripts, digits of several
// kinds, ASCII and Unicode whitespace, contractions in both cases, marks, emoji sequences, code points newer than
// Go's Unicode tables (CJK Extension I), unassigned and format characters, chameleon's sentinels.
func mixedTexts(n int) []string {
	pieces := []string{"abcXYZ", "0123456789", "٣٤٥١٢", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\u3000", "\u0085",
		"'s", "'S", "'ll", "'LL", "'Re", "'ſ", "ſ", "K", "İ", "ß", "é", "e\u0301", "\u0301", "ा", "न", "한국", "日本語", "中文",
		"ひらがな", "カタカナ", "ｶﾀ", "!?", "...", "—", "“”", "，。", "、", "$+<=>^~|`", "@#%&*", "()[]{}", "/", "\\", "_", "-",
		"😀", "👨\u200d👩\u200d👧", "🇺🇸", "\u200d", "\ufeff", "\u200b", "²", "½", "Ⅻ", "①", "\u0378", "\U000e0001",
		"\U0002ebf0", "\u2ffc", "\U00010400", "Ω", "µ", "ǅ", "ʰ", "<sentinel:12>", "IMGIMGABZ", "    ", "<|endoftext|>",
		"Hello", " World", "123456789012", "xxx", "\u0e01\u0e34", "ក", "ꩠ", "가", "ㄱ", "ㄅ"}
	rng := rand.New(rand.NewPCG(7, 11))
	texts := make([]string, n)
	for i := range texts {
		var b strings.Builder
		for k := 1 + rng.IntN(12); k > 0; k-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		texts[i] = b.String()
	}
	return texts
}

func llamaArchKVs() []gguf.KV {
	return []gguf.KV{{Key: "general.architecture", Value: "llama"}, {Key: "general.name", Value: "vocab"},
		{Key: "llama.context_length", Value: uint32(256)}, {Key: "llama.embedding_length", Value: uint32(256)},
		{Key: "llama.block_count", Value: uint32(1)}, {Key: "llama.feed_forward_length", Value: uint32(512)},
		{Key: "llama.attention.head_count", Value: uint32(4)}, {Key: "llama.rope.dimension_count", Value: uint32(64)},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: float32(1e-6)}}
}

// TestGGUFPreTypeErrors: a pre type llama.cpp does not define, or one hift cannot split as llama.cpp does, is an
// error naming it and the file.
func TestGGUFPreTypeErrors(t *testing.T) {
	for _, c := range []struct{ pre, want string }{
		{"no-such-pre", `tokenizer.ggml.pre "no-such-pre" is not a pre-tokenizer type llama.cpp defines`},
		{"whitespace", `tokenizer.ggml.pre "whitespace" is not supported`},
		{"gemma4", `tokenizer.ggml.pre "gemma4" is not supported`},
	} {
		kv := map[string]any{"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": c.pre,
			"tokenizer.ggml.tokens": []any{"a", "b", "ab"}, "tokenizer.ggml.merges": []any{"a b"}}
		_, err := TokenizerJSONFromGGUF(kv, "x.gguf")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "x.gguf") {
			t.Errorf("pre %q: error %v, want one containing %q and the file name", c.pre, err, c.want)
		}
	}
}

// readVocabTests reads llama.cpp's test-tokenizer-0 files: NAME.inp holds the texts separated by lines
// "__ggml_vocab_test__", NAME.out one line of ids per text.
func readVocabTests(t *testing.T, inp, out string) ([]string, [][]int) {
	t.Helper()
	rawIn, err := os.ReadFile(inp)
	if err != nil {
		t.Fatal(err)
	}
	rawOut, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	const sep = "\n__ggml_vocab_test__\n"
	var texts []string
	for s := string(rawIn); s != ""; {
		i := strings.Index(s, sep)
		if i < 0 {
			texts = append(texts, s)
			break
		}
		texts = append(texts, s[:i])
		s = s[i+len(sep):]
	}
	lines := strings.Split(strings.TrimRight(string(rawOut), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%s has %d texts, %s %d lines", inp, len(texts), out, len(lines))
	}
	ids := make([][]int, len(lines))
	for i, l := range lines {
		ids[i] = []int{}
		for _, f := range strings.Fields(l) {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s line %d: %v", out, i+1, err)
			}
			ids[i] = append(ids[i], n)
		}
	}
	return texts, ids
}

// vocabDir is where llama.cpp's own vocab-only GGUF files (models/ggml-vocab-*.gguf, made by its converter) and
// its test-tokenizer-0 inputs and expected ids live.
func vocabDir() string { return filepath.Join("..", "..", "testdata", "gguf-vocab") }

// vocabTestTexts is every distinct text of llama.cpp's test-tokenizer-0 inputs in vocabDir.
func vocabTestTexts(t *testing.T) []string {
	t.Helper()
	inps, err := filepath.Glob(filepath.Join(vocabDir(), "*.gguf.inp"))
	if err != nil || len(inps) == 0 {
		t.Fatalf("no llama.cpp test-tokenizer-0 inputs in %s (%v)", vocabDir(), err)
	}
	seen := map[string]bool{"": true}
	var texts []string
	for _, inp := range inps {
		in, _ := readVocabTests(t, inp, strings.TrimSuffix(inp, ".inp")+".out")
		for _, s := range in {
			if !seen[s] {
				seen[s] = true
				texts = append(texts, s)
			}
		}
	}
	return texts
}

// vocabTestFiles finds NAME's .inp/.out beside the vocabularies ("ggml-vocab-NAME.gguf.inp" or "NAME.gguf.inp").
func vocabTestFiles(name string) (inp, out string, ok bool) {
	for _, base := range []string{"ggml-vocab-" + name + ".gguf", name + ".gguf"} {
		inp, out = filepath.Join(vocabDir(), base+".inp"), filepath.Join(vocabDir(), base+".out")
		if _, err := os.Stat(inp); err == nil {
			return inp, out, true
		}
	}
	return "", "", false
}

// checkVocabTests: hift tokenizes every text of llama.cpp's test-tokenizer-0 input as its expected output says
// (test-tokenizer-0 tokenizes without BOS/EOS and without parsing special tokens).
func checkVocabTests(t *testing.T, name string, tok *Tokenizer) {
	t.Helper()
	inp, out, ok := vocabTestFiles(name)
	if !ok {
		t.Logf("%s: llama.cpp ships no test-tokenizer-0 texts for it (no %s.gguf.inp in %s)", name, name, vocabDir())
		return
	}
	m, ok := tok.model.(*llamaBPE)
	if !ok {
		t.Fatalf("%s: LoadGGUF did not give llama.cpp's BPE model", name)
	}
	texts, want := readVocabTests(t, inp, out)
	same := 0
	for i, s := range texts {
		got := m.encode(s, false, []int{})
		if slices.Equal(got, want[i]) {
			same++
		} else if i-same < 3 {
			t.Errorf("%s test-tokenizer-0 %q: llama.cpp %v, hift %v", name, s, want[i], got)
		}
	}
	t.Logf("%s: %d of %d test-tokenizer-0 texts tokenized as llama.cpp's %s says", name, same, len(texts), filepath.Base(out))
}

// TestLlamaCppBPEVocabs: for each byte-level BPE vocabulary llama.cpp ships (testdata/gguf-vocab, made by
// llama.cpp's converter), hift's LoadGGUF (a) tokenizes llama.cpp's test-tokenizer-0 texts exactly as its
// expected ids, (b) tokenizes the corpus and 150 random mixtures (mixedTexts) exactly as llama.cpp
// (node-llama-cpp) does with the same file, special tokens parsed, and (c) the tokenizer.json hift import writes
// from it loads in HF tokenizers and gives llama.cpp's ids on the same texts.
func TestLlamaCppBPEVocabs(t *testing.T) {
	gzs, err := filepath.Glob(filepath.Join(vocabDir(), "ggml-vocab-*.gguf.gz"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var names, files []string
	for _, gz := range gzs {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(gz), "ggml-vocab-"), ".gguf.gz")
		file := gunzipTo(t, gz, dir, filepath.Base(strings.TrimSuffix(gz, ".gz")))
		g, err := gguf.Open(file)
		if err != nil {
			t.Fatalf("%s: %v", gz, err)
		}
		model, _ := g.KV["tokenizer.ggml.model"].(string)
		g.Close()
		if model == "gpt2" { // SentencePiece and WordPiece vocabularies: TestLlamaCppSPMWPMVocabs
			names, files = append(names, name), append(files, file)
		}
	}
	if len(files) < 8 {
		t.Fatalf("%d byte-level BPE vocabularies in %s, want llama.cpp's 8 (gpt-2, falcon, deepseek-llm, deepseek-coder, mpt, starcoder, refact, gpt-neox)", len(files), vocabDir())
	}
	texts := append(corpusTexts(t), mixedTexts(150)...)
	ref := llamaCppTokenizeMany(t, files, texts)
	jsons := make([]string, len(files))
	for i, name := range names {
		tok, err := LoadGGUF(files[i])
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		checkVocabTests(t, name, tok)
		same := compareIDs(t, name, tok, texts, ref[files[i]])
		t.Logf("%s: %d of %d texts (corpus and random mixtures) identical to llama.cpp", name, same, len(texts))
		jsons[i] = importedTokenizerJSON(t, files[i])
	}
	hf := hfTokenizeMany(t, jsons, texts)
	for i, name := range names {
		checkHFAgainstLlamaCpp(t, name, texts, hf[jsons[i]], ref[files[i]])
	}
}

// TestLlamaCppSpecialTokens: llama.cpp's handling of the tokens it cuts out of text, on GPT-2's vocabulary with
// extra tokens: ordinary entries spelled like end-of-generation or fill-in-the-middle markers become control
// tokens ("</s>", "<|im_end|>", "<fim_prefix>" without a fim key), user-defined tokens are cut out longest first
// (so "qqxxx" wins over "zzqq" in "zzqqxxx", where HF's leftmost-longest takes "zzqq"), unused ones are not, a model
// named Phi-3 right-strips spaces after its special tokens (not after <s>, <unk>, <|endoftext|>; it must have
// them, and </s>), and jina-v2 vocabularies left-strip before <mask>.
// hift (LoadGGUF) must tokenize every text as llama.cpp does, with and without special-token parsing.
func TestLlamaCppSpecialTokens(t *testing.T) {
	base, err := Load(filepath.Join(fixtures(t), "gpt2", "tokenizer.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	kvs, err := base.GGUFMetadata()
	if err != nil {
		t.Fatal(err)
	}
	extra := []struct {
		text string
		typ  int32
	}{{"</s>", 1}, {"<|im_end|>", 1}, {"<fim_prefix>", 1}, {"<fim_suffix>", 1}, {"zzqq", 4}, {"qqxxx", 4},
		{"<tool>", 3}, {"<mask>", 3}, {"[unused0]", 5}, {"<|channel|>", 3}, {"<unk>", 2}, {"<s>", 3}}
	var texts []string
	for _, s := range []string{"x </s>  y", "zzqqxxx zzqq qqxxx", "a<|im_end|>  b\n<|im_end|>", "<fim_prefix>def f():<fim_suffix>  pass",
		"  <mask>  hello <mask>", "<tool>  run <tool>x", "[unused0] <|channel|>  c", "<|endoftext|>  end", "zzqq<tool>qqxxx", "<s> <unk>  </s>  "} {
		texts = append(texts, s)
	}
	texts = append(texts, corpusTexts(t)...)
	dir := t.TempDir()
	var files []string
	for _, c := range []struct{ name, pre string }{{"vocab", "gpt-2"}, {"Phi-3 mini", "gpt-2"}, {"vocab", "jina-v2-code"}} {
		kv := slices.Clone(kvs)
		for j := range kv {
			switch kv[j].Key {
			case "tokenizer.ggml.pre":
				kv[j].Value = c.pre
			case "tokenizer.ggml.tokens":
				toks := slices.Clone(kv[j].Value.([]string))
				for _, e := range extra {
					toks = append(toks, e.text)
				}
				kv[j].Value = toks
			case "tokenizer.ggml.token_type":
				types := slices.Clone(kv[j].Value.([]int32))
				for _, e := range extra {
					types = append(types, e.typ)
				}
				kv[j].Value = types
			}
		}
		arch := llamaArchKVs()
		arch[1].Value = c.name
		f := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+"-"+c.pre+".gguf")
		if err := gguf.WriteFile(f, append(arch, kv...), nil); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for _, mode := range []string{"special", "plain"} {
		var ref struct {
			Tokens map[string][][]int `json:"tokens"`
			Errors map[string]string  `json:"errors"`
		}
		validators.Run(t, &ref, []string{"node-llama-cpp"}, "llama_tokenize_many.mjs", writeJSONFile(t, files), writeJSONFile(t, texts), mode)
		for f, e := range ref.Errors {
			t.Fatalf("llama.cpp cannot load %s: %s", filepath.Base(f), e)
		}
		for _, f := range files {
			tok, err := LoadGGUF(f)
			if err != nil {
				t.Fatal(err)
			}
			m := tok.model.(*llamaBPE)
			same := 0
			for i, s := range texts {
				got := m.encode(s, mode == "special", []int{})
				if slices.Equal(got, ref.Tokens[f][i]) {
					same++
				} else if i-same < 3 {
					t.Errorf("%s (%s): %q: llama.cpp %v, hift %v", filepath.Base(f), mode, s, ref.Tokens[f][i], got)
				}
			}
			t.Logf("%s, special tokens %s: %d of %d texts identical to llama.cpp", filepath.Base(f), map[string]string{"special": "parsed", "plain": "not parsed"}[mode], same, len(texts))
		}
	}
}

// TestGGUFExportIgnoreMerges: a tokenizer.json with LLaMA-3's regex but without ignore_merges is exported as
// smaug-bpe (llama.cpp's llama-bpe would ignore merges: 3 of these texts tokenized differently), and llama.cpp
// then tokenizes as hift does.
func TestGGUFExportIgnoreMerges(t *testing.T) {
	raw, err := readMaybeGzip(filepath.Join(fixtures(t), "llama3", "tokenizer.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"ignore_merges":true`) {
		t.Fatal("the LLaMA-3 fixture no longer sets ignore_merges")
	}
	tj := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(tj, []byte(strings.Replace(string(raw), `"ignore_merges":true`, `"ignore_merges":false`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(tj)
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
	if pre != "smaug-bpe" {
		t.Errorf("tokenizer.ggml.pre %q, want smaug-bpe", pre)
	}
	texts := append(corpusTexts(t), mixedTexts(150)...)
	ref := llamaCppTokenizeMany(t, []string{file}, texts)
	t.Logf("LLaMA-3 regex without ignore_merges, exported as %s: %d of %d texts tokenized by llama.cpp as by hift", pre, compareIDs(t, "export", tok, texts, ref[file]), len(texts))
}
