package tokenizer

import (
	"slices"
	"testing"
)

// TestScannersMatchRegexp2 checks the hand-written GPT-2, LLaMA-3 and Qwen2 scanners against regexp2 (a
// backtracking engine with look-ahead, like HF's Oniguruma) on the corpus and random strings.
func TestScannersMatchRegexp2(t *testing.T) {
	texts := append(loadCorpus(t), randomCorpus(2000, 11)...)
	texts = append(texts, "it'ſ", "IT'S", "'S", "a  \n  b", " \r\n\r\n x", "\t\tx", "x  ", "  ", "1234567", "'")
	for name, expr := range map[string]string{"gpt2": gpt2Regex, "llama3": llama3Regex, "qwen2": qwen2Regex} {
		hand, err := compileRegex(expr)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := hand.(scanner); !ok {
			t.Fatalf("%s: compileRegex did not pick the scanner", name)
		}
		ref, err := newRegexp2Pattern(expr)
		if err != nil {
			t.Fatal(err)
		}
		bad := 0
		for _, s := range texts {
			got, want := hand.findAll(s), ref.findAll(s)
			if !slices.Equal(got, want) {
				if bad++; bad <= 5 {
					t.Errorf("%s %q:\n  scanner %v\n  regexp2 %v", name, s, got, want)
				}
			}
		}
		t.Logf("%s: %d/%d strings split identically", name, len(texts)-bad, len(texts))
	}
}

func TestSplitBehaviors(t *testing.T) {
	// "a-b--c" split on "-": every HF behaviour.
	s := "a-b--c"
	m := literalPattern("-").findAll(s)
	for _, tc := range []struct {
		behavior int
		invert   bool
		want     []string
	}{
		{behRemoved, false, []string{"a", "b", "c"}},
		{behIsolated, false, []string{"a", "-", "b", "-", "-", "c"}},
		{behMergedWithPrevious, false, []string{"a-", "b-", "-", "c"}},
		{behMergedWithNext, false, []string{"a", "-b", "-", "-c"}},
		{behContiguous, false, []string{"a", "-", "b", "--", "c"}},
		{behRemoved, true, []string{"-", "-", "-"}},
	} {
		var got []string
		for _, r := range splitRanges(len(s), m, tc.behavior, tc.invert) {
			got = append(got, s[r[0]:r[1]])
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("behavior %d invert %v: got %q, want %q", tc.behavior, tc.invert, got, tc.want)
		}
	}
}
