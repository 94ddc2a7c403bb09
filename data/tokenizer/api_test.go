package tokenizer

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gunzipTo decompresses a fixture into dir/name and returns the path.
func gunzipTo(t *testing.T, src, dir, name string) string {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, name)
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func mustLoad(t *testing.T, path string) *Tokenizer {
	t.Helper()
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSpecialTokensAndConfig(t *testing.T) {
	for _, tc := range []struct {
		family                string
		bos, eos, pad, unk    int
		vocab, maxLen         int
		template, paddingSide bool
		firstID               int
		firstText             string
	}{
		{"gpt2", 50256, 50256, -1, 50256, 50257, 1024, false, false, 15496, "Hello"},
		// "hift" is in GPT-2's vocabulary, so HF numbers the next added token <tool> 50262 (the JSON says 50263).
		{"roberta", 50257, 50259, 50258, 50260, 50263, 512, false, false, 15496, "Hello"},
		{"bert", -1, -1, 0, 100, 30522, 512, false, false, 7592, "hello"},
		{"llama3", 128000, 128001, -1, -1, 128256, -1, true, false, 9906, "Hello"},
		{"qwen3", -1, 151645, 151643, -1, 151669, 131072, true, false, 9707, "Hello"},
		{"mistral", 1, 2, -1, 0, 32000, -1, false, false, 22557, "▁Hello"},
		{"llama2", 1, 2, -1, 0, 32000, -1, false, false, 15043, "▁Hello"},
	} {
		tok := mustLoad(t, filepath.Join(fixtures(t), tc.family))
		got := []int{tok.BOS(), tok.EOS(), tok.PAD(), tok.UNK(), tok.VocabSize(), tok.ModelMaxLength()}
		want := []int{tc.bos, tc.eos, tc.pad, tc.unk, tc.vocab, tc.maxLen}
		if !slices.Equal(got, want) {
			t.Errorf("%s: BOS, EOS, PAD, UNK, VocabSize, ModelMaxLength = %v, want %v", tc.family, got, want)
		}
		if (tok.ChatTemplate() != "") != tc.template {
			t.Errorf("%s: ChatTemplate() = %.40q", tc.family, tok.ChatTemplate())
		}
		if tok.PaddingSide() != "right" {
			t.Errorf("%s: PaddingSide() = %q", tc.family, tok.PaddingSide())
		}
		ids, err := tok.Encode("Hello", false)
		if err != nil || len(ids) != 1 || ids[0] != tc.firstID {
			t.Errorf("%s: Encode(Hello) = %v, %v; want [%d]", tc.family, ids, err, tc.firstID)
		}
		if s, ok := tok.Token(tc.firstID); !ok || s != tc.firstText {
			t.Errorf("%s: Token(%d) = %q, %v", tc.family, tc.firstID, s, ok)
		}
		if id, ok := tok.TokenID(tc.firstText); !ok || id != tc.firstID {
			t.Errorf("%s: TokenID(%q) = %d, %v", tc.family, tc.firstText, id, ok)
		}
		if tc.bos >= 0 && !tok.IsSpecial(tc.bos) {
			t.Errorf("%s: IsSpecial(BOS) = false", tc.family)
		}
	}
}

func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	// A bare tokenizer.model: BOS/EOS/UNK from the trainer spec, BOS added by default.
	model := gunzipTo(t, filepath.Join(fixtures(t), "llama2", "tokenizer.model.gz"), dir, "tokenizer.model")
	tok := mustLoad(t, model)
	if tok.Family() != FamilySentencePiece || tok.BOS() != 1 || tok.EOS() != 2 || tok.UNK() != 0 {
		t.Errorf("tokenizer.model: family %s BOS %d EOS %d UNK %d", tok.Family(), tok.BOS(), tok.EOS(), tok.UNK())
	}
	if ids, _ := tok.Encode("Hello world", true); !slices.Equal(ids, []int{1, 15043, 3186}) {
		t.Errorf("tokenizer.model Encode = %v", ids)
	}
	// The same folder with a config: add_eos_token and left padding; tokenizer.json would win over the model.
	cfg := `{"add_bos_token": false, "add_eos_token": true, "eos_token": "</s>", "padding_side": "left"}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tok = mustLoad(t, dir)
	if ids, _ := tok.Encode("Hello world", true); !slices.Equal(ids, []int{15043, 3186, 2}) {
		t.Errorf("with add_eos_token: Encode = %v", ids)
	}
	if tok.PaddingSide() != "left" {
		t.Errorf("PaddingSide() = %q, want left", tok.PaddingSide())
	}
	// An uncompressed tokenizer.json given as a file; its folder's config is read too.
	jsonDir := t.TempDir()
	path := gunzipTo(t, filepath.Join(fixtures(t), "mistral", "tokenizer.json.gz"), jsonDir, "tokenizer.json")
	tok = mustLoad(t, path)
	if tok.Path() != path || tok.BOS() != -1 || tok.Family() != FamilyBPE {
		t.Errorf("bare tokenizer.json: path %q BOS %d family %s", tok.Path(), tok.BOS(), tok.Family())
	}
	if ids, _ := tok.Encode("Hello", true); !slices.Equal(ids, []int{1, 22557}) {
		t.Errorf("bare tokenizer.json Encode = %v", ids)
	}
	// A LlamaTokenizer config rebuilds the template from add_bos_token/add_eos_token, as transformers does.
	cfg = `{"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "add_eos_token": true}`
	if err := os.WriteFile(filepath.Join(jsonDir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tok = mustLoad(t, jsonDir)
	if ids, _ := tok.Encode("Hello", true); !slices.Equal(ids, []int{1, 22557, 2}) {
		t.Errorf("add_eos_token: Encode = %v", ids)
	}
	if ids, _ := tok.EncodePair("Hello", "Hello", true); !slices.Equal(ids, []int{1, 22557, 2, 1, 22557, 2}) {
		t.Errorf("add_eos_token: EncodePair = %v", ids)
	}
}

func TestEncodeBatchAndDecodeErrors(t *testing.T) {
	tok := mustLoad(t, filepath.Join(fixtures(t), "llama3"))
	corpus := loadCorpus(t)
	batch, err := tok.EncodeBatch(corpus, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range corpus {
		if ids, _ := tok.Encode(s, true); !slices.Equal(ids, batch[i]) {
			t.Fatalf("EncodeBatch[%d] differs from Encode for %q", i, s)
		}
	}
	if _, err := tok.Decode([]int{9906, 1 << 20}, false); err == nil || !strings.Contains(err.Error(), "1048576") {
		t.Errorf("Decode of an unknown id: err = %v", err)
	}
	if _, err := tok.Decode([]int{-100}, true); err == nil {
		t.Error("Decode(-100) succeeded")
	}
	// Invalid UTF-8 is encoded as U+FFFD, like HF receiving a lossily converted string.
	a, _ := tok.Encode("a\xffb", false)
	b, _ := tok.Encode("a\uFFFDb", false)
	if !slices.Equal(a, b) {
		t.Errorf("invalid UTF-8: %v vs %v", a, b)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bpeModel := `"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}`
	for _, tc := range []struct{ name, content, want string }{
		{"malformed.json", `{"model": {`, "malformed JSON"},
		{"unigram.json", `{"model": {"type": "Unigram", "vocab": []}}`,
			`unsupported model type "Unigram" (supported: BPE, WordPiece)`},
		{"nomodel.json", `{"normalizer": null}`, "model: missing"},
		{"precompiled.json", `{"normalizer": {"type": "Precompiled"}, ` + bpeModel + `}`,
			`unsupported normalizer "Precompiled" (supported: BertNormalizer, NFC`},
		{"scripts.json", `{"pre_tokenizer": {"type": "UnicodeScripts"}, ` + bpeModel + `}`,
			`unsupported pre_tokenizer "UnicodeScripts" (supported: ByteLevel, Split`},
		{"decoder.json", `{"decoder": {"type": "CTC"}, ` + bpeModel + `}`, `unsupported decoder "CTC"`},
		{"merge.json", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}`, "not in the vocabulary"},
		{"regex.json", `{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(("}, "behavior": "Isolated"}, ` +
			bpeModel + `}`, "regex"},
		{"behavior.json", `{"pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"}, ` +
			bpeModel + `}`, `unknown split behavior "Sideways"`},
		{"garbage.model", "\x0a\x05hello", "SentencePiece"},
	} {
		path := write(tc.name, tc.content)
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want the path and %q", tc.name, err, tc.want)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing path: no error")
	}
	empty := t.TempDir()
	if _, err := Load(empty); err == nil || !strings.Contains(err.Error(), "no tokenizer.json or tokenizer.model") {
		t.Errorf("empty folder: err = %v", err)
	}
	cfgDir := t.TempDir()
	write2 := func(name, content string) {
		if err := os.WriteFile(filepath.Join(cfgDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write2("tokenizer.json", `{`+bpeModel+`}`)
	write2("tokenizer_config.json", `{"pad_token": "<pad>"}`)
	if _, err := Load(cfgDir); err == nil || !strings.Contains(err.Error(), `pad_token "<pad>" is not in the vocabulary`) {
		t.Errorf("unknown pad_token: err = %v", err)
	}
	write2("tokenizer_config.json", `{"padding_side": "middle"}`)
	if _, err := Load(cfgDir); err == nil || !strings.Contains(err.Error(), "tokenizer_config.json") {
		t.Errorf("bad padding_side: err = %v", err)
	}
}

// fakeModel is a vocabulary without tokenization, for AddedVocabulary tests.
type fakeModel map[string]int

func (m fakeModel) tokenize(w string, dst []int) ([]int, error) { return dst, nil }
func (m fakeModel) tokenToID(s string) (int, bool)              { id, ok := m[s]; return id, ok }
func (m fakeModel) idToToken(int) (string, bool)                { return "", false }
func (m fakeModel) maxID() int                                  { return len(m) - 1 }
func (m fakeModel) size() int                                   { return len(m) }

// TestAddedTokenOptions replays HF's added_vocabulary.rs tests (options_use_cases, single_word, lstrip with
// unicode spaces).
func TestAddedTokenOptions(t *testing.T) {
	splitsOf := func(v *addedVocab, n normalizer, text string) []string {
		splits := v.extract([]split{{piece{s: text, first: true}, -1}}, v.raw)
		for i := range splits {
			if splits[i].id < 0 && n != nil {
				splits[i].s = n.normalize(splits[i].s)
			}
		}
		var out []string
		for _, sp := range v.extract(splits, v.norm) {
			mark := ""
			if sp.id >= 0 {
				mark = "#"
			}
			out = append(out, mark+sp.s)
		}
		return out
	}
	lower := lowercase{}
	v := newAddedVocab([]addedToken{
		{Content: "my", LStrip: true, RStrip: true, Normalized: true},
		{Content: "name", Normalized: true},
		{Content: "ony", SingleWord: true, Normalized: true},
		{Content: "[CLS]", Special: true},
		{Content: "[SEP]", Special: true},
	}, fakeModel{}, lower)
	got := splitsOf(v, lower, "[CLS] My name is Anthony [SEP]")
	want := []string{"#[CLS]", "# my ", "#name", " is anthony ", "#[SEP]"}
	if !slices.Equal(got, want) {
		t.Errorf("options: got %q, want %q", got, want)
	}
	if v.byContent["my"] != 0 || v.byContent["[CLS]"] != 3 {
		t.Errorf("ids: %v", v.byContent)
	}
	v = newAddedVocab([]addedToken{{Content: "<mask>", SingleWord: true, Normalized: true}}, fakeModel{}, lower)
	got = splitsOf(v, lower, "<mask> My name <mask> A<mask> <mask>ony <mask>")
	want = []string{"#<mask>", " my name ", "#<mask>", " a<mask> <mask>ony ", "#<mask>"}
	if !slices.Equal(got, want) {
		t.Errorf("single_word: got %q, want %q", got, want)
	}
	v = newAddedVocab([]addedToken{{Content: "<mask>", LStrip: true, RStrip: true, SingleWord: true,
		Normalized: true}}, fakeModel{}, lower)
	got = splitsOf(v, lower, "Hi <mask> there\t<mask>\t<mask>\u2000")
	want = []string{"hi", "# <mask> ", "there", "#\t<mask>\t", "#<mask>\u2000"}
	if !slices.Equal(got, want) {
		t.Errorf("lstrip/rstrip: got %q, want %q", got, want)
	}
	// A token already in the model keeps the model's id; a new one is numbered after the vocabulary.
	v = newAddedVocab([]addedToken{{Content: "b"}, {Content: "new"}}, fakeModel{"a": 0, "b": 1}, nil)
	if v.byContent["b"] != 1 || v.byContent["new"] != 2 {
		t.Errorf("ids: %v", v.byContent)
	}
}
