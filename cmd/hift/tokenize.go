package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/io/gguf"
	"github.com/spf13/cobra"
)

// TokenizeOptions are the flags of `hift tokenize`.
type TokenizeOptions struct {
	f          *factory
	Tokenizer  string
	AddSpecial bool
	Decode     bool
	in         io.Reader
}

func newTokenizeCmd(f *factory, runF func(*TokenizeOptions) error) *cobra.Command {
	opts := &TokenizeOptions{f: f, in: os.Stdin}
	cmd := &cobra.Command{
		Use:   "tokenize --tokenizer PATH [--add-special-tokens] < strings.jsonl",
		Short: "Tokenize JSON strings from standard input (one per line) into JSON arrays of ids",
		Long: `tokenize reads one JSON string per line from standard input and writes one JSON array of token ids per
line, as Hugging Face tokenizers would (add_special_tokens=False unless --add-special-tokens). PATH is a
checkpoint folder, a tokenizer.json, a SentencePiece tokenizer.model or a GGUF file, recognised by its
content whatever its name (its byte-level BPE, SentencePiece or WordPiece vocabulary, also from vocab-only
files, tokenized as llama.cpp does, special tokens in the text parsed as llama.cpp's parse_special). Empty
lines are skipped; "" gives [] (or just the added BOS/EOS). With --decode it reads arrays of ids and writes
the decoded strings, leaving special tokens out unless --add-special-tokens is given too.`,
		Example: `  echo '"Hello world"' | hift tokenize --tokenizer examples/tiny-llama
  echo '"Hello world"' | hift tokenize --tokenizer model.gguf --add-special-tokens
  echo '[81, 117, 263]' | hift tokenize --tokenizer examples/tiny-llama --decode`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Tokenizer == "" {
				return badInput("tokenize needs --tokenizer")
			}
			if runF != nil {
				return runF(opts)
			}
			return runTokenize(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Tokenizer, "tokenizer", "", "checkpoint folder, tokenizer.json, tokenizer.model or FILE.gguf")
	cmd.Flags().BoolVar(&opts.AddSpecial, "add-special-tokens", false, "add BOS/EOS/CLS/SEP as the tokenizer's post-processor says; with --decode, keep special tokens in the text")
	cmd.Flags().BoolVar(&opts.Decode, "decode", false, "decode arrays of ids instead")
	return cmd
}

func runTokenize(opts *TokenizeOptions) error {
	load := tokenizer.Load
	if strings.HasSuffix(strings.ToLower(opts.Tokenizer), ".gguf") || gguf.IsGGUF(opts.Tokenizer) {
		load = tokenizer.LoadGGUF // the tokenizer a GGUF file carries, as llama.cpp tokenizes with it
	}
	tok, err := load(opts.Tokenizer)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(opts.in)
	sc.Buffer(make([]byte, 1<<20), maxTokenizeLine)
	w := bufio.NewWriter(opts.f.stdout)
	defer w.Flush()
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		if opts.Decode {
			var ids []int
			if err := json.Unmarshal(sc.Bytes(), &ids); err != nil {
				return fmt.Errorf("stdin line %d: not a JSON array of ids: %w", line, err) // bad data, like a bad data file: exit 1
			}
			s, err := tok.Decode(ids, !opts.AddSpecial)
			if err != nil {
				return fmt.Errorf("stdin line %d: %w", line, err)
			}
			if err := jsonLine(w, s); err != nil {
				return err
			}
			continue
		}
		var s string
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return fmt.Errorf("stdin line %d: not a JSON string: %w", line, err) // bad data, like a bad data file: exit 1
		}
		ids, err := tok.Encode(s, opts.AddSpecial)
		if err != nil {
			return fmt.Errorf("stdin line %d: %w", line, err)
		}
		if ids == nil {
			ids = []int{}
		}
		b, _ := json.Marshal(ids)
		w.Write(append(b, '\n'))
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("stdin: a line is longer than %d MiB; split the text over several lines", maxTokenizeLine>>20)
		}
		return fmt.Errorf("stdin: %w", err)
	}
	return nil
}

// maxTokenizeLine is the longest stdin line tokenize reads (one JSON string or id array).
const maxTokenizeLine = 64 << 20

// jsonLine writes v as one JSON line, with <, > and & as themselves (json.Marshal would write "\u003cs\u003e"
// for a decoded "<s>").
func jsonLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
