package data

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// SourceOptions say how OpenSource reads a dataset path.
type SourceOptions struct {
	// Format forces the format of every file ("jsonl", "json", "csv", "tsv", "parquet", "text"); "" detects it
	// from each file's extension (a .gz or .zst suffix is looked through).
	Format string
	// Split picks the split of a Hugging Face datasets folder (default "train").
	Split string
	// TextPerLine makes every non-empty line of a text file one row; otherwise a text file is one row.
	TextPerLine bool
	// TextField is the column text files are read into (default "text").
	TextField string
}

// FormatText is the format of plain text files (.txt, .md): one row per file, or per line.
const FormatText = "text"

// FormatJSON is a JSON file holding an array of objects (a .json file starting with "[").
const FormatJSON = "json"

// OpenSource opens the dataset at path as rows. path may be
//
//   - a file: JSONL, a JSON array, CSV/TSV, Parquet or plain text, each optionally gzip- or
//     zstd-compressed (.jsonl.gz, .csv.zst, ...);
//   - a Hugging Face datasets folder (as on the hub or from `huggingface-cli download --repo-type dataset`):
//     the files of the split named by o.Split in data/ or at the top (train-00000-of-00002.parquet,
//     train.jsonl, ...) or in a folder named after the split, read in name order;
//   - any other folder: every dataset file in it and below (text files: one document per file), in name order.
//
// Errors name the file and, for a folder, what it holds and which splits it has.
func OpenSource(path string, o SourceOptions) (RowReader, error) {
	if o.TextField == "" {
		o.TextField = "text"
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if !st.IsDir() {
		return openFile(path, o)
	}
	files, err := datasetFiles(path, o)
	if err != nil {
		return nil, err
	}
	return &multiReader{files: files, o: o, dir: path}, nil
}

// openFile opens one file of any supported kind.
func openFile(path string, o SourceOptions) (RowReader, error) {
	format := o.Format
	if format == "" {
		format = detectAny(path)
	}
	switch format {
	case FormatText:
		return openText(path, o)
	case FormatJSON, FormatJSONL:
		if isCompressed(path) || format == FormatJSON || looksLikeJSONArray(path) {
			return openJSONAny(path)
		}
	case FormatCSV, FormatTSV:
		if isCompressed(path) {
			return openCompressedCSV(path, format)
		}
	case "":
		return nil, fmt.Errorf("data %s: unknown dataset format (use .jsonl, .json, .csv, .tsv, .parquet or .txt, optionally .gz/.zst, or name the format)", path)
	}
	return OpenRows(path, format)
}

// detectAny is DetectFormat plus text files and compression suffixes; "" when unknown.
func detectAny(path string) string {
	base := strings.ToLower(stripCompression(path))
	switch filepath.Ext(base) {
	case ".txt", ".md", ".text":
		return FormatText
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL
	case ".csv":
		return FormatCSV
	case ".tsv":
		return FormatTSV
	case ".parquet":
		return FormatParquet
	}
	return ""
}

// datasetFiles lists the files a folder contributes: the split's files of an HF datasets folder, else every
// dataset file below it.
func datasetFiles(dir string, o SourceOptions) ([]string, error) {
	split := o.Split
	if split == "" {
		split = "train"
	}
	if _, err := os.Stat(filepath.Join(dir, "dataset_dict.json")); err == nil {
		return nil, fmt.Errorf("data %s: a datasets save_to_disk folder (Arrow files) is not supported: export it with ds.to_parquet(...) or ds.to_json(...), or point --data at a hub-style folder of parquet/jsonl files", dir)
	}
	var all []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir // .git, .cache
		}
		if !d.IsDir() && !strings.HasPrefix(d.Name(), ".") && (o.Format != "" || detectAny(p) != "") && !isMetaFile(d.Name()) {
			all = append(all, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", dir, err)
	}
	sort.Strings(all)
	if len(all) == 0 {
		return nil, fmt.Errorf("data %s: no dataset files (.jsonl, .json, .csv, .tsv, .parquet, .txt, optionally .gz/.zst) in the folder", dir)
	}
	splits := map[string][]string{}
	unsplit := 0
	for _, p := range all {
		if s := splitOf(dir, p); s != "" {
			splits[s] = append(splits[s], p)
		} else {
			unsplit++
		}
	}
	if o.Split == "" && unsplit > 0 { // a plain folder of documents, not a datasets layout
		return all, nil
	}
	if len(splits) == 0 {
		if o.Split != "" {
			return nil, fmt.Errorf("data %s: --split %s given, but the folder has no split files (train-*.parquet, data/train-*, train/...)", dir, o.Split)
		}
		return all, nil
	}
	if files, ok := splits[split]; ok {
		return files, nil
	}
	names := make([]string, 0, len(splits))
	for s := range splits {
		names = append(names, s)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("data %s: no split %q; the folder has splits %s (choose one with --split)", dir, split, strings.Join(names, ", "))
}

// splitOf names the split a file of an HF datasets folder belongs to, or "": the first path component below
// dir (or below dir/data) when it is a folder, else the file name up to the first "-" or ".".
func splitOf(dir, p string) string {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return ""
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if parts[0] == "data" && len(parts) > 1 {
		parts = parts[1:]
	}
	if len(parts) > 1 {
		if knownSplit(parts[len(parts)-2]) {
			return parts[len(parts)-2]
		}
		parts = parts[len(parts)-1:]
	}
	name := strings.ToLower(parts[0])
	if i := strings.IndexAny(name, "-."); i > 0 {
		if s := name[:i]; knownSplit(s) {
			return s
		}
	}
	return ""
}

// knownSplit reports whether s is a split name the hub uses.
func knownSplit(s string) bool {
	switch s {
	case "train", "validation", "valid", "val", "dev", "test", "eval", "evaluation":
		return true
	}
	return false
}

// isMetaFile reports files of a dataset folder that are not data.
func isMetaFile(name string) bool {
	l := strings.ToLower(name)
	return l == "readme.md" || l == "license" || l == "license.txt" || l == "license.md" || l == "dataset_infos.json" ||
		l == "dataset_info.json" || l == "state.json" || l == ".gitattributes"
}

// multiReader reads files one after another; Path and Line name the file being read.
type multiReader struct {
	files []string
	o     SourceOptions
	dir   string
	i     int
	cur   RowReader
}

func (m *multiReader) Next() (Row, error) {
	for {
		if m.cur == nil {
			if m.i >= len(m.files) {
				return nil, io.EOF
			}
			r, err := openFile(m.files[m.i], m.o)
			if err != nil {
				return nil, err
			}
			m.cur = r
			m.i++
		}
		row, err := m.cur.Next()
		if errors.Is(err, io.EOF) {
			if cerr := m.cur.Close(); cerr != nil {
				return nil, cerr
			}
			m.cur = nil
			continue
		}
		return row, err
	}
}

func (m *multiReader) Line() int {
	if m.cur == nil {
		return 0
	}
	return m.cur.Line()
}

func (m *multiReader) Path() string {
	if m.cur == nil {
		return m.dir
	}
	return m.cur.Path()
}

func (m *multiReader) Close() error {
	if m.cur == nil {
		return nil
	}
	err := m.cur.Close()
	m.cur = nil
	return err
}
