package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/hift-go/hift/data/tokenizer"
)

// Example tokenizes text with a model's tokenizer (tokenizer.json or tokenizer.model, with
// tokenizer_config.json's special tokens), as hift tokenize does, and decodes it back.
func Example() {
	tok, err := tokenizer.Load("../../examples/tiny-llama") // a folder, a tokenizer.json or a tokenizer.model
	if err != nil {
		log.Fatal(err)
	}
	ids, err := tok.Encode("Do not Bodies act upon Light?", true)
	if err != nil {
		log.Fatal(err)
	}
	text, err := tok.Decode(ids, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Family(), ids)
	fmt.Printf("%q\n", text)
	// Output:
	// byte-level-bpe [68 111 442 482 100 446 259 292 462 341 63]
	// "Do not Bodies act upon Light?"
}
