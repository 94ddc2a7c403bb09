package torchbin

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hift-go/hift/io/safetensors"
)

// The files under testdata/torchbin are written by torch itself with scripts/make_torch_bins.py.
var testdata = filepath.Join("..", "..", "testdata", "torchbin")

type expectedTensor struct {
	DType  string `json:"dtype"`
	Shape  []int  `json:"shape"`
	Values []any  `json:"values"` // numbers, or "inf"/"-inf"/"nan"
}

func loadExpected(t *testing.T) map[string]expectedTensor {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testdata, "expected.json"))
	if err != nil {
		t.Fatalf("committed fixture missing (regenerate with scripts/make_torch_bins.py): %v", err)
	}
	var e struct {
		Tensors map[string]expectedTensor `json:"tensors"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e.Tensors
}

func value(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		switch x {
		case "inf":
			return math.Inf(1)
		case "-inf":
			return math.Inf(-1)
		}
	}
	return math.NaN()
}

// TestLoadMatchesTorch reads files torch.save wrote (f32/f64/ints/bool, fp16/bf16, a transposed view, a slice
// with a storage offset, two names sharing one storage, a scalar) and compares every value with what torch
// printed for them.
func TestLoadMatchesTorch(t *testing.T) {
	want := loadExpected(t)
	got := map[string]safetensors.Tensor{}
	for _, f := range []string{"small.bin", "half.bin"} {
		ts, err := Load(filepath.Join(testdata, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ts {
			got[x.Name] = x
		}
	}
	if len(got) != len(want) {
		t.Errorf("read %d tensors, torch wrote %d", len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: missing", name)
			continue
		}
		if string(g.DType) != w.DType || !reflect.DeepEqual(append([]int{}, g.Shape...), append([]int{}, w.Shape...)) {
			t.Errorf("%s: %s%v, want %s%v", name, g.DType, g.Shape, w.DType, w.Shape)
			continue
		}
		var vals []float64
		if g.DType.IsFloat() {
			f, err := safetensors.DecodeFloat32(g.DType, g.Data)
			if g.DType == safetensors.F64 { // keep full precision for 1e-300
				f = nil
				for i := 0; i < len(g.Data); i += 8 {
					vals = append(vals, math.Float64frombits(leUint64(g.Data[i:])))
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range f {
				vals = append(vals, float64(x))
			}
		} else {
			ints, err := safetensors.DecodeInt64(g.DType, g.Data)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range ints {
				vals = append(vals, float64(x))
			}
		}
		if len(vals) != len(w.Values) {
			t.Errorf("%s: %d values, want %d", name, len(vals), len(w.Values))
			continue
		}
		for i, v := range vals {
			e := value(w.Values[i])
			if v != e && !(math.IsNaN(v) && math.IsNaN(e)) || math.Signbit(v) != math.Signbit(e) {
				t.Errorf("%s[%d] = %v, torch has %v", name, i, v, e)
			}
		}
	}
}

func leUint64(b []byte) uint64 {
	var x uint64
	for i := 7; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	return x
}

// TestRefusesUnsafePickles: anything beyond tensors and storages is refused, naming the global, before any
// tensor is served; the legacy format gets a message saying how to re-save.
func TestRefusesUnsafePickles(t *testing.T) {
	for _, c := range []struct {
		file, want string
		unsafe     bool
	}{
		{"malicious.bin", "global posix.system", true},
		{"eval_builtin.bin", "eval", true},
		{"legacy.bin", "legacy (pre-1.6", false},
	} {
		_, err := Load(filepath.Join(testdata, c.file))
		if err == nil {
			t.Fatalf("%s was accepted", c.file)
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.file) {
			t.Errorf("%s: error should name the file and %q: %v", c.file, c.want, err)
		}
		if errors.Is(err, ErrUnsafe) != c.unsafe {
			t.Errorf("%s: errors.Is(err, ErrUnsafe) = %v, want %v (%v)", c.file, !c.unsafe, c.unsafe, err)
		}
	}
}

// TestShardedDirMatchesSafetensors: the LLaMA fixture saved by torch as two .bin shards + index reads back
// byte-identical to the fixture's model.safetensors, in the safetensors shard layout.
func TestShardedDirMatchesSafetensors(t *testing.T) {
	ref, err := safetensors.Open(filepath.Join("..", "..", "testdata", "fixtures", "llama_causal_lm", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	dir := filepath.Join(testdata, "llama")
	if !HasTorchWeights(dir) {
		t.Fatalf("HasTorchWeights(%s) = false", dir)
	}
	ck, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.Tensors) != ref.Len() {
		t.Fatalf("%d tensors, fixture has %d", len(ck.Tensors), ref.Len())
	}
	shards := map[string]bool{}
	for _, x := range ck.Tensors {
		b, err := ref.Bytes(x.Name)
		if err != nil {
			t.Fatal(err)
		}
		info, _ := ref.Info(x.Name)
		if !bytes.Equal(b, x.Data) || x.DType != info.DType || !reflect.DeepEqual(x.Shape, info.Shape) {
			t.Errorf("%s differs from the fixture", x.Name)
		}
		shards[ck.ShardOf[x.Name]] = true
	}
	if !shards["model-00001-of-00002.safetensors"] || !shards["model-00002-of-00002.safetensors"] || len(shards) != 2 {
		t.Errorf("shard layout %v, want model-0000{1,2}-of-00002.safetensors", shards)
	}
	// Open serves the same through the safetensors reader, in the same layout.
	op, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	for _, n := range ref.Names() {
		a, _ := ref.Bytes(n)
		b, err := op.Bytes(n)
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("Open: %s differs: %v", n, err)
		}
		if op.ShardOf(n) != ck.ShardOf[n] {
			t.Errorf("Open: %s in %s, want %s", n, op.ShardOf(n), ck.ShardOf[n])
		}
	}
}

// TestMalformedNeverPanics feeds truncated and bit-flipped pickles (inside a valid zip) and truncated files:
// each must end in an error or a result, never a panic.
func TestMalformedNeverPanics(t *testing.T) {
	src, err := zip.OpenReader(filepath.Join(testdata, "small.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	recs := map[string][]byte{}
	for _, f := range src.File {
		rc, _ := f.Open()
		var b bytes.Buffer
		b.ReadFrom(rc)
		rc.Close()
		recs[f.Name] = b.Bytes()
	}
	pkl := recs["small/data.pkl"]
	if pkl == nil {
		t.Fatal("small.bin has no small/data.pkl")
	}
	dir := t.TempDir()
	write := func(name string, p []byte) string {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for n, b := range recs {
			if n == "small/data.pkl" {
				b = p
			}
			w, _ := zw.Create(n)
			w.Write(b)
		}
		zw.Close()
		path := filepath.Join(dir, name)
		os.WriteFile(path, buf.Bytes(), 0o644)
		return path
	}
	n := 0
	for cut := 0; cut < len(pkl); cut += 7 {
		Load(write("cut.bin", pkl[:cut]))
		n++
	}
	for i := 0; i < len(pkl); i += 3 {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			m := append([]byte{}, pkl...)
			m[i] ^= x
			Load(write("flip.bin", m))
			n++
		}
	}
	whole, _ := os.ReadFile(filepath.Join(testdata, "small.bin"))
	for cut := 0; cut < len(whole); cut += 97 {
		p := filepath.Join(dir, "trunc.bin")
		os.WriteFile(p, whole[:cut], 0o644)
		if _, err := Load(p); err == nil {
			t.Errorf("a file truncated to %d bytes was accepted", cut)
		}
		n++
	}
	t.Logf("%d malformed inputs, no panic", n)
}
