package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// MaxHeaderSize is the largest JSON header accepted, in bytes (the limit of
// the reference implementation).
const MaxHeaderSize = 100_000_000

// metadataKey is the header key holding the free-form string metadata.
const metadataKey = "__metadata__"

// ErrNotFound is wrapped by the errors of Checkpoint methods asked for a
// tensor the checkpoint does not hold.
var ErrNotFound = errors.New("tensor not found")

// TensorInfo describes one tensor of a safetensors file.
type TensorInfo struct {
	Name    string   // name as written in the header (a Hugging Face weight name)
	DType   DType    // element type
	Shape   []int    // dimensions; empty for a scalar
	Offsets [2]int64 // [begin, end) in bytes, relative to the start of the data section
	File    string   // path of the file (shard) holding the tensor
}

// NumElements returns the number of elements, the product of the shape (1 for
// a scalar).
func (t TensorInfo) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// NumBytes returns the size of the tensor data in bytes.
func (t TensorInfo) NumBytes() int64 { return t.Offsets[1] - t.Offsets[0] }

// Header is the parsed and validated header of one safetensors file.
type Header struct {
	Tensors   []TensorInfo      // every tensor, sorted by name
	Metadata  map[string]string // the "__metadata__" entry; nil when absent
	DataStart int64             // file offset of the data section: 8 + header length
	byName    map[string]int
}

// Lookup returns the tensor called name.
func (h *Header) Lookup(name string) (TensorInfo, bool) {
	i, ok := h.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return h.Tensors[i], true
}

// Parse parses and validates the header of a safetensors file whose complete
// contents are data; name is used in error messages and as TensorInfo.File.
// It checks the header length against the file and MaxHeaderSize, that the
// JSON is one object without duplicate keys, that every tensor has a known
// dtype, a non-negative shape and data_offsets [begin, end] inside the data
// section whose length is dtype size × elements, that no two tensors
// overlap, and that "__metadata__" maps strings to strings. Tensor data is
// not read. Every error names the file and, where one is at fault, the tensor.
func Parse(data []byte, name string) (*Header, error) {
	h, err := parse(data, name)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", name, err)
	}
	return h, nil
}

func parse(data []byte, name string) (*Header, error) {
	if len(data) < 8 {
		return nil, shortFileError(int64(len(data)))
	}
	n := le.Uint64(data)
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("header length %d exceeds the %d-byte limit (corrupt or not a safetensors file)", n, MaxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("header length %d exceeds the %d bytes after the length field (truncated or not a safetensors file)", n, len(data)-8)
	}
	dataStart := 8 + int64(n)
	dataLen := int64(len(data)) - dataStart
	obj, err := parseObject(data[8:dataStart], false)
	if dup := (*duplicateKeyError)(nil); errors.As(err, &dup) {
		return nil, fmt.Errorf("tensor %q: the name appears twice in the header", dup.key)
	}
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	h := &Header{DataStart: dataStart, byName: make(map[string]int, len(obj.keys))}
	for i, key := range obj.keys {
		if key == metadataKey {
			md, err := parseStringMap(obj.vals[i], true)
			if err != nil {
				return nil, fmt.Errorf("header: %s must map strings to strings: %w", metadataKey, err)
			}
			h.Metadata = md
			continue
		}
		info, err := parseEntry(key, obj.vals[i], dataLen)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", key, err)
		}
		info.File = name
		h.Tensors = append(h.Tensors, info)
	}
	sort.Slice(h.Tensors, func(i, j int) bool { return h.Tensors[i].Name < h.Tensors[j].Name })
	for i, t := range h.Tensors {
		h.byName[t.Name] = i
	}
	if err := checkOverlap(h.Tensors); err != nil {
		return nil, err
	}
	return h, nil
}

// shortFileError reports a file too short to hold the header length.
func shortFileError(size int64) error {
	return fmt.Errorf("file is %d bytes, shorter than the 8-byte header length (truncated or not a safetensors file)", size)
}

