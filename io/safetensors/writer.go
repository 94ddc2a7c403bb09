package safetensors

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Tensor is one tensor to write: its raw little-endian data and how to read it.
type Tensor struct {
	Name  string
	DType DType
	Shape []int // empty for a scalar
	Data  []byte
}

// WriteFile writes tensors and metadata to path as one safetensors file.
//
// The output is deterministic: "__metadata__" comes first in the header when
// metadata is non-empty (keys sorted, as transformers writes it), then the
// tensors sorted by name, whose data is laid out contiguously in the same
// order; the header is padded with spaces so that 8+N is a multiple of 8.
// Every tensor is checked first (non-empty UTF-8 name other than
// "__metadata__", known dtype, non-negative shape, len(Data) = dtype size ×
// elements, no duplicate names). The file is written to a temporary file in
// the same directory, synced and renamed over path; on any error the
// temporary file is removed and an existing file at path is left untouched.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	sorted, err := prepare(path, tensors, metadata)
	if err != nil {
		return err
	}
	return writeAtomic(path, func(w io.Writer) error { return encodeFile(w, sorted, metadata) })
}

// prepare validates tensors and metadata and returns the tensors sorted by
// name; errors name path.
func prepare(path string, tensors []Tensor, metadata map[string]string) ([]Tensor, error) {
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("safetensors: %s: metadata %q: key and value must be valid UTF-8", path, k)
		}
	}
	sorted := append([]Tensor(nil), tensors...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for i, t := range sorted {
		if err := checkTensor(t); err != nil {
			return nil, fmt.Errorf("safetensors: %s: tensor %q: %w", path, t.Name, err)
		}
		if i > 0 && sorted[i-1].Name == t.Name {
			return nil, fmt.Errorf("safetensors: %s: tensor %q: duplicate name", path, t.Name)
		}
	}
	return sorted, nil
}

// checkTensor validates one tensor to write.
func checkTensor(t Tensor) error {
	switch {
	case t.Name == "":
		return errors.New("empty name")
	case t.Name == metadataKey:
		return fmt.Errorf("%s is reserved for metadata", metadataKey)
	case !utf8.ValidString(t.Name):
		return errors.New("name is not valid UTF-8")
	case !t.DType.Valid():
		return fmt.Errorf("unknown dtype %q", string(t.DType))
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("shape %v has a negative dimension", t.Shape)
		}
	}
	want, ok := byteSize(t.DType, t.Shape)
	if !ok {
		return fmt.Errorf("%s %v is too large (size overflows int64)", t.DType, t.Shape)
	}
	if want != int64(len(t.Data)) {
		return fmt.Errorf("%s %v needs %d bytes of data, got %d", t.DType, t.Shape, want, len(t.Data))
	}
	return nil
}

// encodeHeader renders the padded JSON header for tensors sorted by name.
func encodeHeader(sorted []Tensor, metadata map[string]string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	if len(metadata) > 0 {
		writeJSONString(&b, metadataKey)
		b.WriteString(":{")
		for i, k := range sortedKeys(metadata) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, metadata[k])
		}
		b.WriteByte('}')
	}
	var offset int64
	for i, t := range sorted {
		if i > 0 || len(metadata) > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, t.Name)
		b.WriteString(`:{"dtype":`)
		writeJSONString(&b, string(t.DType))
		b.WriteString(`,"shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		end := offset + int64(len(t.Data))
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	b.WriteByte('}')
	for (8+b.Len())%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes()
}

// writeJSONString writes s as a JSON string without HTML escaping, as the
// reference implementation does.
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)           // a string always encodes
	b.Truncate(b.Len() - 1) // Encode's newline
}

// encodeFile writes header length, header and data.
func encodeFile(w io.Writer, sorted []Tensor, metadata map[string]string) error {
	header := encodeHeader(sorted, metadata)
	var n [8]byte
	le.PutUint64(n[:], uint64(len(header)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	for _, t := range sorted {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// testHookBeforeRename, when set by a test, runs after a temporary file is
// complete and before it is renamed; an error aborts the write.
var testHookBeforeRename func(tmp string) error

// writeAtomic writes path through a temporary file in the same directory
// (see stage and commit). On error the temporary file is removed.
func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := stage(path, write)
	if err != nil {
		return err
	}
	return commit([]string{tmp}, []string{path})
}

// stage writes a temporary file next to path, fsyncs and closes it, and
// returns its name. On error nothing is left behind.
func stage(path string, write func(io.Writer) error) (_ string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("safetensors: %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("safetensors: %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	if err := f.Chmod(0o644); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return tmp, nil
}

// commit renames each staged temporary file over its destination, in order,
// then fsyncs the directories. If the test hook or a rename fails, the
// temporary files not yet renamed are removed.
func commit(tmps, paths []string) error {
	for i, tmp := range tmps {
		err := error(nil)
		if testHookBeforeRename != nil {
			err = testHookBeforeRename(tmp)
		}
		if err == nil {
			err = os.Rename(tmp, paths[i])
		}
		if err != nil {
			for _, t := range tmps[i:] {
				os.Remove(t)
			}
			return fmt.Errorf("safetensors: %s: %w", paths[i], err)
		}
	}
	dirs := map[string]bool{}
	for _, p := range paths {
		if d := filepath.Dir(p); !dirs[d] {
			dirs[d] = true
			syncDir(d)
		}
	}
	return nil
}

// syncDir makes a rename in dir durable. It is best effort: some systems
// and file systems cannot sync a directory, and the data itself is synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
