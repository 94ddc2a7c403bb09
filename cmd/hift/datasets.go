package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hift-go/hift/data"
	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
	"github.com/spf13/pflag"
)

// DataFlags choose how a dataset file becomes token batches. A .safetensors file is taken as pre-tokenized;
// JSONL, CSV/TSV and Parquet files are tokenized with the model's tokenizer and formatted for its task.
type DataFlags struct {
	Tokenizer     string
	Format        string
	SeqLen        int
	TextField     string
	TextPairField string
	PromptField   string
	ResponseField string
	Template      string
	ChatTemplate  bool
	MessagesField string
	LabelField    string
	TokensField   string
	TagsField     string
	ContextField  string
	QuestionField string
	AnswersField  string
	ChoicesField  string
	DocStride     int
	SkipBadRows   bool
	MaxRows       int
	Cache         string
	Split         string // Hugging Face datasets folder: the split to read (data/source.go)
	TextPerLine   bool   // text files: one example per line instead of per file
	LabelNames    string // --label-names: comma-separated class names, class i first (labels.go)
	PadToken      string // --pad-token: the padding token for a tokenizer without one (labels.go)
}

func (d *DataFlags) bind(fl *pflag.FlagSet) {
	fl.StringVar(&d.Tokenizer, "tokenizer", "", "tokenizer folder, tokenizer.json or tokenizer.model (default: the model folder)")
	fl.StringVar(&d.Format, "data-format", "", "jsonl, json, csv, tsv, parquet or text (default: from the file extension; .gz/.zst are decompressed)")
	fl.IntVar(&d.SeqLen, "seq-len", 128, "tokens per example (causal LM text is packed into blocks of this length)")
	fl.StringVar(&d.TextField, "text-field", "text", "column with the text (causal LM, classification, multiple-choice context)")
	fl.StringVar(&d.TextPairField, "text-pair-field", "", "column with the second text of a classification pair")
	fl.StringVar(&d.PromptField, "prompt-field", "", "instruction data: column with the prompt (loss only on the response)")
	fl.StringVar(&d.ResponseField, "response-field", "response", "instruction data: column with the response")
	fl.StringVar(&d.Template, "template", "{prompt}", "prompt template; {prompt} is replaced by the prompt column")
	fl.BoolVar(&d.ChatTemplate, "chat-template", false, "instruction data: render prompt/response as user/assistant turns with the tokenizer's chat template")
	fl.StringVar(&d.MessagesField, "messages-field", "", "chat data: column with a conversation [{role, content}, ...], rendered with the chat template; loss on the assistant turns")
	fl.StringVar(&d.LabelField, "label-field", "label", "column with the class label (id or name from config.json label2id)")
	fl.StringVar(&d.TokensField, "tokens-field", "tokens", "token classification: column with the list of words")
	fl.StringVar(&d.TagsField, "tags-field", "ner_tags", "token classification: column with the list of tags")
	fl.StringVar(&d.ContextField, "context-field", "context", "extractive QA: context column")
	fl.StringVar(&d.QuestionField, "question-field", "question", "extractive QA: question column")
	fl.StringVar(&d.AnswersField, "answers-field", "answers", "extractive QA: SQuAD-style answers column (text, answer_start)")
	fl.StringVar(&d.ChoicesField, "choices-field", "choices", "multiple choice: column with the list of endings")
	fl.IntVar(&d.DocStride, "doc-stride", 32, "extractive QA: context tokens shared by consecutive windows of a long context")
	fl.BoolVar(&d.SkipBadRows, "skip-bad-rows", false, "skip and count rows that cannot be formatted instead of stopping")
	fl.IntVar(&d.MaxRows, "max-rows", 0, "read at most N rows (0 = all)")
	fl.StringVar(&d.Split, "split", "", "Hugging Face datasets folder (data/train-*.parquet, train/*.jsonl, ...): the split to read (default train)")
	fl.BoolVar(&d.TextPerLine, "text-per-line", false, "plain .txt data: every non-empty line is a document (default: one document per file)")
	fl.StringVar(&d.LabelNames, "label-names", "", "classification: class names in id order (e.g. neg,pos), written into the saved config's id2label/label2id (default with --task seq_cls: the data's sorted labels)")
	fl.StringVar(&d.PadToken, "pad-token", "", "padding token for a tokenizer without one (e.g. its EOS token, as HF users do); saved in the output's config and tokenizer_config.json")
	fl.StringVar(&d.Cache, "data-cache", "", "write the formatted token columns to this folder and memory-map them (datasets larger than RAM)")
}

