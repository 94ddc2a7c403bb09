package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// allDTypes returns one tensor per known dtype (plus a scalar and an empty
// tensor) with deterministic bytes that are valid values of their dtype.
func allDTypes() []Tensor {
	var ts []Tensor
	for i, d := range []DType{F64, F32, F16, BF16, F8E4M3, F8E5M2, I64, I32, I16, I8, U64, U32, U16, U8, Bool} {
		shape := []int{2, 3}
		data := make([]byte, 6*d.Size())
		for j := range data {
			data[j] = byte(i*31 + j*7)
			if d == Bool {
				data[j] &= 1
			}
		}
		ts = append(ts, Tensor{Name: "t." + strings.ToLower(string(d)), DType: d, Shape: shape, Data: data})
	}
	ts = append(ts,
		Tensor{Name: "scalar", DType: F32, Shape: []int{}, Data: []byte{0, 0, 0x80, 0x3F}},
		Tensor{Name: "empty", DType: F16, Shape: []int{0, 4}, Data: []byte{}},
		Tensor{Name: "Ünïcode <name> & \"quote\"", DType: U8, Shape: []int{1}, Data: []byte{42}})
	return ts
}

func TestRoundTripEveryDType(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "first.safetensors")
	md := map[string]string{"format": "pt", "note": "<hift> & co"}
	tensors := allDTypes()
	if err := WriteFile(first, tensors, md); err != nil {
		t.Fatal(err)
	}
	c, err := Open(first)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Len() != len(tensors) {
		t.Fatalf("read %d tensors, wrote %d", c.Len(), len(tensors))
	}
	for _, want := range tensors {
		info, ok := c.Info(want.Name)
		if !ok || info.DType != want.DType || !slices.Equal(info.Shape, want.Shape) {
			t.Errorf("Info(%q) = %+v, %v; want %s %v", want.Name, info, ok, want.DType, want.Shape)
		}
		b, err := c.Bytes(want.Name)
		if err != nil || !bytes.Equal(b, want.Data) {
			t.Errorf("Bytes(%q) = %v, %v; want %v", want.Name, b, err, want.Data)
		}
		if info.NumElements()*info.DType.Size() != len(want.Data) {
			t.Errorf("%q: NumElements %d", want.Name, info.NumElements())
		}
	}
	if got := c.Metadata(); len(got) != 2 || got["note"] != md["note"] {
		t.Errorf("Metadata() = %v", got)
	}
	// Writing back what was read, in any order, gives the same bytes.
	second := filepath.Join(dir, "second.safetensors")
	var back []Tensor
	names := c.Names()
	slices.Reverse(names)
	for _, n := range names {
		tt, err := c.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		back = append(back, tt)
	}
	if err := WriteFile(second, back, c.Metadata()); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(first)
	b, _ := os.ReadFile(second)
	if !bytes.Equal(a, b) {
		t.Errorf("re-written file differs: %d vs %d bytes", len(a), len(b))
	}
}

func TestWriteFileLayout(t *testing.T) {
	dir := t.TempDir()
	for _, md := range []map[string]string{nil, {"format": "pt", "a": "b"}} {
		path := filepath.Join(dir, "x.safetensors")
		if err := WriteFile(path, []Tensor{f32Tensor(t, "b", 0, 1), f32Tensor(t, "a", 0, 3)}, md); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		n := int(le.Uint64(data))
		header := string(data[8 : 8+n])
		if (8+n)%8 != 0 {
			t.Errorf("8+N = %d is not a multiple of 8", 8+n)
		}
		want := `{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}`
		if md != nil {
			want = `{"__metadata__":{"a":"b","format":"pt"},` + want[1:]
		}
		if strings.TrimRight(header, " ") != want || len(header)-len(want) >= 8 {
			t.Errorf("header = %q, want %q padded", header, want)
		}
		if len(data) != 8+n+16 {
			t.Errorf("file is %d bytes", len(data))
		}
	}
}

