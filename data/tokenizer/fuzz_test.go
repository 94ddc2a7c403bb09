package tokenizer

import (
	"testing"
)

// fuzzSeeds are small tokenizer.json files covering every supported component.
var fuzzSeeds = []string{
	`{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3}, "merges": ["a b"]},
	  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true, "use_regex": true},
	  "decoder": {"type": "ByteLevel"}, "post_processor": {"type": "RobertaProcessing", "sep": ["b", 1], "cls": ["a", 0]},
	  "added_tokens": [{"id": 4, "content": "<s>", "special": true, "lstrip": true, "rstrip": true,
	    "single_word": true, "normalized": false}]}`,
	`{"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Prepend", "prepend": "▁"},
	    {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
	  "model": {"type": "BPE", "vocab": {"<unk>": 0, "<0x41>": 1, "▁": 2, "x": 3, "▁x": 4}, "merges": [["▁", "x"]],
	    "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true},
	  "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
	    {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
	  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<unk>", "type_id": 0}},
	    {"Sequence": {"id": "A", "type_id": 0}}], "pair": [{"Sequence": {"id": "A", "type_id": 0}},
	    {"Sequence": {"id": "B", "type_id": 1}}], "special_tokens": {"<unk>": {"id": "<unk>", "ids": [0], "tokens": ["<unk>"]}}}}`,
	`{"normalizer": {"type": "BertNormalizer", "lowercase": true}, "pre_tokenizer": {"type": "BertPreTokenizer"},
	  "model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1, "##b": 2}, "unk_token": "[UNK]",
	    "max_input_chars_per_word": 5},
	  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
	  "post_processor": {"type": "BertProcessing", "sep": ["[UNK]", 0], "cls": ["a", 1]}}`,
	`{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "` +
		`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},` +
		` "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
	  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"], "ignore_merges": true}}`,
	`{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Metaspace", "replacement": "▁",
	    "prepend_scheme": "first", "split": true}, {"type": "Digits", "individual_digits": true},
	    {"type": "Punctuation"}, {"type": "Whitespace"}, {"type": "WhitespaceSplit"},
	    {"type": "CharDelimiterSplit", "delimiter": "x"}, {"type": "Split", "pattern": {"Regex": "(a+)+"},
	    "behavior": "MergedWithNext", "invert": true}]},
	  "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "StripAccents"},
	    {"type": "Lowercase"}, {"type": "Strip", "strip_left": true, "strip_right": true},
	    {"type": "Replace", "pattern": {"Regex": "\\d"}, "content": "#"}]},
	  "model": {"type": "BPE", "vocab": {"a": 0, "##b": 1, "a</w>": 2}, "merges": [],
	    "continuing_subword_prefix": "##", "end_of_word_suffix": "</w>"},
	  "decoder": {"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}}`,
}

// FuzzFromJSON: any tokenizer.json either loads or fails with an error, and a loaded one encodes and decodes
// without panicking. Run: go test -run XXX -fuzz FuzzFromJSON -fuzztime 30s ./data/tokenizer
func FuzzFromJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "Hello <s> world 123 ab x\u00e9")
	}
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		tok, err := FromJSON(data)
		if err != nil {
			return
		}
		if len(text) > 64 {
			text = text[:64]
		}
		for _, s := range []string{text, "", " ", "ab ab", "<s>"} {
			for _, special := range []bool{false, true} {
				ids, err := tok.Encode(s, special)
				if err != nil {
					continue
				}
				_, _ = tok.Decode(ids, false)
				_, _ = tok.Decode(ids, true)
			}
		}
		_, _ = tok.EncodePair(text, text, true)
		_ = tok.VocabSize()
	})
}

// TestFuzzSeedsLoad keeps the seeds valid: each must load (so the fuzzer starts from working files).
func TestFuzzSeedsLoad(t *testing.T) {
	for i, s := range fuzzSeeds {
		tok, err := FromJSON([]byte(s))
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if _, err := tok.Encode("Hello <s> world 123 ab", true); err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
	}
}
