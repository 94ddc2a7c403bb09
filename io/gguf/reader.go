package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// TensorInfo describes one tensor of a GGUF file; Shape is in HF order (slowest axis first).
type TensorInfo struct {
	Name   string
	Type   uint32
	Shape  []int
	Offset uint64 // from the start of the data section
}

// File is an open GGUF file: its metadata and tensor infos; tensor data is read on demand.
type File struct {
	Path      string
	KV        map[string]any // uint32, int32, float32, bool, string, uint64, ... and []any for arrays
	Keys      []string       // in file order
	Tensors   []TensorInfo
	dataStart int64
	f         *os.File
}

// Open reads the header of a GGUF v2/v3 file.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("gguf: %s is a folder, not a GGUF file; give the .gguf file", path)
	}
	g := &File{Path: path, KV: map[string]any{}, f: f}
	if err := g.parse(); err != nil {
		f.Close()
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			size := int64(-1)
			if st, serr := os.Stat(path); serr == nil {
				size = st.Size()
			}
			return nil, fmt.Errorf("gguf: %s: %w: the file ends there, it is truncated (%d bytes)", path, err, size)
		}
		return nil, fmt.Errorf("gguf: %s: %w", path, err)
	}
	return g, nil
}

// Close closes the file.
func (g *File) Close() error { return g.f.Close() }

