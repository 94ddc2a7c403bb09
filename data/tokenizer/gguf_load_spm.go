package tokenizer

import "fmt"

// loadGGUFSPM reads a GGUF vocabulary of tokenizer.ggml.model "llama" (SentencePiece: pieces, scores, token
// types) into a Tokenizer that tokenizes as llama.cpp's SPM tokenizer does with that file.
func loadGGUFSPM(kv map[string]any, path string) (*Tokenizer, error) {
	return nil, fmt.Errorf("tokenizer: %s: reading a SentencePiece (tokenizer.ggml.model \"llama\") GGUF vocabulary is not supported yet", path)
}

// tokenizerJSONFromGGUFSPM rebuilds an HF tokenizer.json from a "llama" (SentencePiece) GGUF vocabulary.
func tokenizerJSONFromGGUFSPM(kv map[string]any, path string) ([]byte, error) {
	return nil, fmt.Errorf("tokenizer: %s: importing a SentencePiece (tokenizer.ggml.model \"llama\") GGUF vocabulary is not supported yet", path)
}
