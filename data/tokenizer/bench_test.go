package tokenizer

import (
	"fmt"
	"path/filepath"
	"testing"
)

// benchRepeat copies of the parity corpus, copy k prefixed with "k " so that whole-string caches (a BPE model
// without pre-tokenizer caches entire texts) do not turn repeats into hits; testdata/validators/tok_bench.mjs
// measures HF on the same texts. Each benchmark op encodes all of them.
const benchRepeat = 4

func benchSetup(b *testing.B, family string) (*Tokenizer, []string, int) {
	tok, err := Load(filepath.Join(fixtures(b), family))
	if err != nil {
		b.Fatal(err)
	}
	var texts []string
	for k := range benchRepeat {
		for _, s := range loadCorpus(b) {
			texts = append(texts, fmt.Sprintf("%d %s", k, s))
		}
	}
	n := 0
	for _, s := range texts {
		ids, err := tok.Encode(s, false)
		if err != nil {
			b.Fatal(err)
		}
		n += len(ids)
	}
	return tok, texts, n
}

// coldCache empties the BPE word cache, so that every op starts like a first pass over new text.
func coldCache(b *testing.B, tok *Tokenizer) {
	b.StopTimer()
	if m, ok := tok.model.(*bpe); ok {
		m.resetCache()
	}
	b.StartTimer()
}

// BenchmarkEncode encodes the corpus sequentially (one goroutine), from an empty cache, and reports tokens/s.
func BenchmarkEncode(b *testing.B) {
	for _, family := range families {
		b.Run(family, func(b *testing.B) {
			tok, texts, n := benchSetup(b, family)
			b.ResetTimer()
			for range b.N {
				coldCache(b, tok)
				for _, s := range texts {
					if _, err := tok.Encode(s, false); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkEncodeBatch encodes the corpus with EncodeBatch (GOMAXPROCS workers), from an empty cache, and
// reports tokens/s.
func BenchmarkEncodeBatch(b *testing.B) {
	for _, family := range families {
		b.Run(family, func(b *testing.B) {
			tok, texts, n := benchSetup(b, family)
			b.ResetTimer()
			for range b.N {
				coldCache(b, tok)
				if _, err := tok.EncodeBatch(texts, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkLoad measures Load of each committed tokenizer.
func BenchmarkLoad(b *testing.B) {
	for _, family := range families {
		b.Run(family, func(b *testing.B) {
			for range b.N {
				if _, err := Load(filepath.Join(fixtures(b), family)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