type countReader struct {
	r *bufio.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (g *File) parse() error {
	cr := &countReader{r: bufio.NewReaderSize(g.f, 1<<20)}
	rd := func(v any) error { return binary.Read(cr, binary.LittleEndian, v) }
	var magic, version uint32
	var nt, nkv uint64
	if err := rd(&magic); err != nil || magic != 0x46554747 {
		return fmt.Errorf("not a GGUF file (no GGUF magic at the start)")
	}
	for _, p := range []any{&version, &nt, &nkv} {
		if err := rd(p); err != nil {
			return fmt.Errorf("header: %w", err)
		}
	}
	if version < 2 || version > 3 {
		return fmt.Errorf("GGUF version %d is not supported (2 and 3 are)", version)
	}
	if nt > 1<<20 || nkv > 1<<20 {
		return fmt.Errorf("implausible counts: %d tensors, %d keys", nt, nkv)
	}
	str := func() (string, error) {
		var n uint64
		if err := rd(&n); err != nil {
			return "", err
		}
		if n > 1<<24 {
			return "", fmt.Errorf("a string of %d bytes is claimed: the file is corrupt", n)
		}
		b := make([]byte, n)
		_, err := io.ReadFull(cr, b)
		return string(b), err
	}
	var value func(t uint32) (any, error)
	value = func(t uint32) (any, error) {
		switch t {
		case 0, 7:
			var v uint8
			err := rd(&v)
			if t == 7 {
				return v != 0, err
			}
			return v, err
		case 1:
			var v int8
			return v, rd(&v)
		case 2:
			var v uint16
			return v, rd(&v)
		case 3:
			var v int16
			return v, rd(&v)
		case typeUint32:
			var v uint32
			return v, rd(&v)
		case typeInt32:
			var v int32
			return v, rd(&v)
		case typeFloat32:
			var v uint32
			err := rd(&v)
			return math.Float32frombits(v), err
		case typeUint64:
			var v uint64
			return v, rd(&v)
		case 11:
			var v int64
			return v, rd(&v)
		case 12:
			var v uint64
			err := rd(&v)
			return math.Float64frombits(v), err
		case typeString:
			return str()
		case typeArray:
			var et uint32
			var n uint64
			if err := rd(&et); err != nil {
				return nil, err
			}
			if err := rd(&n); err != nil {
				return nil, err
			}
			if n > 1<<26 {
				return nil, fmt.Errorf("an array of %d elements is claimed: the file is corrupt", n)
			}
			out := make([]any, 0, n)
			for i := uint64(0); i < n; i++ {
				v, err := value(et)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			return out, nil
		}
		return nil, fmt.Errorf("unknown value type %d: the file is corrupt or from a newer GGUF version", t)
	}
	for i := uint64(0); i < nkv; i++ {
		k, err := str()
		if err != nil {
			if i > 0 {
				return fmt.Errorf("key %d (after %q): %w", i, short(g.Keys[i-1]), err)
			}
			return fmt.Errorf("key %d: %w", i, err)
		}
		var t uint32
		if err := rd(&t); err != nil {
			return fmt.Errorf("key %q: value type: %w", short(k), err)
		}
		v, err := value(t)
		if err != nil {
			return fmt.Errorf("key %q: %w", short(k), err)
		}
		g.KV[k], g.Keys = v, append(g.Keys, k)
	}
	for i := uint64(0); i < nt; i++ {
		name, err := str()
		if err != nil {
			return fmt.Errorf("tensor %d: %w", i, err)
		}
		var nd uint32
		if err := rd(&nd); err != nil {
			return fmt.Errorf("tensor %q: rank: %w", short(name), err)
		}
		if nd > 8 {
			return fmt.Errorf("tensor %q: bad rank %d", short(name), nd)
		}
		ti := TensorInfo{Name: name, Shape: make([]int, nd)}
		for j := 0; j < int(nd); j++ {
			var d uint64
			if err := rd(&d); err != nil {
				return fmt.Errorf("tensor %q: shape: %w", short(name), err)
			}
			ti.Shape[int(nd)-1-j] = int(d)
		}
		if err := rd(&ti.Type); err != nil {
			return fmt.Errorf("tensor %q: type: %w", short(name), err)
		}
		if err := rd(&ti.Offset); err != nil {
			return fmt.Errorf("tensor %q: offset: %w", short(name), err)
		}
		g.Tensors = append(g.Tensors, ti)
	}
	align := int64(Alignment)
	if a, ok := g.KV["general.alignment"].(uint32); ok && a > 0 {
		align = int64(a)
	}
	g.dataStart = (cr.n + align - 1) / align * align
	return nil
}

// short is s for an error message: a garbled file's "name" can be megabytes of binary, so at most its first
// 80 bytes are quoted, with the full length.
func short(s string) string {
	if len(s) <= 80 {
		return s
	}
	return fmt.Sprintf("%s... (%d bytes)", s[:80], len(s))
}

// Data reads a tensor's raw bytes (the float and block types of TypeName; others are refused).
func (g *File) Data(t TensorInfo) ([]byte, error) {
	if _, ok := typeInfos[t.Type]; !ok {
		return nil, fmt.Errorf("gguf: %s: tensor %q: tensor type %d is not supported (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K are)", g.Path, short(t.Name), t.Type)
	}
	n := 1
	for _, d := range t.Shape {
		if d < 0 || (d > 0 && n > (1<<40)/d) {
			return nil, fmt.Errorf("gguf: %s: tensor %q: implausible shape %v", g.Path, short(t.Name), t.Shape)
		}
		n *= d
	}
	size, err := TensorBytes(t.Type, t.Shape)
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: tensor %q: %w", g.Path, short(t.Name), err)
	}
	n = int(size)
	if st, err := g.f.Stat(); err == nil && g.dataStart+int64(t.Offset)+int64(n) > st.Size() {
		return nil, fmt.Errorf("gguf: %s: tensor %q: data runs past the end of the file", g.Path, short(t.Name))
	}
	b := make([]byte, n)
	if _, err := g.f.ReadAt(b, g.dataStart+int64(t.Offset)); err != nil {
		return nil, fmt.Errorf("gguf: %s: tensor %q: %w", g.Path, short(t.Name), err)
	}
	return b, nil
}

// Float32 reads a tensor and decodes it to float32 (dequantizing block types), HF order.
func (g *File) Float32(t TensorInfo) ([]float32, error) {
	b, err := g.Data(t)
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	v, err := Dequantize(t.Type, b, n)
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: tensor %q: %w", g.Path, short(t.Name), err)
	}
	return v, nil
}

// IsGGUF says whether path is a regular file that starts with the GGUF magic, whatever its name ends with (a
// GGUF renamed to .bin is still one); false for folders and unreadable files.
func IsGGUF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return false
	}
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return false
	}
	return binary.LittleEndian.Uint32(magic[:]) == 0x46554747
}
