package tokenizer

import "fmt"

// loadGGUFWPM reads a GGUF vocabulary of tokenizer.ggml.model "bert" (WordPiece in llama.cpp's phantom-space
// form) into a Tokenizer that tokenizes as llama.cpp's WPM tokenizer does with that file.
func loadGGUFWPM(kv map[string]any, path string) (*Tokenizer, error) {
	return nil, fmt.Errorf("tokenizer: %s: reading a WordPiece (tokenizer.ggml.model \"bert\") GGUF vocabulary is not supported yet", path)
}

// tokenizerJSONFromGGUFWPM rebuilds an HF tokenizer.json (WordPiece) from a "bert" GGUF vocabulary.
func tokenizerJSONFromGGUFWPM(kv map[string]any, path string) ([]byte, error) {
	return nil, fmt.Errorf("tokenizer: %s: importing a WordPiece (tokenizer.ggml.model \"bert\") GGUF vocabulary is not supported yet", path)
}
