package tokenizer

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// tinySentencePiece builds a small BPE ModelProto: <unk>, <s>, </s>, the 256 byte pieces and a few merges.
func tinySentencePiece() []byte {
	var b []byte
	piece := func(text string, score float32, typ uint64) {
		var p []byte
		p = protowire.AppendTag(p, 1, protowire.BytesType)
		p = protowire.AppendString(p, text)
		p = protowire.AppendTag(p, 2, protowire.Fixed32Type)
		p = protowire.AppendFixed32(p, math.Float32bits(score))
		p = protowire.AppendTag(p, 3, protowire.VarintType)
		p = protowire.AppendVarint(p, typ)
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, p)
	}
	piece("<unk>", 0, 2)
	piece("<s>", 0, 3)
	piece("</s>", 0, 3)
	for c := 0; c < 256; c++ {
		piece(fmt.Sprintf("<0x%02X>", c), 0, 6)
	}
	for i, s := range []string{"▁", "a", "b", "▁a", "ab", "▁ab", "▁▁", "▁▁▁▁"} {
		piece(s, -float32(i), 1)
	}
	var trainer []byte
	trainer = protowire.AppendTag(trainer, 3, protowire.VarintType)
	trainer = protowire.AppendVarint(trainer, 2) // BPE
	trainer = protowire.AppendTag(trainer, 35, protowire.VarintType)
	trainer = protowire.AppendVarint(trainer, 1) // byte_fallback
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, trainer)
}

// FuzzSentencePiece: any tokenizer.model either loads or fails with an error; a loaded one encodes and decodes
// any text without panicking. Seed: a synthetic BPE model with byte fallback and merges of "▁" runs.
// Run: go test -run '^$' -fuzz '^FuzzSentencePiece$' -fuzztime 30s ./data/tokenizer (or scripts/fuzz.sh).
func FuzzSentencePiece(f *testing.F) {
	f.Add(tinySentencePiece(), "ab  a\n é"+string(make([]byte, 3)))
	// The 500 KB LLaMA-2 model is not a seed: parsing it per input slows fuzzing ~1000×; TestSentencePieceLongSpaceRuns
	// and the parity tests cover it.
	f.Add([]byte{0x0a, 0x80}, "x")
	f.Fuzz(func(t *testing.T, model []byte, text string) {
		sp, err := newSentencePiece(model)
		if err != nil {
			return
		}
		if len(text) > 256 {
			text = text[:256]
		}
		ids, err := sp.encode(text, nil)
		if err != nil {
			t.Fatalf("encode %q: %v", text, err)
		}
		if _, err := sp.decode(ids, true); err != nil {
			t.Fatalf("decode of encode's ids: %v", err)
		}
	})
}

// TestTinySentencePieceSeed keeps the synthetic seed loadable.
func TestTinySentencePieceSeed(t *testing.T) {
	sp, err := newSentencePiece(tinySentencePiece())
	if err != nil {
		t.Fatal(err)
	}
	ids, err := sp.encode("ab a", nil)
	if err != nil || len(ids) == 0 {
		t.Fatalf("encode: %v %v", ids, err)
	}
}

// FuzzSentencePieceText: the LLaMA-2 tokenizer.model encodes any text without error and decodes valid UTF-8
// back to itself (the class of input — long whitespace runs — that crashed go-sentencepiece v0.6.0).
// Run: go test -run '^$' -fuzz '^FuzzSentencePieceText$' -fuzztime 30s ./data/tokenizer (or scripts/fuzz.sh).
func FuzzSentencePieceText(f *testing.F) {
	for _, s := range whitespaceCorpus()[:24] {
		f.Add(s)
	}
	f.Add("def f(x):\n\t\treturn x  # é 你好 😀\r\n")
	tok, err := Load(filepath.Join("..", "..", "testdata", "tokenizers", "llama2"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ids, err := tok.Encode(text, false)
		if err != nil {
			t.Fatalf("encode %q: %v", text, err)
		}
		if !utf8.ValidString(text) {
			return
		}
		back, err := tok.Decode(ids, true)
		if err != nil || back != text {
			t.Fatalf("decode(encode(%q)) = %q, %v", text, back, err)
		}
	})
}
