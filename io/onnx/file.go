package onnx

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
)

// MaxProtoBytes is protobuf's 2 GB message limit: a model whose serialized size would exceed it must keep its
// initializers in an external data file.
const MaxProtoBytes = 1<<31 - 1

// ExternalThreshold is the smallest initializer (in bytes) Write moves to the external data file, as onnx's
// convert_model_to_external_data(size_threshold=1024) does.
const ExternalThreshold = 1024

// externalAlign aligns every external tensor's offset, so onnxruntime can map it directly.
const externalAlign = 4096

// Read parses an ONNX model file. External data stays on disk: TensorFloat32/TensorRaw read it from the
// model's folder when asked. Errors name the file.
func Read(path string) (*ModelProto, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes an ONNX model from bytes; path names it in errors.
func Parse(data []byte, path string) (m *ModelProto, err error) {
	defer func() { // the protobuf runtime should not panic on bad input; guard it anyway
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("onnx: %s: not a valid ONNX model (protobuf decoder failed: %v)", path, r)
		}
	}()
	m = &ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("onnx: %s: not a valid ONNX model: %w", path, err)
	}
	if m.GetGraph() == nil {
		return nil, fmt.Errorf("onnx: %s: no graph (is this an ONNX model file?)", path)
	}
	return m, nil
}

// readExternal reads an external tensor's bytes from location (relative to dir) at offset/length.
func readExternal(t *TensorProto, dir string) ([]byte, error) {
	var loc string
	off, length := int64(0), int64(-1)
	for _, e := range t.GetExternalData() {
		var err error
		switch e.GetKey() {
		case "location":
			loc = e.GetValue()
		case "offset":
			off, err = strconv.ParseInt(e.GetValue(), 10, 64)
		case "length":
			length, err = strconv.ParseInt(e.GetValue(), 10, 64)
		}
		if err != nil {
			return nil, fmt.Errorf("onnx: tensor %q: bad external_data %s=%q", t.GetName(), e.GetKey(), e.GetValue())
		}
	}
	if loc == "" || filepath.IsAbs(loc) || strings.Contains(filepath.ToSlash(loc), "../") {
		return nil, fmt.Errorf("onnx: tensor %q: external data location %q must be a file name relative to the model", t.GetName(), loc)
	}
	path := filepath.Join(dir, loc)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: tensor %q: external data: %w", t.GetName(), err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("onnx: tensor %q: external data: %w", t.GetName(), err)
	}
	if length < 0 {
		length = st.Size() - off
	}
	if off < 0 || length < 0 || off+length > st.Size() {
		return nil, fmt.Errorf("onnx: tensor %q: external data %s: offset %d + length %d is past the end (%d bytes)", t.GetName(), path, off, length, st.Size())
	}
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("onnx: tensor %q: external data %s: %w", t.GetName(), path, err)
	}
	return buf, nil
}

// WriteOptions control Write.
type WriteOptions struct {
	// External moves every initializer of at least ExternalThreshold bytes to DataFile; Write turns it on by
	// itself when the model would exceed MaxProtoBytes.
	External bool
	// DataFile is the external data file's name, beside the model; default "<model file name>_data"
	// (model.onnx → model.onnx_data, as optimum names it).
	DataFile string
}

// Write writes m to path atomically (a temporary file renamed into place; the data file first). With external
// data the initializers' raw_data are moved out of m into the data file (m is modified).
func Write(path string, m *ModelProto, opts WriteOptions) error {
	if !opts.External && proto.Size(m) > MaxProtoBytes {
		opts.External = true
	}
	if opts.External {
		if opts.DataFile == "" {
			opts.DataFile = filepath.Base(path) + "_data"
		}
		if err := writeExternal(filepath.Join(filepath.Dir(path), opts.DataFile), opts.DataFile, m); err != nil {
			return err
		}
	}
	return writeAtomic(path, func(w io.Writer) error { return marshalStreamed(w, m) })
}

// marshalStreamed writes m without building one buffer of the whole model: first m without its initializers,
// then each initializer as a ModelProto{graph: {initializer: [t]}} record. Protobuf parsers merge repeated
// occurrences of an embedded message field (the graph) and append repeated fields, so the file parses as m
// (onnxruntime and Read both do); peak memory is one tensor's encoding instead of the whole model's.
func marshalStreamed(w io.Writer, m *ModelProto) error {
	opts := proto.MarshalOptions{Deterministic: true}
	g := m.GetGraph()
	if g == nil {
		return fmt.Errorf("model has no graph")
	}
	inits := g.Initializer
	g.Initializer = nil
	head, err := opts.Marshal(m)
	g.Initializer = inits
	if err != nil {
		return err
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	var buf []byte // reused: no garbage per tensor
	for _, t := range inits {
		buf, err = opts.MarshalAppend(buf[:0], &ModelProto{Graph: &GraphProto{Initializer: []*TensorProto{t}}})
		if err != nil {
			return fmt.Errorf("initializer %q: %w", t.GetName(), err)
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func writeExternal(path, loc string, m *ModelProto) error {
	return writeAtomic(path, func(w io.Writer) error {
		var off int64
		pad := make([]byte, externalAlign)
		for _, t := range m.GetGraph().GetInitializer() {
			if len(t.RawData) < ExternalThreshold {
				continue
			}
			if r := off % externalAlign; r != 0 {
				if _, err := w.Write(pad[:externalAlign-r]); err != nil {
					return err
				}
				off += externalAlign - r
			}
			n, err := w.Write(t.RawData)
			if err != nil {
				return err
			}
			t.ExternalData = []*StringStringEntryProto{
				{Key: ptr("location"), Value: ptr(loc)},
				{Key: ptr("offset"), Value: ptr(strconv.FormatInt(off, 10))},
				{Key: ptr("length"), Value: ptr(strconv.Itoa(n))},
			}
			t.DataLocation = TensorProto_EXTERNAL.Enum()
			t.RawData = nil
			off += int64(n)
		}
		return nil
	})
}

// writeAtomic writes through a temporary file in path's folder and renames it over path.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return fmt.Errorf("onnx: writing %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("onnx: writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("onnx: writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("onnx: writing %s: %w", path, err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}
