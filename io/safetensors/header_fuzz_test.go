package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzHeader feeds arbitrary bytes to Parse. It must never panic; when Parse
// accepts the input, every tensor must lie inside the data and decode, and
// writing the tensors back out must give a file that parses to the same
// header.
func FuzzHeader(f *testing.F) {
	var buf bytes.Buffer
	sorted, _ := prepare("seed", allDTypes(), nil)
	encodeFile(&buf, sorted, map[string]string{"format": "pt"})
	f.Add(buf.Bytes())
	if b, err := os.ReadFile(filepath.Join(llamaDir, "inputs.safetensors")); err == nil {
		f.Add(b)
	}
	ent := `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	for _, seed := range [][]byte{
		nil,
		{1, 0, 0},
		rawFile(`{}`, 0),
		rawFile(ent, 8),
		rawFile(ent, 4),
		rawFile(`{"__metadata__":{"a":"b"},"x":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`, 2),
		rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12),
		rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8),
		rawFile(`{"w":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]}}`, 8),
		rawFile(`{"w":{"dtype":"Q","shape":[1],"data_offsets":[0,1]}}`, 1),
		rawFile(`{"__metadata__":{"a":1}}`, 0),
		rawFile(`[{"a":`, 0),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Parse(data, "fuzz")
		if err != nil {
			if h != nil {
				t.Fatal("Parse returned a header with an error")
			}
			return
		}
		var tensors []Tensor
		for i, info := range h.Tensors {
			if i > 0 && h.Tensors[i-1].Name >= info.Name {
				t.Fatalf("tensors not sorted: %q, %q", h.Tensors[i-1].Name, info.Name)
			}
			begin, end := h.DataStart+info.Offsets[0], h.DataStart+info.Offsets[1]
			if begin < h.DataStart || end < begin || end > int64(len(data)) {
				t.Fatalf("tensor %q [%d, %d] outside the %d-byte file", info.Name, begin, end, len(data))
			}
			if int64(info.NumElements()*info.DType.Size()) != info.NumBytes() {
				t.Fatalf("tensor %q: %d elements of %s in %d bytes", info.Name, info.NumElements(), info.DType, info.NumBytes())
			}
			b := data[begin:end]
			if _, err := DecodeFloat32(info.DType, b); err != nil {
				t.Fatalf("tensor %q: DecodeFloat32: %v", info.Name, err)
			}
			if info.DType.IsInteger() && info.DType != U64 {
				if _, err := DecodeInt64(info.DType, b); err != nil {
					t.Fatalf("tensor %q: DecodeInt64: %v", info.Name, err)
				}
			}
			tensors = append(tensors, Tensor{Name: info.Name, DType: info.DType, Shape: info.Shape, Data: b})
		}
		// Names may be invalid UTF-8 on read (JSON decoding repairs them),
		// so only inputs the writer accepts are re-encoded.
		sorted, err := prepare("fuzz", tensors, h.Metadata)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := encodeFile(&out, sorted, h.Metadata); err != nil {
			t.Fatal(err)
		}
		h2, err := Parse(out.Bytes(), "fuzz")
		if err != nil {
			t.Fatalf("re-encoded header does not parse: %v", err)
		}
		if len(h2.Tensors) != len(h.Tensors) || (len(h.Metadata) > 0 && !reflect.DeepEqual(h.Metadata, h2.Metadata)) {
			t.Fatalf("re-encoded header differs")
		}
		for i := range h.Tensors {
			a, b := h.Tensors[i], h2.Tensors[i]
			if a.Name != b.Name || a.DType != b.DType || !reflect.DeepEqual(a.Shape, b.Shape) ||
				a.NumBytes() != b.NumBytes() {
				t.Fatalf("tensor %q re-encoded as %+v", a.Name, b)
			}
		}
	})
}

// FuzzIndex feeds arbitrary bytes to the index parser: it must never panic,
// and an accepted index has a non-empty weight_map of strings.
func FuzzIndex(f *testing.F) {
	total, _ := encodeIndex(24, map[string]string{"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"})
	for _, seed := range []string{string(total), `{"weight_map":{"a":"x"}}`, `{"metadata":null,"weight_map":{"a":"x","a":"y"}}`,
		`{"metadata":{"total_size":1e3,"x":[1,{"y":null}]},"weight_map":{"a":"x"}}`, `{"weight_map":{}}`, `[]`, ``} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := parseIndex(data)
		if err != nil {
			return
		}
		if len(idx.weightMap) == 0 || idx.metadata == nil {
			t.Fatalf("accepted index %+v", idx)
		}
	})
}
