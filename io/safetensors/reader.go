package safetensors

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Names of the files Open looks for in a directory, as written by
// transformers' save_pretrained.
const (
	SingleFileName = "model.safetensors"
	IndexFileName  = "model.safetensors.index.json"
)

// Checkpoint is one safetensors file or a sharded set of them, memory-mapped
// read-only and read lazily tensor by tensor. Its methods may be called from
// several goroutines at once, but not concurrently with Close.
type Checkpoint struct {
	path     string // what Open was given, for error messages
	shards   []*shard
	tensors  map[string]tensorRef
	names    []string
	metadata map[string]string
	closed   bool
}

// shard is one mapped file.
type shard struct {
	path   string
	data   []byte
	unmap  func() error
	header *Header
}

// tensorRef locates a tensor: its shard and its header entry.
type tensorRef struct {
	shard int
	info  TensorInfo
}

// Open opens a checkpoint. path may be a .safetensors file, a
// model.safetensors.index.json (any *.json index), or a directory holding
// model.safetensors.index.json (sharded), model.safetensors, exactly one
// *.safetensors.index.json, or exactly one *.safetensors file; anything else
// is an error listing what the directory holds. Every header is validated;
// a sharded checkpoint is also checked against its index (see openIndex).
func Open(path string) (*Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	file, isIndex := path, strings.HasSuffix(path, ".json")
	if st.IsDir() {
		if file, isIndex, err = resolveDir(path); err != nil {
			return nil, err
		}
	}
	if isIndex {
		return openIndex(file)
	}
	s, err := openShard(file)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{path: file, shards: []*shard{s}, metadata: s.header.Metadata}
	c.tensors = make(map[string]tensorRef, len(s.header.Tensors))
	for _, t := range s.header.Tensors {
		c.tensors[t.Name] = tensorRef{shard: 0, info: t}
		c.names = append(c.names, t.Name)
	}
	return c, nil
}

// resolveDir picks the file to open in a directory.
func resolveDir(dir string) (file string, isIndex bool, err error) {
	if isRegular(filepath.Join(dir, IndexFileName)) {
		return filepath.Join(dir, IndexFileName), true, nil
	}
	if isRegular(filepath.Join(dir, SingleFileName)) {
		return filepath.Join(dir, SingleFileName), false, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", false, fmt.Errorf("safetensors: %w", err)
	}
	var files, indexes []string
	for _, e := range entries {
		if !isRegular(filepath.Join(dir, e.Name())) {
			continue
		}
		switch name := e.Name(); {
		case strings.HasSuffix(name, ".safetensors.index.json"):
			indexes = append(indexes, name)
		case strings.HasSuffix(name, ".safetensors"):
			files = append(files, name)
		}
	}
	switch {
	case len(indexes) == 1:
		return filepath.Join(dir, indexes[0]), true, nil
	case len(indexes) == 0 && len(files) == 1:
		return filepath.Join(dir, files[0]), false, nil
	case len(indexes) == 0 && len(files) == 0:
		return "", false, fmt.Errorf("safetensors: %s: no %s, %s or other .safetensors file in the directory", dir, IndexFileName, SingleFileName)
	}
	return "", false, fmt.Errorf("safetensors: %s: no %s or %s, and the directory holds %d index files %q and %d .safetensors files %q: pass the file to open",
		dir, IndexFileName, SingleFileName, len(indexes), indexes, len(files), files)
}

// isRegular reports whether path is a regular file (following symlinks).
func isRegular(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// openShard maps one file and parses its header.
func openShard(path string) (*shard, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("safetensors: %s: not a regular file", path)
	}
	size := st.Size()
	if size < 8 {
		return nil, fmt.Errorf("safetensors: %s: %w", path, shortFileError(size))
	}
	if size > math.MaxInt {
		return nil, fmt.Errorf("safetensors: %s: %d bytes is too large to map on this platform", path, size)
	}
	data, unmap, err := mapFile(f, size)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	h, err := Parse(data, path)
	if err != nil {
		unmap()
		return nil, err
	}
	return &shard{path: path, data: data, unmap: unmap, header: h}, nil
}