func TestWriteFileValidation(t *testing.T) {
	good := f32Tensor(t, "w", 0, 2)
	cases := []struct {
		name      string
		tensors   []Tensor
		md        map[string]string
		fragments []string
	}{
		{"duplicate names", []Tensor{good, good}, nil, []string{`tensor "w": duplicate name`}},
		{"short data", []Tensor{{Name: "w", DType: F32, Shape: []int{3}, Data: make([]byte, 8)}}, nil, []string{`tensor "w"`, "F32 [3] needs 12 bytes of data, got 8"}},
		{"unknown dtype", []Tensor{{Name: "w", DType: "F12", Shape: []int{1}, Data: make([]byte, 4)}}, nil, []string{`unknown dtype "F12"`}},
		{"negative shape", []Tensor{{Name: "w", DType: F32, Shape: []int{-1}, Data: nil}}, nil, []string{"negative dimension"}},
		{"empty name", []Tensor{{Name: "", DType: F32, Shape: []int{1}, Data: make([]byte, 4)}}, nil, []string{"empty name"}},
		{"reserved name", []Tensor{{Name: "__metadata__", DType: F32, Shape: []int{1}, Data: make([]byte, 4)}}, nil, []string{"reserved"}},
		{"invalid UTF-8 name", []Tensor{{Name: "w\xff", DType: F32, Shape: []int{1}, Data: make([]byte, 4)}}, nil, []string{"UTF-8"}},
		{"invalid UTF-8 metadata", []Tensor{good}, map[string]string{"k": "\xfe"}, []string{"metadata", "UTF-8"}},
		{"overflowing shape", []Tensor{{Name: "w", DType: F64, Shape: []int{1 << 62, 4}}}, nil, []string{"overflows"}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		path := filepath.Join(dir, "out.safetensors")
		err := WriteFile(path, c.tensors, c.md)
		wantErr(t, c.name, err, append([]string{path}, c.fragments...)...)
		if names := listDir(t, dir); len(names) != 0 {
			t.Errorf("%s: left %v behind", c.name, names)
		}
	}
}

// A failure after the data is written leaves neither a temporary file nor a
// changed destination.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	if err := WriteFile(path, []Tensor{f32Tensor(t, "w", 0, 2)}, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	var sawTemp string
	testHookBeforeRename = func(tmp string) error {
		sawTemp = tmp
		if _, err := os.Stat(tmp); err != nil {
			t.Errorf("temporary file missing before rename: %v", err)
		}
		return errors.New("disk on fire")
	}
	defer func() { testHookBeforeRename = nil }()
	err := WriteFile(path, []Tensor{f32Tensor(t, "w", 5, 4)}, nil)
	wantErr(t, "hooked write", err, path, "disk on fire")
	if filepath.Dir(sawTemp) != dir {
		t.Errorf("temporary file %q is not in %s", sawTemp, dir)
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"model.safetensors"}) {
		t.Errorf("directory holds %v after a failed write", names)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("failed write changed the existing file")
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}

	_, err = WriteSharded(dir, []Tensor{f32Tensor(t, "a", 0, 2), f32Tensor(t, "b", 0, 2)}, nil, 8)
	wantErr(t, "hooked sharded write", err, "disk on fire")
	if names := listDir(t, dir); !slices.Equal(names, []string{"model.safetensors"}) {
		t.Errorf("directory holds %v after a failed sharded write", names)
	}

	err = WriteFile(filepath.Join(dir, "no", "such", "dir.safetensors"), []Tensor{f32Tensor(t, "w", 0, 1)}, nil)
	wantErr(t, "missing directory", err, "no such file")
}

