package safetensors

import (
	"fmt"
	"strings"
	"testing"
)

// Each corrupt file gives an error naming the file and, where one is at
// fault, the tensor, through both Parse and Open.
func TestCorruptFiles(t *testing.T) {
	hugeLen := make([]byte, 16)
	le.PutUint64(hugeLen, 200_000_000)
	tooLong := make([]byte, 16)
	le.PutUint64(tooLong, 9)
	ent := func(name, dtype, shape, offsets string) string {
		return fmt.Sprintf(`%q:{"dtype":%q,"shape":%s,"data_offsets":%s}`, name, dtype, shape, offsets)
	}
	cases := []struct {
		name      string
		data      []byte
		fragments []string
	}{
		{"empty file", nil, []string{"shorter than the 8-byte header length"}},
		{"truncated length", []byte{1, 0, 0}, []string{"3 bytes, shorter than"}},
		{"header length over the limit", hugeLen, []string{"header length 200000000 exceeds the 100000000-byte limit"}},
		{"header length beyond the file", tooLong, []string{"header length 9 exceeds the 8 bytes"}},
		{"bad JSON", rawFile(`{"a":{"dtype":"F32",`, 0), []string{"invalid JSON"}},
		{"JSON syntax error", rawFile(`{"a":x}`, 0), []string{"invalid JSON", "invalid character 'x'"}},
		{"empty header", rawFile(``, 0), []string{"invalid JSON"}},
		{"not an object", rawFile(`[1,2]`, 0), []string{"expected a JSON object"}},
		{"trailing data", rawFile(`{} {}`, 0), []string{"after the top-level value"}},
		{"entry not an object", rawFile(`{"w":7}`, 0), []string{`tensor "w"`, "expected a JSON object"}},
		{"unknown dtype", rawFile(`{`+ent("w", "F31", "[1]", "[0,4]")+`}`, 4), []string{`tensor "w"`, `unknown dtype "F31"`}},
		{"dtype not a string", rawFile(`{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, "dtype is not a string"}},
		{"missing dtype", rawFile(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, "missing dtype"}},
		{"missing shape", rawFile(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, "missing shape"}},
		{"null shape", rawFile(`{"w":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, "shape: not an array"}},
		{"missing offsets", rawFile(`{"w":{"dtype":"F32","shape":[1]}}`, 4), []string{`tensor "w"`, "missing data_offsets"}},
		{"negative dimension", rawFile(`{`+ent("w", "F32", "[-1]", "[0,4]")+`}`, 4), []string{`tensor "w"`, "invalid dimension -1"}},
		{"fractional dimension", rawFile(`{`+ent("w", "F32", "[1.5]", "[0,4]")+`}`, 4), []string{`tensor "w"`, "shape: not an array of integers"}},
		{"three offsets", rawFile(`{`+ent("w", "F32", "[1]", "[0,4,8]")+`}`, 8), []string{`tensor "w"`, "must have 2 entries"}},
		{"empty offsets", rawFile(`{`+ent("w", "F32", "[1]", "[]")+`}`, 8), []string{`tensor "w"`, "must have 2 entries"}},
		{"reversed offsets", rawFile(`{`+ent("w", "F32", "[0]", "[4,0]")+`}`, 8), []string{`tensor "w"`, "not an ordered pair"}},
		{"negative offset", rawFile(`{`+ent("w", "F32", "[1]", "[-4,0]")+`}`, 8), []string{`tensor "w"`, "not an ordered pair"}},
		{"offsets outside the data", rawFile(`{`+ent("w", "F32", "[2]", "[0,8]")+`}`, 4), []string{`tensor "w"`, "beyond the 4-byte data section"}},
		{"wrong byte length", rawFile(`{`+ent("w", "F32", "[3]", "[0,8]")+`}`, 8), []string{`tensor "w"`, "F32 [3] needs 12 bytes but data_offsets [0, 8] span 8"}},
		{"size overflow", rawFile(`{`+ent("w", "F64", "[4611686018427387904,4]", "[0,8]")+`}`, 8), []string{`tensor "w"`, "overflows"}},
		{"overlap", rawFile(`{`+ent("a", "F32", "[2]", "[0,8]")+","+ent("b", "F32", "[2]", "[4,12]")+`}`, 12), []string{`tensor "b"`, `overlap tensor "a"`}},
		{"contained overlap", rawFile(`{`+ent("a", "F32", "[4]", "[0,16]")+","+ent("b", "F32", "[1]", "[4,8]")+","+ent("c", "F32", "[1]", "[8,12]")+`}`, 16), []string{"overlap"}},
		{"duplicate names", rawFile(`{`+ent("w", "F32", "[1]", "[0,4]")+","+ent("w", "F32", "[1]", "[4,8]")+`}`, 8), []string{`tensor "w": the name appears twice`}},
		{"duplicate field", rawFile(`{"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, `duplicate key "dtype"`}},
		{"metadata not strings", rawFile(`{"__metadata__":{"epoch":3}}`, 0), []string{"__metadata__ must map strings to strings", `"epoch"`}},
		{"metadata not an object", rawFile(`{"__metadata__":"pt"}`, 0), []string{"__metadata__ must map strings to strings"}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		path := writeTemp(t, dir, "bad.safetensors", c.data)
		_, err := Parse(c.data, path)
		t.Logf("%s: %v", c.name, err)
		wantErr(t, c.name+" (Parse)", err, append([]string{"safetensors: " + path + ": "}, c.fragments...)...)
		ck, err := Open(path)
		if err == nil {
			ck.Close()
		}
		wantErr(t, c.name+" (Open)", err, append([]string{path}, c.fragments...)...)
	}
}

func TestParseAccepts(t *testing.T) {
	cases := []struct {
		name   string
		data   []byte
		checks func(t *testing.T, h *Header)
	}{
		{"empty object", rawFile(`{}`, 0), func(t *testing.T, h *Header) {
			if len(h.Tensors) != 0 || h.Metadata != nil || h.DataStart != 10 {
				t.Errorf("got %+v", h)
			}
		}},
		{"padding, unknown fields, null metadata, gaps, trailing bytes",
			rawFile(`{"__metadata__":null,"b":{"dtype":"I8","shape":[2],"data_offsets":[6,8],"extra":[1]},"a":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]}}   `, 12),
			func(t *testing.T, h *Header) {
				if len(h.Tensors) != 2 || h.Tensors[0].Name != "a" || h.Tensors[1].Name != "b" {
					t.Fatalf("tensors %+v, want a then b", h.Tensors)
				}
				if a := h.Tensors[0]; a.NumElements() != 1 || len(a.Shape) != 0 || a.NumBytes() != 1 {
					t.Errorf("scalar a = %+v", a)
				}
				if b, ok := h.Lookup("b"); !ok || b.Offsets != [2]int64{6, 8} || b.File != "x" {
					t.Errorf("Lookup(b) = %+v, %v", b, ok)
				}
			}},
		{"zero-size tensors share offsets", rawFile(`{"a":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"c":{"dtype":"F16","shape":[0],"data_offsets":[4,4]}}`, 8),
			func(t *testing.T, h *Header) {
				if len(h.Tensors) != 3 || h.Tensors[0].NumElements() != 0 {
					t.Errorf("got %+v", h.Tensors)
				}
			}},
	}
	for _, c := range cases {
		h, err := Parse(c.data, "x")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		c.checks(t, h)
	}
}

func TestParseErrorsDoNotLeakHugeInput(t *testing.T) {
	// A long bad header still gives a short message.
	_, err := Parse(rawFile(`{"a":`+strings.Repeat(" ", 1<<16)+`x}`, 0), "f")
	if err == nil || len(err.Error()) > 300 {
		t.Errorf("error = %v", err)
	}
}