// Close unmaps every file. Slices returned by Bytes become invalid; later
// calls that read tensors return an error. Close is idempotent.
func (c *Checkpoint) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for _, s := range c.shards {
		if err := s.unmap(); err != nil {
			errs = append(errs, fmt.Errorf("safetensors: %s: munmap: %w", s.path, err))
		}
		s.data = nil
	}
	return errors.Join(errs...)
}

// Names returns the names of all tensors, sorted.
func (c *Checkpoint) Names() []string { return append([]string(nil), c.names...) }

// Len returns the number of tensors.
func (c *Checkpoint) Len() int { return len(c.names) }

// Info returns the description of the tensor called name.
func (c *Checkpoint) Info(name string) (TensorInfo, bool) {
	r, ok := c.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	info := r.info
	info.Shape = append([]int{}, info.Shape...)
	return info, true
}

// Metadata returns a copy of the string metadata: the "__metadata__" of the
// single file, or of the first shard merged with the index's "metadata"
// (values converted to strings; the shard wins on a shared key). It is empty,
// not nil, when there is none.
func (c *Checkpoint) Metadata() map[string]string {
	m := make(map[string]string, len(c.metadata))
	for k, v := range c.metadata {
		m[k] = v
	}
	return m
}

// Files returns the paths of the files of the checkpoint: the shards in index
// order (sorted by name), or the single file.
func (c *Checkpoint) Files() []string {
	out := make([]string, len(c.shards))
	for i, s := range c.shards {
		out[i] = s.path
	}
	return out
}

// ShardOf returns the base name of the file holding the tensor called name,
// or "" when there is no such tensor.
func (c *Checkpoint) ShardOf(name string) string {
	r, ok := c.tensors[name]
	if !ok {
		return ""
	}
	return filepath.Base(c.shards[r.shard].path)
}

// Bytes returns the raw little-endian data of the tensor called name. The
// slice points into the read-only mapping: it must not be modified and is
// valid only until Close.
func (c *Checkpoint) Bytes(name string) ([]byte, error) {
	r, err := c.lookup(name)
	if err != nil {
		return nil, err
	}
	s := c.shards[r.shard]
	begin := s.header.DataStart + r.info.Offsets[0]
	end := s.header.DataStart + r.info.Offsets[1]
	return s.data[begin:end:end], nil
}

// lookup finds a tensor of an open checkpoint.
func (c *Checkpoint) lookup(name string) (tensorRef, error) {
	if c.closed {
		return tensorRef{}, fmt.Errorf("safetensors: %s: tensor %q: checkpoint is closed", c.path, name)
	}
	r, ok := c.tensors[name]
	if !ok {
		return tensorRef{}, fmt.Errorf("safetensors: %s: tensor %q: %w", c.path, name, ErrNotFound)
	}
	return r, nil
}

// Float32 returns the tensor called name converted to float32 (any float or
// integer dtype; see DecodeFloat32), in a new slice.
func (c *Checkpoint) Float32(name string) ([]float32, error) {
	b, err := c.Bytes(name)
	if err != nil {
		return nil, err
	}
	v, err := DecodeFloat32(c.tensors[name].info.DType, b)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: tensor %q: %w", c.tensors[name].info.File, name, err)
	}
	return v, nil
}

// Int64 returns the tensor called name converted to int64; its dtype must be
// an integer or BOOL dtype (see DecodeInt64).
func (c *Checkpoint) Int64(name string) ([]int64, error) {
	b, err := c.Bytes(name)
	if err != nil {
		return nil, err
	}
	v, err := DecodeInt64(c.tensors[name].info.DType, b)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: tensor %q: %w", c.tensors[name].info.File, name, err)
	}
	return v, nil
}

// Tensor returns a copy of the tensor called name, ready to be written back
// with WriteFile; it stays valid after Close.
func (c *Checkpoint) Tensor(name string) (Tensor, error) {
	b, err := c.Bytes(name)
	if err != nil {
		return Tensor{}, err
	}
	info := c.tensors[name].info
	return Tensor{Name: name, DType: info.DType, Shape: append([]int{}, info.Shape...), Data: append([]byte{}, b...)}, nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
