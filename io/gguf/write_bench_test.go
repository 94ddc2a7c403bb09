package gguf

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestWriteFileEncodesAhead: WriteFile runs Encode ahead of the writer but never more than encodeWindow
// tensors at once, writes every tensor's bytes at its own offset whatever order the Encodes finish in, and
// on an Encode error returns it (naming the tensor) only after every Encode it started has returned.
func TestWriteFileEncodesAhead(t *testing.T) {
	const n = 12
	var running, peak, calls atomic.Int32
	want := make([][]byte, n)
	ts := make([]Tensor, n)
	for i := range ts {
		want[i] = bytes.Repeat([]byte{byte(i + 1)}, 4*(i+3))
		ts[i] = Tensor{Name: fmt.Sprintf("t%d", i), Type: TypeF32, Shape: []int{i + 3}}
		if i == 4 {
			ts[i].Data = want[i] // a tensor with data in the middle of encoded ones
			continue
		}
		ts[i].Encode = func() ([]byte, error) {
			calls.Add(1)
			r := running.Add(1)
			defer running.Add(-1)
			for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
			}
			time.Sleep(time.Duration((n-i)%3) * time.Millisecond) // finish out of order
			return want[i], nil
		}
	}
	path := filepath.Join(t.TempDir(), "a.gguf")
	if err := WriteFile(path, nil, ts); err != nil {
		t.Fatal(err)
	}
	g, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for i, ti := range g.Tensors {
		got, err := g.Data(ti)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[i]) {
			t.Errorf("tensor %s: %d bytes read back differ from the %d encoded", ti.Name, len(got), len(want[i]))
		}
	}
	t.Logf("%d Encodes, at most %d at once (window %d)", calls.Load(), peak.Load(), encodeWindow)
	if calls.Load() != n-1 || peak.Load() > encodeWindow {
		t.Errorf("%d Encodes (want %d), at most %d at once (want ≤ %d)", calls.Load(), n-1, peak.Load(), encodeWindow)
	}

	calls.Store(0)
	boom := errors.New("boom")
	for i := range ts {
		if ts[i].Encode == nil {
			continue
		}
		ts[i].Encode = func() ([]byte, error) {
			calls.Add(1)
			running.Add(1)
			defer running.Add(-1)
			time.Sleep(2 * time.Millisecond)
			if i == 6 {
				return nil, boom
			}
			return want[i], nil
		}
	}
	err = WriteFile(filepath.Join(t.TempDir(), "b.gguf"), nil, ts)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `"t6"`) {
		t.Errorf("WriteFile with a failing Encode: %v, want the error naming t6", err)
	}
	if r := running.Load(); r != 0 {
		t.Errorf("%d Encodes still running after WriteFile returned", r)
	}
	if c := calls.Load(); c > 6+encodeWindow {
		t.Errorf("%d Encodes started after tensor 6 failed, want at most %d", c, 6+encodeWindow)
	}

	ts[3].Encode = func() ([]byte, error) { panic("bad tensor") }
	err = WriteFile(filepath.Join(t.TempDir(), "c.gguf"), nil, ts[:4])
	if err == nil || !strings.Contains(err.Error(), `"t3"`) || !strings.Contains(err.Error(), "bad tensor") {
		t.Errorf("WriteFile with a panicking Encode: %v, want an error naming t3 and the panic", err)
	}
}

// BenchmarkWriteFile writes 16 tensors of 1024×1024 float32 quantized to Q8_0 and Q4_K while the file is
// written, as a quantized export does (the values are generated in Encode, standing in for reading them).
// MB/s is of float32 input.
func BenchmarkWriteFile(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	const rows, cols = 1024, 1024
	src := make([]float32, rows*cols)
	for i := range src {
		src[i] = float32(rng.NormFloat64() * 0.02)
	}
	for _, typ := range []uint32{TypeQ8_0, TypeQ4_K} {
		ts := make([]Tensor, 16)
		for i := range ts {
			ts[i] = Tensor{Name: fmt.Sprintf("w%d", i), Type: typ, Shape: []int{rows, cols}, Encode: func() ([]byte, error) {
				v := make([]float32, len(src))
				copy(v, src)
				return Quantize(typ, v, cols)
			}}
		}
		path := filepath.Join(b.TempDir(), "q.gguf")
		b.Run(TypeName(typ), func(b *testing.B) {
			b.SetBytes(int64(len(ts) * 4 * len(src)))
			for b.Loop() {
				if err := WriteFile(path, nil, ts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
