// Package gguf reads and writes GGUF v3 files (the llama.cpp model format): metadata key/values, tensor infos
// and 32-byte-aligned tensor data, streamed one tensor at a time. It also holds ggml's block codecs (Q8_0,
// Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K; quant.go, quant_k.go, bit-identical to ggml's reference
// quantizers; the hot loops of Q8_0, Q4_0 and the K-quants also in AVX2, quant_amd64.s, chosen at run time,
// same bytes) and llama-quantize's per-tensor type choice for each file type (mix.go). It knows nothing of
// architectures: callers hand in GGUF names, shapes in HF (row-major) order and data; shapes are reversed
// once here (GGUF lists the fastest axis first). No GoMLX import.
package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
)

// Value types of metadata.
const (
	typeUint32  = 4
	typeInt32   = 5
	typeFloat32 = 6
	typeBool    = 7
	typeString  = 8
	typeArray   = 9
	typeUint64  = 10
)

// Tensor types.
const (
	TypeF32  uint32 = 0
	TypeF16  uint32 = 1
	TypeBF16 uint32 = 30
)

// Alignment is the data alignment written to general.alignment.
const Alignment = 32

// KV is one metadata entry; Value is uint32, int32, float32, bool, string, []string, []int32 or []float32.
type KV struct {
	Key   string
	Value any
}

// Tensor is one tensor: HF-order shape (slowest axis first) and raw little-endian data of Type. When Data is
// nil, Encode produces it while the file is written: WriteFile runs the Encode of the next tensor (on another
// goroutine, so Encode must be safe to run beside another tensor's) while it writes the current one, and
// holds at most encodeWindow encoded tensors (how quantized exports stream: reading and converting one
// tensor overlaps quantizing and writing the one before).
type Tensor struct {
	Name   string
	Type   uint32
	Shape  []int
	Data   []byte
	Encode func() ([]byte, error)
}

