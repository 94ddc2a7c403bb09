package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// isCompressed reports a .gz or .zst file name.
func isCompressed(path string) bool {
	return stripCompression(path) != path
}

// stripCompression removes a .gz/.zst/.zstd suffix.
func stripCompression(path string) string {
	for _, ext := range []string{".gz", ".zst", ".zstd"} {
		if strings.HasSuffix(strings.ToLower(path), ext) {
			return path[:len(path)-len(ext)]
		}
	}
	return path
}

// decompressedFile is an open file read through its decompressor; Close closes both.
type decompressedFile struct {
	io.Reader
	f     *os.File
	close func()
}

func (d *decompressedFile) Close() error {
	if d.close != nil {
		d.close()
	}
	return d.f.Close()
}

// openDecompressed opens path and, by its suffix, a gzip (klauspost/compress/gzip) or zstd
// (klauspost/compress/zstd) stream over it; a plain file is returned as it is.
func openDecompressed(path string) (*decompressedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".gz":
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("data %s: not a gzip file: %w", path, err)
		}
		return &decompressedFile{Reader: &errNamer{zr, path, "gzip"}, f: f, close: func() { zr.Close() }}, nil
	case ".zst", ".zstd":
		zr, err := zstd.NewReader(bufio.NewReaderSize(f, 1<<20), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<31))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("data %s: not a zstd file: %w", path, err)
		}
		return &decompressedFile{Reader: &errNamer{zr, path, "zstd"}, f: f, close: zr.Close}, nil
	}
	return &decompressedFile{Reader: f, f: f}, nil
}

// errNamer says which file and codec a decompression error comes from.
type errNamer struct {
	r     io.Reader
	path  string
	codec string
}

func (e *errNamer) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("%s: corrupt %s data: %w", e.path, e.codec, err)
	}
	return n, err
}

// openCompressedCSV reads a gzip/zstd-compressed CSV or TSV file.
func openCompressedCSV(path, format string) (RowReader, error) {
	d, err := openDecompressed(path)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(bufio.NewReaderSize(d, 1<<20))
	if format == FormatTSV {
		cr.Comma = '\t'
		cr.LazyQuotes = true
	}
	header, err := cr.Read()
	if err != nil {
		d.Close()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("data %s: empty file (no header row)", path)
		}
		return nil, fmt.Errorf("data %s: header: %w", path, err)
	}
	return &closingReader{RowReader: &csvReader{r: cr, header: header, path: path, line: 1}, c: d}, nil
}

// closingReader closes c instead of the wrapped reader's own file (which is nil for decompressed streams).
type closingReader struct {
	RowReader
	c io.Closer
}

func (c *closingReader) Close() error { return c.c.Close() }
