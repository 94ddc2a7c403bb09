package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Families with committed fixtures (testdata/tokenizers/<family>/ and <family>.golden.json).
var families = []string{"gpt2", "roberta", "bert", "llama3", "qwen3", "mistral", "llama2"}

// wantFamily is the Family() each fixture must report.
var wantFamily = map[string]string{"gpt2": FamilyByteLevelBPE, "roberta": FamilyByteLevelBPE, "bert": FamilyWordPiece,
	"llama3": FamilyByteLevelBPE, "qwen3": FamilyByteLevelBPE, "mistral": FamilyBPE, "llama2": FamilySentencePiece}

func fixtures(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "tokenizers"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func loadCorpus(t testing.TB) []string {
	t.Helper()
	var corpus []string
	readJSON(t, filepath.Join(fixtures(t), "corpus.json"), &corpus)
	return corpus
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("missing fixture (regenerate with scripts/tokenizer_goldens.sh): %v", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// reference is the output of testdata/validators/tok_ref.mjs, committed as <family>.golden.json.
type reference struct {
	Reference string `json:"reference"`
	Cases     []struct {
		IDs         []int   `json:"ids"`
		IDsSpecial  []int   `json:"ids_special"`
		Decoded     *string `json:"decoded"`
		DecodedSkip *string `json:"decoded_skip"`
	} `json:"cases"`
	Pairs [][]int `json:"pairs"`
}

// parity compares tok with ref on corpus and returns one line per kind of check plus the first mismatches.
type parity struct {
	name     string
	counts   map[string][2]int // check → (equal, total)
	failures []string
}

func (p *parity) check(kind string, ok bool, detail func() string) {
	if p.counts == nil {
		p.counts = map[string][2]int{}
	}
	c := p.counts[kind]
	c[1]++
	if ok {
		c[0]++
	} else if len(p.failures) < 8 {
		p.failures = append(p.failures, kind+": "+detail())
	}
	p.counts[kind] = c
}

func (p *parity) report(t *testing.T) {
	t.Helper()
	for _, kind := range []string{"encode", "encode+special", "decode", "decode skip_special", "pair"} {
		if c, ok := p.counts[kind]; ok {
			t.Logf("%s %-20s %d/%d", p.name, kind, c[0], c[1])
		}
	}
	for _, f := range p.failures {
		t.Error(f)
	}
}

func compareWithReference(t *testing.T, name string, tok *Tokenizer, corpus []string, ref *reference) {
	t.Helper()
	if len(ref.Cases) != len(corpus) {
		t.Fatalf("%s: %d reference cases for %d corpus strings: regenerate with scripts/tokenizer_goldens.sh",
			name, len(ref.Cases), len(corpus))
	}
	p := &parity{name: name}
	for i, s := range corpus {
		c := ref.Cases[i]
		for _, special := range []bool{false, true} {
			want, kind := c.IDs, "encode"
			if special {
				want, kind = c.IDsSpecial, "encode+special"
			}
			got, err := tok.Encode(s, special)
			p.check(kind, err == nil && slices.Equal(got, want), func() string {
				return fmt.Sprintf("%q:\n  ours %v (err %v)\n  HF   %v", s, got, err, want)
			})
		}
		for _, skip := range []bool{false, true} {
			want, kind := c.Decoded, "decode"
			if skip {
				want, kind = c.DecodedSkip, "decode skip_special"
			}
			if want == nil {
				continue
			}
			got, err := tok.Decode(c.IDsSpecial, skip)
			p.check(kind, err == nil && got == *want, func() string {
				return fmt.Sprintf("%v (from %q):\n  ours %q (err %v)\n  HF   %q", c.IDsSpecial, s, got, err, *want)
			})
		}
	}
	for i, want := range ref.Pairs {
		got, err := tok.EncodePair(corpus[i], corpus[i+1], true)
		p.check("pair", err == nil && slices.Equal(got, want), func() string {
			return fmt.Sprintf("(%q, %q):\n  ours %v (err %v)\n  HF   %v", corpus[i], corpus[i+1], got, err, want)
		})
	}
	p.report(t)
}

// TestParityWithGoldens compares every family with the committed reference ids, 100% required.
func TestParityWithGoldens(t *testing.T) {
	corpus := loadCorpus(t)
	if len(corpus) < 300 {
		t.Fatalf("corpus has %d strings, want ≥ 300", len(corpus))
	}
	for _, family := range families {
		t.Run(family, func(t *testing.T) {
			tok, err := Load(filepath.Join(fixtures(t), family))
			if err != nil {
				t.Fatal(err)
			}
			if tok.Family() != wantFamily[family] {
				t.Errorf("Family() = %q, want %q", tok.Family(), wantFamily[family])
			}
			var ref reference
			readJSON(t, filepath.Join(fixtures(t), family+".golden.json"), &ref)
			compareWithReference(t, family, tok, corpus, &ref)
		})
	}
}