// WriteFile writes a GGUF v3 file atomically (temp file + rename). KVs are written in the order given
// (general.alignment is added); tensors keep their order, data aligned to Alignment.
func WriteFile(path string, kvs []KV, tensors []Tensor) (err error) {
	seen := map[string]bool{}
	var sizes []uint64
	for _, t := range tensors {
		if seen[t.Name] {
			return fmt.Errorf("gguf: %s: duplicate tensor %q", path, t.Name)
		}
		seen[t.Name] = true
		size, err := TensorBytes(t.Type, t.Shape)
		if err != nil {
			return fmt.Errorf("gguf: %s: tensor %q: %w", path, t.Name, err)
		}
		sizes = append(sizes, uint64(size))
		if t.Data == nil && t.Encode == nil {
			return fmt.Errorf("gguf: %s: tensor %q has no data", path, t.Name)
		}
		if t.Data != nil && int64(len(t.Data)) != size {
			return fmt.Errorf("gguf: %s: tensor %q: %s %v needs %d bytes, has %d", path, t.Name, TypeName(t.Type), t.Shape, size, len(t.Data))
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := &writer{w: bufio.NewWriterSize(f, 1<<20)}
	kvs = append([]KV{{"general.alignment", uint32(Alignment)}}, kvs...)
	w.u32(0x46554747) // "GGUF"
	w.u32(3)
	w.u64(uint64(len(tensors)))
	w.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		w.str(kv.Key)
		if err := w.value(kv.Value); err != nil {
			return fmt.Errorf("gguf: %s: key %q: %w", path, kv.Key, err)
		}
	}
	var off uint64
	offsets := make([]uint64, len(tensors))
	for i := range tensors {
		offsets[i] = off
		off += sizes[i]
		off = (off + Alignment - 1) / Alignment * Alignment
	}
	for i, t := range tensors {
		w.str(t.Name)
		w.u32(uint32(len(t.Shape)))
		for j := len(t.Shape) - 1; j >= 0; j-- { // fastest axis first
			w.u64(uint64(t.Shape[j]))
		}
		w.u32(t.Type)
		w.u64(offsets[i])
	}
	w.pad()
	ahead := encodeAhead(tensors, encodeWindow)
	defer ahead.stop()
	for i, t := range tensors {
		data := t.Data
		if data == nil {
			if data, err = ahead.result(i); err != nil {
				return fmt.Errorf("gguf: %s: tensor %q: %w", path, t.Name, err)
			}
			if uint64(len(data)) != sizes[i] {
				return fmt.Errorf("gguf: %s: tensor %q: encoded %d bytes, %s %v needs %d", path, t.Name, len(data), TypeName(t.Type), t.Shape, sizes[i])
			}
		}
		w.bytes(data)
		w.pad()
		ahead.done(i)
	}
	if w.err != nil {
		return fmt.Errorf("gguf: %s: %w", path, w.err)
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("gguf: %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

type writer struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (w *writer) bytes(b []byte) {
	if w.err == nil {
		var k int
		k, w.err = w.w.Write(b)
		w.n += int64(k)
	}
}
func (w *writer) u32(v uint32) { w.bytes(binary.LittleEndian.AppendUint32(nil, v)) }
func (w *writer) u64(v uint64) { w.bytes(binary.LittleEndian.AppendUint64(nil, v)) }
func (w *writer) str(s string) { w.u64(uint64(len(s))); w.bytes([]byte(s)) }
func (w *writer) pad() {
	if r := w.n % Alignment; r != 0 {
		w.bytes(make([]byte, Alignment-r))
	}
}

func (w *writer) value(v any) error {
	switch x := v.(type) {
	case uint32:
		w.u32(typeUint32)
		w.u32(x)
	case int32:
		w.u32(typeInt32)
		w.u32(uint32(x))
	case float32:
		w.u32(typeFloat32)
		w.u32(math.Float32bits(x))
	case bool:
		w.u32(typeBool)
		if x {
			w.bytes([]byte{1})
		} else {
			w.bytes([]byte{0})
		}
	case string:
		w.u32(typeString)
		w.str(x)
	case []string:
		w.u32(typeArray)
		w.u32(typeString)
		w.u64(uint64(len(x)))
		for _, s := range x {
			w.str(s)
		}
	case []int32:
		w.u32(typeArray)
		w.u32(typeInt32)
		w.u64(uint64(len(x)))
		for _, i := range x {
			w.u32(uint32(i))
		}
	case []float32:
		w.u32(typeArray)
		w.u32(typeFloat32)
		w.u64(uint64(len(x)))
		for _, f := range x {
			w.u32(math.Float32bits(f))
		}
	default:
		return fmt.Errorf("unsupported value type %T", v)
	}
	return nil
}

// encodeWindow is how many tensors WriteFile encodes ahead of the writer (the one being written included).
const encodeWindow = 2

// pipeline runs Encode for the tensors without Data in file order, at most window of them started and not
// yet written; result(i) waits for tensor i, done(i) says it was written. stop waits for every Encode
// started, so none runs after WriteFile returns (the caller may close the checkpoint Encode reads).
type pipeline struct {
	res  []chan encoded
	slot chan struct{}
	quit chan struct{}
	wg   sync.WaitGroup
}

type encoded struct {
	data []byte
	err  error
}

func encodeAhead(tensors []Tensor, window int) *pipeline {
	p := &pipeline{res: make([]chan encoded, len(tensors)), slot: make(chan struct{}, window), quit: make(chan struct{})}
	for i, t := range tensors {
		if t.Data == nil {
			p.res[i] = make(chan encoded, 1)
		}
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for i, t := range tensors {
			if t.Data != nil {
				continue
			}
			select {
			case p.slot <- struct{}{}:
			case <-p.quit:
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer func() { // a panicking Encode is reported as its tensor's error, as on the caller's goroutine
					if r := recover(); r != nil {
						p.res[i] <- encoded{nil, fmt.Errorf("encoding panicked: %v", r)}
					}
				}()
				data, err := t.Encode()
				p.res[i] <- encoded{data, err}
			}()
		}
	}()
	return p
}

func (p *pipeline) result(i int) ([]byte, error) {
	r := <-p.res[i]
	return r.data, r.err
}

func (p *pipeline) done(i int) {
	if p.res[i] != nil {
		<-p.slot
	}
}

func (p *pipeline) stop() {
	close(p.quit)
	p.wg.Wait()
}
