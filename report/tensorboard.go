package report

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// TensorBoard event files, as HF Trainer's --report-to tensorboard writes them and `tensorboard --logdir`
// reads them: a TFRecord stream (uint64 length, masked CRC-32C of the length, the bytes, masked CRC-32C of the
// bytes) of tensorflow.Event protos. The first event carries file_version "brain.Event:2"; each scalar is an
// Event{wall_time, step, summary: Summary{value: [Value{tag, simple_value}]}}. Field numbers are those of
// tensorflow/core/util/event.proto and tensorflow/core/framework/summary.proto.
const (
	eventWallTime    = 1 // double
	eventStep        = 2 // int64
	eventFileVersion = 3 // string
	eventSummary     = 5 // Summary
	summaryValue     = 1 // repeated Summary.Value
	valueTag         = 1 // string
	valueSimpleValue = 2 // float
)

// castagnoli is the CRC-32C table TFRecord uses.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC is TFRecord's masked CRC-32C.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return ((c >> 15) | (c << 17)) + 0xa282ead8
}

// TBWriter appends scalar events to one TensorBoard event file.
type TBWriter struct {
	f    *os.File
	path string
}

// NewTBWriter creates logdir (if needed) and a new event file in it named as TensorFlow names them,
// events.out.tfevents.<unix seconds>.<host>.<pid>, starting with the file-version event.
func NewTBWriter(logdir string, now time.Time) (*TBWriter, error) {
	if err := os.MkdirAll(logdir, 0o755); err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	base := filepath.Join(logdir, fmt.Sprintf("events.out.tfevents.%d.%s.%d", now.Unix(), host, os.Getpid()))
	path := base
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	for i := 1; os.IsExist(err) && i < 100; i++ { // another file this second: never overwrite it
		path = fmt.Sprintf("%s.%d", base, i)
		f, err = os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	w := &TBWriter{f: f, path: path}
	ev := protowire.AppendTag(nil, eventWallTime, protowire.Fixed64Type)
	ev = protowire.AppendFixed64(ev, math.Float64bits(wallTime(now)))
	ev = protowire.AppendTag(ev, eventFileVersion, protowire.BytesType)
	ev = protowire.AppendString(ev, "brain.Event:2")
	if err := w.record(ev); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return w, nil
}

// Path is the event file being written.
func (w *TBWriter) Path() string { return w.path }

func wallTime(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// Scalar appends one scalar (NaN and ±Inf are written as they are; TensorBoard shows them as gaps).
func (w *TBWriter) Scalar(tag string, step int64, value float64, wall time.Time) error {
	val := protowire.AppendTag(nil, valueTag, protowire.BytesType)
	val = protowire.AppendString(val, tag)
	val = protowire.AppendTag(val, valueSimpleValue, protowire.Fixed32Type)
	val = protowire.AppendFixed32(val, math.Float32bits(float32(value)))
	sum := protowire.AppendTag(nil, summaryValue, protowire.BytesType)
	sum = protowire.AppendBytes(sum, val)
	ev := protowire.AppendTag(nil, eventWallTime, protowire.Fixed64Type)
	ev = protowire.AppendFixed64(ev, math.Float64bits(wallTime(wall)))
	ev = protowire.AppendTag(ev, eventStep, protowire.VarintType)
	ev = protowire.AppendVarint(ev, uint64(step))
	ev = protowire.AppendTag(ev, eventSummary, protowire.BytesType)
	ev = protowire.AppendBytes(ev, sum)
	return w.record(ev)
}

// record writes one TFRecord frame.
func (w *TBWriter) record(data []byte) error {
	frame := make([]byte, 0, 16+len(data))
	frame = binary.LittleEndian.AppendUint64(frame, uint64(len(data)))
	frame = binary.LittleEndian.AppendUint32(frame, maskedCRC(frame[:8]))
	frame = append(frame, data...)
	frame = binary.LittleEndian.AppendUint32(frame, maskedCRC(data))
	if _, err := w.f.Write(frame); err != nil {
		return fmt.Errorf("tensorboard: %s: %w", w.path, err)
	}
	return nil
}

// Flush makes what was written visible to a running tensorboard.
func (w *TBWriter) Flush() error { return w.f.Sync() }

// Close closes the event file.
func (w *TBWriter) Close() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("tensorboard: %s: %w", w.path, err)
	}
	return nil
}

