package tokenizer

import (
	"fmt"
	"math"

	"github.com/hift-go/hift/io/gguf"
	"google.golang.org/protobuf/encoding/protowire"
)

// GGUF metadata of a SentencePiece tokenizer.model (LLaMA-2 style), as llama.cpp's converter writes it:
// tokenizer.ggml.model "llama", every piece with its score and type (1 normal, 2 unknown, 3 control,
// 4 user-defined, 5 unused, 6 byte), the special ids, add_bos/add_eos and add_space_prefix.
func (t *Tokenizer) ggufSentencePiece() ([]gguf.KV, error) {
	raw, path, err := t.sourceFile("tokenizer.model")
	if err != nil {
		return nil, err
	}
	var tokens []string
	var scores []float32
	var types []int32
	err = walkProto(raw, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
		if num != 1 {
			return nil
		}
		text, score, typ := "", float32(0), int32(1)
		if err := walkProto(v, func(n protowire.Number, _ protowire.Type, pv []byte, px uint64) error {
			switch n {
			case 1:
				text = string(pv)
			case 2:
				score = math.Float32frombits(uint32(px))
			case 3:
				typ = int32(px)
			}
			return nil
		}); err != nil {
			return err
		}
		tokens, scores, types = append(tokens, text), append(scores, score), append(types, typ)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("tokenizer %s: no pieces", path)
	}
	m := t.sp
	kvs := []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: "llama"},
		{Key: "tokenizer.ggml.pre", Value: "default"},
		{Key: "tokenizer.ggml.tokens", Value: tokens},
		{Key: "tokenizer.ggml.scores", Value: scores},
		{Key: "tokenizer.ggml.token_type", Value: types},
		{Key: "tokenizer.ggml.add_space_prefix", Value: m.addDummyPrefix},
		{Key: "tokenizer.ggml.remove_extra_whitespaces", Value: m.removeExtraSpaces},
	}
	return append(kvs, t.ggufSpecialKVs(len(tokens), m.bosID, m.eosID, m.unkID, m.padID)...), nil
}