// parseEntry validates one tensor entry of the header.
func parseEntry(name string, raw json.RawMessage, dataLen int64) (TensorInfo, error) {
	obj, err := parseObject(raw, false)
	if err != nil {
		return TensorInfo{}, err
	}
	var (
		info                 TensorInfo
		haveDType, haveShape bool
		offsets              []int64
	)
	info.Name = name
	for i, key := range obj.keys {
		v := obj.vals[i]
		switch key {
		case "dtype":
			var s string
			if !isJSONString(v) || json.Unmarshal(v, &s) != nil {
				return info, errors.New("dtype is not a string")
			}
			d, err := ParseDType(s)
			if err != nil {
				return info, err
			}
			info.DType, haveDType = d, true
		case "shape":
			dims, err := intArray(v)
			if err != nil {
				return info, fmt.Errorf("shape: %w", err)
			}
			info.Shape = make([]int, len(dims))
			for j, d := range dims {
				if d < 0 || int64(int(d)) != d {
					return info, fmt.Errorf("shape %v has an invalid dimension %d", dims, d)
				}
				info.Shape[j] = int(d)
			}
			haveShape = true
		case "data_offsets":
			if offsets, err = intArray(v); err != nil {
				return info, fmt.Errorf("data_offsets: %w", err)
			}
			if offsets == nil {
				offsets = []int64{} // present but empty: reported below
			}
		}
	}
	switch {
	case !haveDType:
		return info, errors.New("missing dtype")
	case !haveShape:
		return info, errors.New("missing shape")
	case offsets == nil:
		return info, errors.New("missing data_offsets")
	case len(offsets) != 2:
		return info, fmt.Errorf("data_offsets %v must have 2 entries", offsets)
	}
	begin, end := offsets[0], offsets[1]
	if begin < 0 || end < begin {
		return info, fmt.Errorf("data_offsets [%d, %d] are not an ordered pair of non-negative offsets", begin, end)
	}
	if end > dataLen {
		return info, fmt.Errorf("data_offsets [%d, %d] end beyond the %d-byte data section (truncated file?)", begin, end, dataLen)
	}
	info.Offsets = [2]int64{begin, end}
	want, ok := byteSize(info.DType, info.Shape)
	if !ok {
		return info, fmt.Errorf("%s %v is too large (size overflows int64)", info.DType, info.Shape)
	}
	if want != end-begin {
		return info, fmt.Errorf("%s %v needs %d bytes but data_offsets [%d, %d] span %d", info.DType, info.Shape, want, begin, end, end-begin)
	}
	return info, nil
}

// intArray decodes a JSON array of integers (null is not an array).
func intArray(raw json.RawMessage) ([]int64, error) {
	var v []int64
	if !isJSONArray(raw) {
		return nil, errors.New("not an array of integers")
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, errors.New("not an array of integers")
	}
	return v, nil
}

// byteSize returns dtype size × product(shape), or false on overflow, an
// unknown dtype or a negative dimension.
func byteSize(d DType, shape []int) (int64, bool) {
	n := int64(d.Size())
	if n == 0 || slices.ContainsFunc(shape, func(dim int) bool { return dim < 0 }) {
		return 0, false
	}
	if slices.Contains(shape, 0) {
		return 0, true
	}
	for _, dim := range shape {
		if int64(dim) > math.MaxInt64/n {
			return 0, false
		}
		n *= int64(dim)
	}
	return n, true
}

// checkOverlap reports two tensors whose byte ranges intersect. Empty ranges
// hold no bytes and cannot overlap anything.
func checkOverlap(tensors []TensorInfo) error {
	idx := make([]int, 0, len(tensors))
	for i, t := range tensors {
		if t.Offsets[1] > t.Offsets[0] {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return tensors[idx[a]].Offsets[0] < tensors[idx[b]].Offsets[0] })
	for k := 1; k < len(idx); k++ {
		prev, cur := tensors[idx[k-1]], tensors[idx[k]]
		if cur.Offsets[0] < prev.Offsets[1] {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q [%d, %d]",
				cur.Name, cur.Offsets[0], cur.Offsets[1], prev.Name, prev.Offsets[0], prev.Offsets[1])
		}
	}
	return nil
}
