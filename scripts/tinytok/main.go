// Command tinytok learns a small byte-level BPE tokenizer (GPT-2 style) from a text file and writes it as a
// Hugging Face tokenizer.json, so the repository's tiny demo model has a real, HF-loadable tokenizer.
//
//	go run ./scripts/tinytok -in corpus.txt -merges 255 -out examples/tiny-llama/tokenizer.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"regexp"
	"sort"
	"strings"
)

// pretokenize approximates GPT-2's split pattern (Go's regexp has no lookahead); it only shapes the merges:
// encoding uses the tokenizer's own pattern.
var pretokenize = regexp.MustCompile(`'s|'t|'re|'ve|'m|'ll|'d| ?\pL+| ?\pN+| ?[^\s\pL\pN]+|\s+`)

// bytesToUnicode is GPT-2's reversible byte → printable rune map.
func bytesToUnicode() [256]rune {
	var m [256]rune
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}

type pair struct{ a, b string }

func main() {
	in := flag.String("in", "", "training text")
	out := flag.String("out", "tokenizer.json", "tokenizer.json to write")
	nMerges := flag.Int("merges", 255, "number of merges (vocab = 256 + merges + 1 special)")
	flag.Parse()
	text, err := os.ReadFile(*in)
	if err != nil {
		log.Fatal(err)
	}
	b2u := bytesToUnicode()
	words := map[string]int{}
	for _, w := range pretokenize.FindAllString(string(text), -1) {
		var sb strings.Builder
		for _, c := range []byte(w) {
			sb.WriteRune(b2u[c])
		}
		words[sb.String()]++
	}
	type word struct {
		syms  []string
		count int
	}
	var ws []word
	keys := make([]string, 0, len(words))
	for k := range words {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var syms []string
		for _, r := range k {
			syms = append(syms, string(r))
		}
		ws = append(ws, word{syms, words[k]})
	}
	vocab := map[string]int{}
	for b := 0; b < 256; b++ {
		vocab[string(b2u[b])] = b
	}
	var merges []string
	for len(merges) < *nMerges {
		counts := map[pair]int{}
		for _, w := range ws {
			for i := 0; i+1 < len(w.syms); i++ {
				counts[pair{w.syms[i], w.syms[i+1]}] += w.count
			}
		}
		var best pair
		bestN := 0
		for p, n := range counts {
			if n > bestN || (n == bestN && (p.a+" "+p.b) < (best.a+" "+best.b)) {
				best, bestN = p, n
			}
		}
		if bestN < 2 {
			break
		}
		merged := best.a + best.b
		if _, dup := vocab[merged]; dup {
			break
		}
		vocab[merged] = len(vocab)
		merges = append(merges, best.a+" "+best.b)
		for i := range ws {
			s := ws[i].syms
			var o []string
			for j := 0; j < len(s); j++ {
				if j+1 < len(s) && s[j] == best.a && s[j+1] == best.b {
					o = append(o, merged)
					j++
				} else {
					o = append(o, s[j])
				}
			}
			ws[i].syms = o
		}
	}
	eos := "<|endoftext|>"
	eosID := len(vocab)
	vocab[eos] = eosID
	tok := map[string]any{
		"version":    "1.0",
		"truncation": nil,
		"padding":    nil,
		"added_tokens": []map[string]any{{"id": eosID, "content": eos, "single_word": false, "lstrip": false,
			"rstrip": false, "normalized": false, "special": true}},
		"normalizer":     nil,
		"pre_tokenizer":  map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
		"post_processor": map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "",
			"end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
			"vocab": vocab, "merges": merges},
	}
	js, err := json.MarshalIndent(tok, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, js, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %s: %d tokens (%d merges)\n", *out, len(vocab), len(merges))
}
