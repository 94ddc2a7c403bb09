package tokenizer

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/validators"
)

// whitespaceCorpus covers runs of 1–64 spaces (go-sentencepiece v0.6.0 panicked on 16+ spaces followed by more
// text with the LLaMA-2 model), at the start, in the middle and at the end, mixed with tabs and newlines, as
// code indentation has them.
func whitespaceCorpus() []string {
	var out []string
	for _, n := range []int{1, 2, 3, 8, 15, 16, 17, 18, 24, 31, 32, 33, 47, 48, 49, 64} {
		sp := strings.Repeat(" ", n)
		out = append(out, "a"+sp+"b", sp+"x", "y"+sp, sp, "\n"+sp+"return x", "if x {\n"+sp+"\t"+sp+"y()\n}", sp+"é"+sp+"你好",
			strings.Repeat(sp+"z", 3))
	}
	return append(out, strings.Repeat(" ", 1000)+"end", "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\tx", strings.Repeat("\n", 40)+"x")
}

// TestSentencePieceLongSpaceRuns: every whitespace pattern encodes without error and decodes back to its text;
// with the validators installed the ids equal C++ SentencePiece's (@sctg/sentencepiece-js).
func TestSentencePieceLongSpaceRuns(t *testing.T) {
	dir := filepath.Join(fixtures(t), "llama2")
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	corpus := whitespaceCorpus()
	for _, s := range corpus {
		ids, err := tok.Encode(s, false)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		back, err := tok.Decode(ids, true)
		if err != nil || back != s {
			t.Errorf("%q: decoded %q (%v)", s, back, err)
		}
	}
	node, vdir := validators.Require(t, "@sctg/sentencepiece-js")
	ref := liveReference(t, node, vdir, filepath.Join(dir, "tokenizer.model.gz"), corpus)
	if len(ref.Cases) != len(corpus) {
		t.Fatalf("%d reference cases for %d strings", len(ref.Cases), len(corpus))
	}
	same := 0
	for i, s := range corpus {
		got, _ := tok.Encode(s, false)
		if !equalInts(got, ref.Cases[i].IDs) {
			t.Errorf("%q:\n  ours %v\n  C++  %v", s, got, ref.Cases[i].IDs)
			continue
		}
		same++
	}
	t.Logf("%d/%d whitespace patterns: ids equal to C++ SentencePiece's", same, len(corpus))
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
