package report

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

type tbEvent struct {
	wall    float64
	step    int64
	version string
	tag     string
	value   float32
}

// readEvents parses a TFRecord event file, checking both CRCs of every record.
func readEvents(t *testing.T, path string) []tbEvent {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []tbEvent
	for len(b) > 0 {
		if len(b) < 12 {
			t.Fatalf("%d trailing bytes", len(b))
		}
		n := binary.LittleEndian.Uint64(b)
		if maskedCRC(b[:8]) != binary.LittleEndian.Uint32(b[8:]) {
			t.Fatal("length CRC mismatch")
		}
		data := b[12 : 12+n]
		if maskedCRC(data) != binary.LittleEndian.Uint32(b[12+n:]) {
			t.Fatal("data CRC mismatch")
		}
		b = b[16+n:]
		out = append(out, decodeEvent(t, data))
	}
	return out
}

func decodeEvent(t *testing.T, b []byte) tbEvent {
	var e tbEvent
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		b = b[n:]
		switch {
		case num == eventWallTime && typ == protowire.Fixed64Type:
			v, m := protowire.ConsumeFixed64(b)
			e.wall, b = math.Float64frombits(v), b[m:]
		case num == eventStep && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			e.step, b = int64(v), b[m:]
		case num == eventFileVersion && typ == protowire.BytesType:
			v, m := protowire.ConsumeString(b)
			e.version, b = v, b[m:]
		case num == eventSummary && typ == protowire.BytesType:
			sum, m := protowire.ConsumeBytes(b)
			b = b[m:]
			_, _, k := protowire.ConsumeTag(sum) // Summary.value
			val, _ := protowire.ConsumeBytes(sum[k:])
			for len(val) > 0 {
				vn, vt, k := protowire.ConsumeTag(val)
				val = val[k:]
				if vn == valueTag && vt == protowire.BytesType {
					s, k := protowire.ConsumeString(val)
					e.tag, val = s, val[k:]
				} else if vn == valueSimpleValue && vt == protowire.Fixed32Type {
					f, k := protowire.ConsumeFixed32(val)
					e.value, val = math.Float32frombits(f), val[k:]
				} else {
					t.Fatalf("unexpected Summary.Value field %d", vn)
				}
			}
		default:
			t.Fatalf("unexpected Event field %d type %d", num, typ)
		}
	}
	return e
}

func TestCRC32C(t *testing.T) {
	// The CRC-32C check value (RFC 3720 appendix B.4 / the standard "123456789" vector).
	if c := crc32.Checksum([]byte("123456789"), castagnoli); c != 0xe3069283 {
		t.Fatalf("crc32c = %#x", c)
	}
	m := maskedCRC([]byte("123456789"))
	unmasked := m - 0xa282ead8
	if (unmasked>>17)|(unmasked<<15) != 0xe3069283 {
		t.Errorf("masking does not invert: %#x", m)
	}
}

func TestWriteTensorBoard(t *testing.T) {
	dir := t.TempDir()
	m, err := ReadMetrics(writeMetrics(t, dir, 12))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 500_000_000)
	path, err := WriteTensorBoard(m, filepath.Join(dir, "runs"), now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(path), "events.out.tfevents.1700000000.") {
		t.Errorf("event file name %s", path)
	}
	evs := readEvents(t, path)
	if evs[0].version != "brain.Event:2" || evs[0].wall != 1700000000.5 {
		t.Fatalf("first event %+v, want file_version brain.Event:2", evs[0])
	}
	byTag := map[string][]tbEvent{}
	for _, e := range evs[1:] {
		byTag[e.tag] = append(byTag[e.tag], e)
	}
	// 12 steps, one with a null loss; 2 evaluations with loss and perplexity.
	for tag, n := range map[string]int{"train/loss": 11, "train/learning_rate": 12, "train/grad_norm": 12, "train/hift_group": 12, "eval/loss": 2, "eval/perplexity": 2, "eval/examples": 2} {
		if len(byTag[tag]) != n {
			t.Errorf("%s: %d events, want %d", tag, len(byTag[tag]), n)
		}
	}
	if e := byTag["train/loss"][0]; e.step != 1 || e.value != 3 {
		t.Errorf("first train/loss %+v, want step 1 value 3", e)
	}
	if e := byTag["eval/loss"][1]; e.step != 12 || fmt.Sprintf("%.2f", e.value) != "1.95" {
		t.Errorf("second eval/loss %+v, want step 12 value 1.95", e)
	}
	w2, err := NewTBWriter(filepath.Join(dir, "runs"), now)
	if err != nil || w2.Path() == path {
		t.Errorf("a second writer in the same second: %v, %s", err, path)
	}
	w2.Close()
	if len(readEvents(t, path)) != len(evs) {
		t.Errorf("the first event file changed")
	}
}

// TestTBFollower: lines appended to metrics.jsonl while a run trains become events at each Poll (a partial
// last line waits for its newline); a log cut back by a resume is read again into a new event file.
func TestTBFollower(t *testing.T) {
	dir := t.TempDir()
	metrics := filepath.Join(dir, MetricsFile)
	logdir := filepath.Join(dir, "runs")
	f := NewTBFollower(metrics, logdir)
	now := time.Unix(1700000000, 0)
	if err := f.Poll(now); err != nil || f.Path() != "" {
		t.Fatalf("before the log exists: %v, %q", err, f.Path())
	}
	line := func(s int) string {
		return fmt.Sprintf(`{"step":%d,"loss":%g,"lr":0.001,"group":%d,"grad_norm_active":1}`+"\n", s, 2-0.1*float64(s), s%2)
	}
	appendTo := func(s string) {
		fh, _ := os.OpenFile(metrics, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		fh.WriteString(s)
		fh.Close()
	}
	appendTo(line(0) + line(1) + `{"step":2,"lo`)
	if err := f.Poll(now); err != nil {
		t.Fatal(err)
	}
	if f.Events != 2 {
		t.Errorf("after 2 complete lines and a partial one: %d events", f.Events)
	}
	appendTo(`ss":1.8,"lr":0.001,"group":0,"grad_norm_active":1}` + "\n" + `{"step":3,"eval_loss":1.5}` + "\n")
	f.Poll(now)
	first := f.Path()
	if f.Events != 4 {
		t.Errorf("after the partial line completed and an eval: %d events", f.Events)
	}
	losses := 0
	for _, e := range readEvents(t, first) {
		if e.tag == "train/loss" {
			losses++
		}
	}
	if losses != 3 {
		t.Errorf("%d train/loss events, want 3", losses)
	}
	// A resume truncates the log: a new event file.
	os.WriteFile(metrics, []byte(line(0)), 0o644)
	f.Poll(now)
	if f.Path() == first || f.Events != 5 {
		t.Errorf("after truncation: file %s (first %s), %d events", f.Path(), first, f.Events)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