func readIndex(t *testing.T, dir string) (total int64, weightMap map[string]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, IndexFileName))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Metadata struct {
			TotalSize int64 `json:"total_size"`
		} `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	return idx.Metadata.TotalSize, idx.WeightMap
}

func TestWriteSharded(t *testing.T) {
	dir := t.TempDir()
	// 40 + 16 + 120 + 8 + 8 bytes; limit 64: a,b | c (too big, alone) | d,e
	tensors := []Tensor{f32Tensor(t, "e", 0, 2), f32Tensor(t, "a", 1, 10), f32Tensor(t, "c", 2, 30), f32Tensor(t, "b", 3, 4), f32Tensor(t, "d", 4, 2)}
	md := map[string]string{"format": "pt"}
	files, err := WriteSharded(dir, tensors, md, 64)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", IndexFileName}
	for i := range wantFiles {
		wantFiles[i] = filepath.Join(dir, wantFiles[i])
	}
	if !slices.Equal(files, wantFiles) {
		t.Fatalf("files = %v, want %v", files, wantFiles)
	}
	total, wm := readIndex(t, dir)
	if total != 192 || wm["a"] != "model-00001-of-00003.safetensors" || wm["b"] != "model-00001-of-00003.safetensors" ||
		wm["c"] != "model-00002-of-00003.safetensors" || wm["d"] != "model-00003-of-00003.safetensors" || len(wm) != 5 {
		t.Errorf("index total %d, weight_map %v", total, wm)
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, want := range tensors {
		b, err := c.Bytes(want.Name)
		if err != nil || !bytes.Equal(b, want.Data) {
			t.Errorf("Bytes(%q) differs: %v", want.Name, err)
		}
	}
	if md := c.Metadata(); md["format"] != "pt" || md["total_size"] != "192" {
		t.Errorf("Metadata() = %v", md)
	}
	// Deterministic: writing again gives identical files.
	again := t.TempDir()
	if _, err := WriteSharded(again, tensors, md, 64); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		a, _ := os.ReadFile(f)
		b, _ := os.ReadFile(filepath.Join(again, filepath.Base(f)))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two writes", filepath.Base(f))
		}
	}
}

func TestWriteShardedSingleAndStale(t *testing.T) {
	dir := t.TempDir()
	tensors := []Tensor{f32Tensor(t, "a", 0, 4), f32Tensor(t, "b", 0, 4)}
	if _, err := WriteSharded(dir, tensors, nil, 16); err != nil { // 32 bytes: 2 shards + index
		t.Fatal(err)
	}
	for _, limit := range []int64{0, -1, 32, 1 << 30} {
		files, err := WriteSharded(dir, tensors, nil, limit)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(files, []string{filepath.Join(dir, SingleFileName)}) {
			t.Errorf("limit %d: files %v", limit, files)
		}
		if _, err := os.Stat(filepath.Join(dir, IndexFileName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("limit %d: stale index left behind (%v)", limit, err)
		}
	}
	// And back to sharded: the stale single file goes.
	if _, err := WriteSharded(dir, tensors, nil, 16); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, SingleFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale model.safetensors left behind (%v)", err)
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Files()) != 2 {
		t.Errorf("Files() = %v", c.Files())
	}
	c.Close()

	_, err = WriteSharded(dir, []Tensor{tensors[0], tensors[0]}, nil, 16)
	wantErr(t, "duplicate", err, dir, "duplicate name")
}

// WriteLayout reproduces the shard layout of an input checkpoint.
func TestWriteLayout(t *testing.T) {
	in := shardedDir(t, goodWeightMap) // a.safetensors {w1, w2}, b.safetensors {w3}
	src, err := Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var tuned []Tensor
	for _, n := range src.Names() {
		v, _ := src.Float32(n)
		for i := range v {
			v[i] += 0.5 // "fine-tuned"
		}
		b, _ := EncodeFloat32(F32, v)
		info, _ := src.Info(n)
		tuned = append(tuned, Tensor{Name: n, DType: F32, Shape: info.Shape, Data: b})
	}
	out := filepath.Join(t.TempDir(), "out")
	files, err := WriteLayout(out, tuned, map[string]string{"format": "pt"}, src.ShardOf)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(out, "a.safetensors"), filepath.Join(out, "b.safetensors"), filepath.Join(out, IndexFileName)}
	if !slices.Equal(files, want) {
		t.Fatalf("files = %v, want %v", files, want)
	}
	total, wm := readIndex(t, out)
	if total != 24 || len(wm) != 3 || wm["w1"] != "a.safetensors" || wm["w3"] != "b.safetensors" {
		t.Errorf("index total %d, weight_map %v", total, wm)
	}
	c, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, n := range src.Names() {
		if c.ShardOf(n) != src.ShardOf(n) {
			t.Errorf("ShardOf(%q) = %q, input %q", n, c.ShardOf(n), src.ShardOf(n))
		}
	}
	if v, _ := c.Float32("w2"); !slices.Equal(v, []float32{10.5, 11.5, 12.5}) {
		t.Errorf("w2 = %v", v)
	}

	// One file: no index.
	one := t.TempDir()
	files, err = WriteLayout(one, tuned, nil, func(string) string { return "model.safetensors" })
	if err != nil || !slices.Equal(files, []string{filepath.Join(one, "model.safetensors")}) {
		t.Errorf("single layout: %v, %v", files, err)
	}
	for _, bad := range []string{"", "../x.safetensors", "sub/x.safetensors", "x.bin", ".safetensors", IndexFileName} {
		_, err := WriteLayout(t.TempDir(), tuned, nil, func(string) string { return bad })
		wantErr(t, "shard name "+bad, err, "shard name")
	}
	_, err = WriteLayout(t.TempDir(), nil, nil, src.ShardOf)
	wantErr(t, "no tensors", err, "no tensors")
}
