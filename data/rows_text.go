package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// maxTextFile bounds a text file read as one document.
const maxTextFile = 1 << 30

// textReader yields a plain text file as one row, or one row per non-empty line.
type textReader struct {
	d       *decompressedFile
	sc      *bufio.Scanner
	path    string
	field   string
	perLine bool
	line    int
	done    bool
}

// openText opens a .txt/.md file (optionally .gz/.zst): one row {field: whole text}, or with perLine one row
// per non-empty line.
func openText(path string, o SourceOptions) (RowReader, error) {
	d, err := openDecompressed(path)
	if err != nil {
		return nil, err
	}
	t := &textReader{d: d, path: path, field: o.TextField, perLine: o.TextPerLine}
	if t.perLine {
		t.sc = bufio.NewScanner(d)
		t.sc.Buffer(make([]byte, 64<<10), 64<<20)
	}
	return t, nil
}

func (t *textReader) Next() (Row, error) {
	if !t.perLine {
		if t.done {
			return nil, io.EOF
		}
		t.done = true
		b, err := io.ReadAll(io.LimitReader(t.d, maxTextFile+1))
		if err != nil {
			return nil, fmt.Errorf("data %s: %w", t.path, err)
		}
		if len(b) > maxTextFile {
			return nil, fmt.Errorf("data %s: a text document larger than %d MiB; split it or use --text-per-line", t.path, maxTextFile>>20)
		}
		t.line = 1
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("data %s: not UTF-8 text", t.path)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return nil, io.EOF // an empty document adds nothing
		}
		return Row{t.field: string(b)}, nil
	}
	for t.sc.Scan() {
		t.line++
		b := t.sc.Bytes()
		if t.line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("data %s: line %d: not UTF-8 text", t.path, t.line)
		}
		return Row{t.field: string(b)}, nil
	}
	if err := t.sc.Err(); err != nil {
		return nil, fmt.Errorf("data %s: line %d: %w", t.path, t.line+1, err)
	}
	return nil, io.EOF
}

func (t *textReader) Line() int    { return t.line }
func (t *textReader) Path() string { return t.path }
func (t *textReader) Close() error { return t.d.Close() }

// looksLikeJSONArray reports whether a plain file's first non-space byte is "[".
func looksLikeJSONArray(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return firstByte(bufio.NewReader(f)) == '['
}

// firstByte returns the first non-space byte of r without consuming it (a UTF-8 byte-order mark is skipped).
func firstByte(r *bufio.Reader) byte {
	if b, _ := r.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		r.Discard(3)
	}
	for n := 1; n <= 4096; n++ {
		b, _ := r.Peek(n)
		if len(b) < n {
			return 0
		}
		if c := b[n-1]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c
		}
	}
	return 0
}

// openJSONAny opens a JSON array of objects or JSONL, either optionally compressed.
func openJSONAny(path string) (RowReader, error) {
	d, err := openDecompressed(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(d, 1<<20)
	if firstByte(br) != '[' {
		return &closingReader{RowReader: &jsonlReader{r: br, path: path}, c: d}, nil
	}
	dec := json.NewDecoder(br)
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // the "["
		d.Close()
		return nil, fmt.Errorf("data %s: %w", path, err)
	}
	return &jsonArrayReader{d: d, dec: dec, path: path}, nil
}

// jsonArrayReader streams the objects of a top-level JSON array; Line is the 1-based element index.
type jsonArrayReader struct {
	d    *decompressedFile
	dec  *json.Decoder
	path string
	n    int
	done bool
}

func (j *jsonArrayReader) Next() (Row, error) {
	if j.done {
		return nil, io.EOF
	}
	if !j.dec.More() {
		j.done = true
		if tok, err := j.dec.Token(); err != nil || tok != json.Delim(']') { // the "]"
			if err == nil || errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("data %s: after element %d: the JSON array is not closed with ]", j.path, j.n)
			}
			return nil, fmt.Errorf("data %s: after element %d: %v", j.path, j.n, err)
		}
		return nil, io.EOF
	}
	j.n++
	var row Row
	if err := j.dec.Decode(&row); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return nil, fmt.Errorf("data %s: element %d: not a JSON object (a %s)", j.path, j.n, ute.Value)
		}
		return nil, fmt.Errorf("data %s: element %d: %w", j.path, j.n, err)
	}
	normalizeNumbers(row)
	return row, nil
}

func (j *jsonArrayReader) Line() int    { return j.n }
func (j *jsonArrayReader) Path() string { return j.path }
func (j *jsonArrayReader) Close() error { return j.d.Close() }
