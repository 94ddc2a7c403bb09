package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
)

func putFile(t *testing.T, p string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zst(t *testing.T, b []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// readAll returns the rows' values of column col and the file each came from.
func readAll(t *testing.T, path string, o SourceOptions, col string) (vals, files []string) {
	t.Helper()
	r, err := OpenSource(path, o)
	if err != nil {
		t.Fatalf("OpenSource(%s): %v", path, err)
	}
	defer r.Close()
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return vals, files
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		v, _ := row.Field(col)
		vals = append(vals, strings.TrimSpace(asString(v)))
		files = append(files, filepath.Base(r.Path()))
	}
}

func asString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

func TestOpenSourceFormats(t *testing.T) {
	dir := t.TempDir()
	jsonl := []byte("{\"text\": \"a\", \"label\": 1}\n\n{\"text\": \"b\", \"label\": 0}\n")
	array := []byte(" \n[{\"text\": \"a\", \"label\": 1},\n {\"text\": \"b\", \"label\": 0}]\n")
	csvb := []byte("text,label\na,1\nb,0\n")
	cases := map[string][]byte{
		"plain.jsonl":    jsonl,
		"arr.json":       array,
		"arr.json.gz":    gz(array),
		"rows.jsonl.gz":  gz(jsonl),
		"rows.jsonl.zst": zst(t, jsonl),
		"arr.json.zst":   zst(t, array),
		"t.csv.gz":       gz(csvb),
		"t.tsv.zst":      zst(t, []byte("text\tlabel\na\t1\nb\t0\n")),
	}
	for name, b := range cases {
		p := putFile(t, filepath.Join(dir, name), b)
		got, _ := readAll(t, p, SourceOptions{}, "text")
		if strings.Join(got, ",") != "a,b" {
			t.Errorf("%s: texts %q, want [a b]", name, got)
		}
	}
	// JSON numbers become int64 as in JSONL.
	r, _ := OpenSource(filepath.Join(dir, "arr.json.gz"), SourceOptions{})
	row, _ := r.Next()
	r.Close()
	if v, _ := row.Field("label"); v != int64(1) {
		t.Errorf("label of a JSON array element is %T %v, want int64 1", v, v)
	}
}

func TestOpenSourceText(t *testing.T) {
	dir := t.TempDir()
	docs := filepath.Join(dir, "docs")
	putFile(t, filepath.Join(docs, "b.txt"), []byte("second doc\nline two\n"))
	putFile(t, filepath.Join(docs, "a.txt"), []byte("\xef\xbb\xbffirst doc\n"))
	putFile(t, filepath.Join(docs, "sub", "c.md.gz"), gz([]byte("third\n\nfourth\n")))
	putFile(t, filepath.Join(docs, "empty.txt"), []byte("  \n"))
	putFile(t, filepath.Join(docs, "README.md"), []byte("not data"))
	putFile(t, filepath.Join(docs, ".hidden", "x.txt"), []byte("hidden"))
	got, _ := readAll(t, docs, SourceOptions{}, "text")
	want := []string{"first doc", "second doc\nline two", "third\n\nfourth"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("one document per file: %q, want %q", got, want)
	}
	got, files := readAll(t, docs, SourceOptions{TextPerLine: true, TextField: "content"}, "content")
	want = []string{"first doc", "second doc", "line two", "third", "fourth"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("--text-per-line: %q, want %q", got, want)
	}
	if files[0] != "a.txt" || files[4] != "c.md.gz" {
		t.Errorf("Path() while reading: %v", files)
	}
	bad := putFile(t, filepath.Join(dir, "bin.txt"), []byte{0xff, 0xfe, 0x00})
	if _, err := readErr(bad, SourceOptions{}); err == nil || !strings.Contains(err.Error(), "bin.txt: not UTF-8") {
		t.Errorf("binary .txt: %v", err)
	}
}

func readErr(path string, o SourceOptions) (int, error) {
	r, err := OpenSource(path, o)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n := 0
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func TestOpenSourceHFDatasetFolder(t *testing.T) {
	type rec struct {
		Text  string `parquet:"text"`
		Label int64  `parquet:"label"`
	}
	dir := t.TempDir()
	write := func(name string, rows ...rec) {
		p := filepath.Join(dir, "data", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := parquet.WriteFile(p, rows); err != nil {
			t.Fatal(err)
		}
	}
	write("train-00000-of-00002.parquet", rec{"t0", 0}, rec{"t1", 1})
	write("train-00001-of-00002.parquet", rec{"t2", 0})
	write("test-00000-of-00001.parquet", rec{"x0", 1})
	putFile(t, filepath.Join(dir, "README.md"), []byte("---\nconfigs: ...\n---\n"))
	got, files := readAll(t, dir, SourceOptions{}, "text")
	if strings.Join(got, ",") != "t0,t1,t2" || files[2] != "train-00001-of-00002.parquet" {
		t.Errorf("default split train: %q from %q", got, files)
	}
	if got, _ = readAll(t, dir, SourceOptions{Split: "test"}, "text"); strings.Join(got, ",") != "x0" {
		t.Errorf("--split test: %q", got)
	}
	_, err := OpenSource(dir, SourceOptions{Split: "validation"})
	if err == nil || !strings.Contains(err.Error(), `no split "validation"`) || !strings.Contains(err.Error(), "test, train") {
		t.Errorf("missing split: %v", err)
	}
	// Split folders (train/*.jsonl) work the same.
	d2 := t.TempDir()
	putFile(t, filepath.Join(d2, "train", "part-0.jsonl"), []byte(`{"text":"j0"}`+"\n"))
	putFile(t, filepath.Join(d2, "validation", "part-0.jsonl"), []byte(`{"text":"v0"}`+"\n"))
	if got, _ = readAll(t, d2, SourceOptions{Split: "validation"}, "text"); strings.Join(got, ",") != "v0" {
		t.Errorf("split folders: %q", got)
	}
	// save_to_disk folders are refused with what to do instead.
	d3 := t.TempDir()
	putFile(t, filepath.Join(d3, "dataset_dict.json"), []byte(`{"splits":["train"]}`))
	if _, err := OpenSource(d3, SourceOptions{}); err == nil || !strings.Contains(err.Error(), "to_parquet") {
		t.Errorf("save_to_disk folder: %v", err)
	}
}

func TestOpenSourceErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"bad.jsonl.gz", []byte("not gzip at all"), "bad.jsonl.gz: not a gzip file"},
		{"trunc.jsonl.gz", gz([]byte(`{"text":"a"}` + "\n" + strings.Repeat(`{"text":"bbbbbbbbbb"}`+"\n", 200)))[:60], "trunc.jsonl.gz"},
		{"mixed.json", []byte(`[{"text":"a"}, 3]`), "mixed.json: element 2: not a JSON object"},
		{"open.json", []byte(`[{"text":"a"}`), "open.json"},
		{"what.xyz", []byte("?"), "what.xyz: unknown dataset format"},
	} {
		p := putFile(t, filepath.Join(dir, c.name), c.data)
		_, err := readErr(p, SourceOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := OpenSource(t.TempDir(), SourceOptions{}); err == nil || !strings.Contains(err.Error(), "no dataset files") {
		t.Errorf("empty folder: %v", err)
	}
}
