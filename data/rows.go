package data

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// Row is one dataset record: column name → value (string, float64, int64, bool, []any, map[string]any).
type Row map[string]any

// RowReader streams the rows of a dataset file.
type RowReader interface {
	// Next returns the next row, or io.EOF after the last one.
	Next() (Row, error)
	// Line is the 1-based number of the row Next returned last (the line for JSONL, the record for CSV).
	Line() int
	// Path is the file being read.
	Path() string
	Close() error
}

// Formats of dataset files.
const (
	FormatJSONL   = "jsonl"
	FormatCSV     = "csv"
	FormatTSV     = "tsv"
	FormatParquet = "parquet"
)

// DetectFormat picks the format from the file extension (.jsonl/.json/.ndjson, .csv, .tsv, .parquet).
func DetectFormat(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(strings.TrimSuffix(path, ".gz"))) {
	case ".jsonl", ".json", ".ndjson":
		return FormatJSONL, nil
	case ".csv":
		return FormatCSV, nil
	case ".tsv":
		return FormatTSV, nil
	case ".parquet":
		return FormatParquet, nil
	}
	return "", fmt.Errorf("data %s: unknown dataset format (use .jsonl, .csv, .tsv or .parquet, or name the format)", path)
}

// OpenRows opens a dataset file for streaming; format "" detects it from the extension.
func OpenRows(path, format string) (RowReader, error) {
	if format == "" {
		var err error
		if format, err = DetectFormat(path); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	switch format {
	case FormatJSONL:
		r := bufio.NewReaderSize(f, 1<<20)
		return &jsonlReader{f: f, r: r, path: path}, nil
	case FormatCSV, FormatTSV:
		cr := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
		if format == FormatTSV {
			cr.Comma = '\t'
			cr.LazyQuotes = true
		}
		header, err := cr.Read()
		if err != nil {
			f.Close()
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("data %s: empty file (no header row)", path)
			}
			return nil, fmt.Errorf("data %s: header: %w", path, err)
		}
		return &csvReader{f: f, r: cr, header: header, path: path, line: 1}, nil
	case FormatParquet:
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("data %s: %w", path, err)
		}
		r, n, err := openParquet(f, st.Size())
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("data %s: not a readable parquet file: %w", path, err)
		}
		return &parquetReader{f: f, r: r, path: path, n: n}, nil
	}
	f.Close()
	return nil, fmt.Errorf("data %s: unknown format %q", path, format)
}

type jsonlReader struct {
	f    *os.File
	r    *bufio.Reader
	path string
	line int
}

func (j *jsonlReader) Next() (Row, error) {
	for {
		b, err := j.r.ReadBytes('\n')
		if len(b) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("data %s: line %d: %w", j.path, j.line+1, err)
		}
		j.line++
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("data %s: line %d: not valid UTF-8 (byte %d is 0x%02x)", j.path, j.line, invalidAt(b), b[invalidAt(b)])
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var row Row
		if err := dec.Decode(&row); err != nil {
			return nil, fmt.Errorf("data %s: line %d: not a JSON object: %w", j.path, j.line, err)
		}
		normalizeNumbers(row)
		return row, nil
	}
}

// invalidAt returns the offset of the first byte of b that is not valid UTF-8.
func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return 0
}

// normalizeNumbers turns json.Number into int64 when integral, else float64, recursively.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case Row:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

func (j *jsonlReader) Line() int      { return j.line }
func (j *jsonlReader) Path() string   { return j.path }
func (j *jsonlReader) Close() error   { return j.f.Close() }
func (c *csvReader) Line() int        { return c.line }
func (c *csvReader) Path() string     { return c.path }
func (c *csvReader) Close() error     { return c.f.Close() }
func (p *parquetReader) Line() int    { return p.line }
func (p *parquetReader) Path() string { return p.path }
func (p *parquetReader) Close() error { return p.f.Close() }

type csvReader struct {
	f      *os.File
	r      *csv.Reader
	header []string
	path   string
	line   int
}