// isPretokenized reports whether a data file is a safetensors batch file.
func isPretokenized(path string) bool {
	return strings.EqualFold(filepath.Ext(path), ".safetensors")
}

// loadTokenizer opens the tokenizer of a model (or the one --tokenizer names).
func (d *DataFlags) loadTokenizer(modelDir string) (*tokenizer.Tokenizer, error) {
	path := d.Tokenizer
	if path == "" {
		path = modelDir
	}
	tok, err := tokenizer.Load(path)
	if err != nil || d.PadToken == "" {
		return tok, err
	}
	if _, err := tok.SetPadToken(d.PadToken); err != nil {
		return nil, badInput("--pad-token: %v", err)
	}
	return tok, nil
}

// load reads a dataset file for model m (whose folder is modelDir): pre-tokenized safetensors as they are,
// text formats through the tokenizer and the task's formatting. Progress and skipped rows go to log.
func (d *DataFlags) load(path, modelDir string, m *graph.Model, log func(format string, args ...any)) (*data.TensorDataset, error) {
	if isPretokenized(path) {
		return data.LoadTensorDataset(path)
	}
	tok, err := d.loadTokenizer(modelDir)
	if err != nil {
		return nil, err
	}
	head, err := m.Config.Head()
	if err != nil {
		return nil, err
	}
	var label2id map[string]int
	if names := d.labelNames(); len(names) > 0 {
		label2id = map[string]int{}
		for id, name := range names {
			label2id[name] = id
		}
	} else if len(head.ID2Label) > 0 {
		label2id = map[string]int{}
		for id, name := range head.ID2Label {
			label2id[name] = id
		}
	}
	rows, err := data.OpenSource(path, data.SourceOptions{Format: d.Format, Split: d.Split, TextPerLine: d.TextPerLine, TextField: d.TextField})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ds, st, err := data.BuildDataset(rows, tok, data.FormatOptions{
		Task: string(m.Task), SeqLen: d.SeqLen, TextField: d.TextField, TextPairField: d.TextPairField,
		PromptField: d.PromptField, ResponseField: d.ResponseField, Template: d.Template, ChatTemplate: d.ChatTemplate, MessagesField: d.MessagesField, LabelField: d.LabelField,
		TokensField: d.TokensField, TagsField: d.TagsField, ContextField: d.ContextField, QuestionField: d.QuestionField,
		AnswersField: d.AnswersField, ChoicesField: d.ChoicesField, DocStride: d.DocStride, Label2ID: label2id, NumLabels: head.NumLabels,
		SkipBadRows: d.SkipBadRows, MaxRows: d.MaxRows, CacheDir: cacheDir(d.Cache, path),
	})
	if err != nil {
		return nil, err
	}
	log("%s: %d rows → %d examples of %d tokens (%d tokens, %d truncated, %d rows skipped)\n",
		path, st.Rows, st.Examples, d.SeqLen, st.Tokens, st.Truncated, st.Skipped)
	if st.Skipped > 0 {
		log("  first skipped row: %v\n", st.FirstSkipped)
	}
	return ds, nil
}

func (d *DataFlags) validate() error {
	if d.SeqLen < 2 {
		return fmt.Errorf("--seq-len must be >= 2, got %d", d.SeqLen)
	}
	if d.Format != "" {
		// Checked here, as a usage error naming the choices, not once per file after the model has loaded.
		d.Format = strings.ToLower(d.Format)
		if msg := checkEnum("data-format", d.Format, data.FormatJSONL, data.FormatJSON, data.FormatCSV, data.FormatTSV, data.FormatParquet, data.FormatText); msg != "" {
			return errors.New(msg)
		}
	}
	return nil
}

// cacheDir gives each dataset file its own sub-folder of the cache.
func cacheDir(cache, path string) string {
	if cache == "" {
		return ""
	}
	return filepath.Join(cache, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
}
