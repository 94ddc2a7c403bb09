package data

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"
)

// spillThreshold is the number of buffered elements after which a builder with a cache folder writes its
// columns to disk.
const spillThreshold = 1 << 20

// spiller writes a builder's columns to files in a cache folder as they grow, so that formatting a dataset
// larger than RAM keeps only the current chunk in memory; the finished columns are memory-mapped.
type spiller struct {
	dir   string
	files map[string]*os.File
}

func newSpiller(dir string) (*spiller, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data cache %s: %w", dir, err)
	}
	return &spiller{dir: dir, files: map[string]*os.File{}}, nil
}

func (s *spiller) file(name string) (*os.File, error) {
	if f, ok := s.files[name]; ok {
		return f, nil
	}
	f, err := os.Create(filepath.Join(s.dir, name+".bin"))
	if err != nil {
		return nil, fmt.Errorf("data cache: %w", err)
	}
	s.files[name] = f
	return f, nil
}

// writeInts appends little-endian int64 values to a column file.
func (s *spiller) writeInts(name string, v []int64) error {
	if len(v) == 0 {
		return nil
	}
	f, err := s.file(name)
	if err != nil {
		return err
	}
	return binary.Write(f, binary.LittleEndian, v)
}

func (s *spiller) writeFloats(name string, v []float32) error {
	if len(v) == 0 {
		return nil
	}
	f, err := s.file(name)
	if err != nil {
		return err
	}
	return binary.Write(f, binary.LittleEndian, v)
}

// flush writes the builder's buffered columns and empties them.
func (b *builder) flush() error {
	if b.spill == nil {
		return nil
	}
	for _, c := range []struct {
		name string
		v    *[]int64
	}{{"input_ids", &b.ids}, {"attention_mask", &b.mask}, {"labels", &b.labels}, {"start_positions", &b.starts}, {"end_positions", &b.ends}} {
		if err := b.spill.writeInts(c.name, *c.v); err != nil {
			return err
		}
		*c.v = (*c.v)[:0]
	}
	if err := b.spill.writeFloats("labels_f", b.floatLabels); err != nil {
		return err
	}
	b.floatLabels = b.floatLabels[:0]
	return nil
}

// maybeFlush spills when the buffered columns grew past the threshold.
func (b *builder) maybeFlush() error {
	limit := spillThreshold
	if b.o.spillAt > 0 {
		limit = b.o.spillAt
	}
	if b.spill == nil || len(b.ids) < limit {
		return nil
	}
	return b.flush()
}

// mapped returns the spilled columns, memory-mapped read-only (valid for the life of the process).
func (s *spiller) mapped() (ints map[string][]int64, floats map[string][]float32, err error) {
	ints, floats = map[string][]int64{}, map[string][]float32{}
	for name, f := range s.files {
		if err := f.Sync(); err != nil {
			return nil, nil, err
		}
		b, err := mapFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("data cache %s: %w", f.Name(), err)
		}
		f.Close()
		if name == "labels_f" {
			floats["labels"] = bytesAs[float32](b)
		} else {
			ints[name] = bytesAs[int64](b)
		}
	}
	return ints, floats, nil
}

// bytesAs views little-endian bytes as a slice of T (the machine is little-endian, as Go's amd64/arm64).
func bytesAs[T int64 | float32](b []byte) []T {
	if len(b) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/int(unsafe.Sizeof(zero)))
}
