package data

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/hift-go/hift/io/safetensors"
)

func writeDataset(t *testing.T, n, seq int) string {
	t.Helper()
	ids := make([]int64, n*seq)
	for i := range ids {
		ids[i] = int64(i)
	}
	enc, _ := safetensors.EncodeInt64(safetensors.I64, ids)
	lab, _ := safetensors.EncodeInt64(safetensors.I64, func() []int64 {
		l := make([]int64, n)
		for i := range l {
			l[i] = int64(i)
		}
		return l
	}())
	path := filepath.Join(t.TempDir(), "d.safetensors")
	err := safetensors.WriteFile(path, []safetensors.Tensor{
		{Name: "input_ids", DType: safetensors.I64, Shape: []int{n, seq}, Data: enc},
		{Name: "labels", DType: safetensors.I64, Shape: []int{n}, Data: lab},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoaderOrderEpochsAndResume(t *testing.T) {
	ds, err := LoadTensorDataset(writeDataset(t, 5, 3))
	if err != nil {
		t.Fatal(err)
	}
	l, _ := NewLoader(ds, 2, false, false, 0)
	if l.BatchesPerEpoch() != 3 {
		t.Fatalf("batches per epoch %d", l.BatchesPerEpoch())
	}
	var got [][]int64
	for i := 0; i < 4; i++ {
		got = append(got, l.Next()["labels"].Ints)
	}
	want := [][]int64{{0, 1}, {2, 3}, {4}, {0, 1}}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("batch %d = %v, want %v", i, got[i], want[i])
		}
	}
	if b := l.Next(); !slices.Equal(b["input_ids"].Ints, []int64{6, 7, 8, 9, 10, 11}) || !slices.Equal(b["input_ids"].Shape, []int{2, 3}) {
		t.Errorf("input_ids batch %v %v", b["input_ids"].Ints, b["input_ids"].Shape)
	}
	// Shuffled: a resumed loader continues identically.
	a, _ := NewLoader(ds, 2, true, true, 42)
	var seqA [][]int64
	for i := 0; i < 7; i++ {
		seqA = append(seqA, a.Next()["labels"].Ints)
	}
	b, _ := NewLoader(ds, 2, true, true, 42)
	for i := 0; i < 3; i++ {
		b.Next()
	}
	c, _ := NewLoader(ds, 2, true, true, 42)
	if err := c.SetCursor(b.Cursor()); err != nil {
		t.Fatal(err)
	}
	for i := 3; i < 7; i++ {
		if got := c.Next()["labels"].Ints; !slices.Equal(got, seqA[i]) {
			t.Errorf("resumed batch %d = %v, want %v", i, got, seqA[i])
		}
	}
	perm0 := append(append([]int64{}, seqA[0]...), seqA[1]...)
	perm1 := append(append([]int64{}, seqA[2]...), seqA[3]...)
	if slices.Equal(perm0, perm1) {
		t.Errorf("shuffle did not change between epochs: %v", perm0)
	}
}

func TestLoaderErrors(t *testing.T) {
	if _, err := LoadTensorDataset(filepath.Join(t.TempDir(), "missing.safetensors")); err == nil {
		t.Error("missing file: no error")
	}
	ds, err := LoadTensorDataset(writeDataset(t, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewLoader(ds, 0, false, false, 0); err == nil {
		t.Error("batch size 0: no error")
	}
	if _, err := NewLoader(ds, 3, false, true, 0); err == nil {
		t.Error("batch larger than dataset with drop-last: no error")
	}
}

func TestSplitTail(t *testing.T) {
	ds, err := LoadTensorDataset(writeDataset(t, 10, 2))
	if err != nil {
		t.Fatal(err)
	}
	a, b, err := SplitTail(ds, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	if a.N != 8 || b.N != 2 || !slices.Equal(b.Columns["labels"].Ints, []int64{8, 9}) || len(a.Columns["input_ids"].Ints) != 16 {
		t.Errorf("split: %d + %d, held labels %v", a.N, b.N, b.Columns["labels"].Ints)
	}
	if _, _, err := SplitTail(ds, 1); err == nil {
		t.Error("fraction 1: no error")
	}
}