// Next returns the record as strings; numbers stay strings (ParseLabel and friends convert).
func (c *csvReader) Next() (Row, error) {
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	c.line++
	if err != nil {
		return nil, fmt.Errorf("data %s: record %d: %w", c.path, c.line, err)
	}
	if len(rec) != len(c.header) {
		return nil, fmt.Errorf("data %s: record %d has %d fields, header has %d", c.path, c.line, len(rec), len(c.header))
	}
	row := Row{}
	for i, h := range c.header {
		row[h] = rec[i]
	}
	if err := checkUTF8("", row); err != nil {
		return nil, fmt.Errorf("data %s: record %d: %w", c.path, c.line, err)
	}
	return row, nil
}

// openParquet opens a parquet file, turning a panic of the parquet library on a malformed file into an error.
func openParquet(f *os.File, size int64) (r *parquet.Reader, n int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, n, err = nil, 0, fmt.Errorf("%v", p)
		}
	}()
	pf, err := parquet.OpenFile(f, size)
	if err != nil {
		return nil, 0, err
	}
	return parquet.NewReader(pf), pf.NumRows(), nil
}

type parquetReader struct {
	f    *os.File
	r    *parquet.Reader
	path string
	line int
	n    int64
}

func (p *parquetReader) Next() (row Row, err error) {
	if int64(p.line) >= p.n {
		return nil, io.EOF
	}
	defer func() {
		if r := recover(); r != nil {
			row, err = nil, fmt.Errorf("data %s: row %d: %v", p.path, p.line, r)
		}
	}()
	m := map[string]any{}
	p.line++
	if err := p.r.Read(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("data %s: row %d: %w", p.path, p.line, err)
	}
	if err := checkUTF8("", Row(m)); err != nil {
		return nil, fmt.Errorf("data %s: row %d: %w", p.path, p.line, err)
	}
	return Row(m), nil
}

// Field reads a column by dotted name ("answers.text" reaches into nested objects).
func (r Row) Field(name string) (any, bool) {
	var cur any = map[string]any(r)
	for _, part := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			if rr, ok2 := cur.(Row); ok2 {
				m = rr
			} else {
				return nil, false
			}
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// String reads a string column.
func (r Row) String(name string) (string, error) {
	v, ok := r.Field(name)
	if !ok {
		return "", fmt.Errorf("no column %q (columns: %s)", name, strings.Join(r.columns(), ", "))
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	}
	return "", fmt.Errorf("column %q is %s, want a string", name, kindOf(v))
}

// Strings reads a list-of-strings column (e.g. words for token classification).
func (r Row) Strings(name string) ([]string, error) {
	v, ok := r.Field(name)
	if !ok {
		return nil, fmt.Errorf("no column %q (columns: %s)", name, strings.Join(r.columns(), ", "))
	}
	list, ok := v.([]any)
	if !ok {
		if s, isStr := v.(string); isStr { // CSV: a JSON array in a cell
			if err := json.Unmarshal([]byte(s), &list); err != nil {
				return nil, fmt.Errorf("column %q: %q is not a list", name, s)
			}
		} else {
			return nil, fmt.Errorf("column %q is %s, want a list", name, kindOf(v))
		}
	}
	out := make([]string, len(list))
	for i, e := range list {
		switch x := e.(type) {
		case string:
			out[i] = x
		case nil, []any, map[string]any:
			// fmt.Sprint would have tokenized a null as the text "<nil>" and a list as "[a b]".
			return nil, fmt.Errorf("column %q: element %d is %s, want a string", name, i, kindOf(x))
		default:
			out[i] = fmt.Sprint(x)
		}
	}
	return out, nil
}

// Number reads a numeric column (CSV strings are parsed).
func (r Row) Number(name string) (float64, error) {
	v, ok := r.Field(name)
	if !ok {
		return 0, fmt.Errorf("no column %q (columns: %s)", name, strings.Join(r.columns(), ", "))
	}
	switch x := v.(type) {
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("column %q: %q is not a number", name, x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("column %q is %s, want a number", name, kindOf(v))
}

// kindOf names a decoded value's type as the data file spells it (null, a list, ...), not as Go does (<nil>,
// []interface {}).
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case string, []byte:
		return "a string"
	case bool:
		return "a boolean"
	case int, int32, int64, float32, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

func (r Row) columns() []string {
	out := make([]string, 0, len(r))
	for k := range r {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}
