package tokenizer

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestEncodeWordsAndOffsets(t *testing.T) {
	bert, err := Load(filepath.Join("..", "..", "testdata", "tokenizers", "bert"))
	if err != nil {
		t.Fatal(err)
	}
	ids, wids, err := bert.EncodeWords([]string{"Hello", "tokenization"}, true)
	if err != nil {
		t.Fatal(err)
	}
	// [CLS] hello token ##ization [SEP]
	if want := []int{-1, 0, 1, 1, -1}; !slices.Equal(wids, want) {
		t.Errorf("bert word ids %v (ids %v), want %v", wids, ids, want)
	}
	whole, _ := bert.Encode("Hello tokenization", true)
	if !slices.Equal(ids, whole) {
		t.Errorf("bert pre-split ids %v differ from the sentence's %v", ids, whole)
	}
	gpt2, err := Load(filepath.Join("..", "..", "testdata", "tokenizers", "gpt2"))
	if err != nil {
		t.Fatal(err)
	}
	text := "The Light, refracted: 3.5°!"
	ids, offs, err := gpt2.EncodeWithOffsets(text, false)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := gpt2.Encode(text, false)
	if !slices.Equal(ids, plain) {
		t.Fatalf("ids %v differ from Encode %v", ids, plain)
	}
	var rebuilt string
	for i, o := range offs {
		if i > 0 && o[0] != offs[i-1][1] {
			t.Errorf("offsets not contiguous at %d: %v", i, offs)
		}
		rebuilt += text[o[0]:o[1]]
	}
	if rebuilt != text {
		t.Errorf("offsets rebuild %q, want %q", rebuilt, text)
	}
	if _, _, err := bert.EncodeWithOffsets(text, false); err == nil {
		t.Error("WordPiece offsets: no error")
	}
}