// WriteTensorBoard writes a metrics log as a TensorBoard event file in logdir, under the tags HF Trainer uses
// (train/loss, train/learning_rate, train/grad_norm, eval/loss, eval/<metric>) plus train/hift_group, and returns
// the file's path. Steps are counted as HF counts them (steps taken).
func WriteTensorBoard(m *Metrics, logdir string, now time.Time) (string, error) {
	w, err := NewTBWriter(logdir, now)
	if err != nil {
		return "", err
	}
	if err := writeEvents(w, m, now); err != nil {
		w.Close()
		os.Remove(w.path)
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return w.path, nil
}

// writeEvents writes the scalars of every step and evaluation of m.
func writeEvents(w *TBWriter, m *Metrics, now time.Time) error {
	for _, s := range m.Steps {
		step := int64(s.Step + 1)
		for _, sc := range []struct {
			tag string
			v   float64
		}{{"train/loss", s.Loss}, {"train/learning_rate", s.LR}, {"train/grad_norm", s.GradNorm}, {"train/hift_group", float64(s.Group)}} {
			if math.IsNaN(sc.v) {
				continue
			}
			if err := w.Scalar(sc.tag, step, sc.v, now); err != nil {
				return err
			}
		}
	}
	for _, e := range m.Evals {
		keys := make([]string, 0, len(e.Values))
		for k := range e.Values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := w.Scalar("eval/"+strings.TrimPrefix(k, "eval_"), int64(e.Step), e.Values[k], now); err != nil {
				return err
			}
		}
	}
	return nil
}

// TBFollower turns the lines a running trainer appends to metrics.jsonl into TensorBoard events, so that
// `tensorboard --logdir` shows the run while it trains (HF Trainer's --report-to tensorboard).
type TBFollower struct {
	metrics, logdir string
	w               *TBWriter
	off             int64
	Events          int // scalars written so far
}

// NewTBFollower follows metrics (a metrics.jsonl that may not exist yet) into event files in logdir.
func NewTBFollower(metrics, logdir string) *TBFollower {
	return &TBFollower{metrics: metrics, logdir: logdir}
}

// Poll writes the events of the complete lines appended since the last call; the event file is created at the
// first line. When the log shrank (a resumed run cut it back), it is read again from the start into a new event
// file. A line that is not valid JSON is skipped.
func (f *TBFollower) Poll(now time.Time) error {
	st, err := os.Stat(f.metrics)
	if err != nil {
		return nil // not written yet
	}
	if st.Size() < f.off {
		if f.w != nil {
			f.w.Close()
			f.w = nil
		}
		f.off = 0
	}
	if st.Size() == f.off {
		return nil
	}
	file, err := os.Open(f.metrics)
	if err != nil {
		return fmt.Errorf("tensorboard: %w", err)
	}
	defer file.Close()
	buf := make([]byte, st.Size()-f.off)
	n, err := file.ReadAt(buf, f.off)
	if err != nil && n == 0 {
		return fmt.Errorf("tensorboard: %s: %w", f.metrics, err)
	}
	buf = buf[:n]
	end := bytes.LastIndexByte(buf, '\n')
	if end < 0 {
		return nil // no complete line yet
	}
	m := &Metrics{Path: f.metrics}
	for _, line := range bytes.Split(buf[:end], []byte("\n")) {
		var rec map[string]any
		if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &rec) != nil {
			continue
		}
		_ = m.add(rec) // a line without a step is not a metric
	}
	f.off += int64(end + 1)
	if len(m.Steps)+len(m.Evals) == 0 {
		return nil
	}
	if f.w == nil {
		if f.w, err = NewTBWriter(f.logdir, now); err != nil {
			return err
		}
	}
	if err := writeEvents(f.w, m, now); err != nil {
		return err
	}
	f.Events += len(m.Steps) + len(m.Evals)
	return f.w.Flush()
}

// Path is the event file being written ("" before the first line).
func (f *TBFollower) Path() string {
	if f.w == nil {
		return ""
	}
	return f.w.path
}

// Close closes the event file.
func (f *TBFollower) Close() error {
	if f.w == nil {
		return nil
	}
	return f.w.Close()
}
