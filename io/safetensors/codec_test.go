package safetensors

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestDTypeSizeAndParse(t *testing.T) {
	sizes := map[string]int{"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
		"U8": 1, "BOOL": 1, "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1}
	for s, n := range sizes {
		d, err := ParseDType(s)
		if err != nil || d.Size() != n || string(d) != s {
			t.Errorf("ParseDType(%q) = %q (size %d), %v; want size %d", s, d, d.Size(), err, n)
		}
	}
	for _, s := range []string{"", "f32", "FLOAT", "F128"} {
		if _, err := ParseDType(s); err == nil || !strings.Contains(err.Error(), "unknown dtype") {
			t.Errorf("ParseDType(%q) error = %v, want unknown dtype", s, err)
		}
		if DType(s).Size() != 0 {
			t.Errorf("DType(%q).Size() != 0", s)
		}
	}
}

func TestEncodeDecodeFloat32(t *testing.T) {
	v := []float32{0, 1, -2.5, 3.140625, -1024, 1.0 / 1024} // exact in every float dtype
	for _, d := range []DType{F32, F64, F16, BF16} {
		b, err := EncodeFloat32(d, v)
		if err != nil {
			t.Fatalf("EncodeFloat32(%s): %v", d, err)
		}
		if len(b) != len(v)*d.Size() {
			t.Fatalf("EncodeFloat32(%s): %d bytes", d, len(b))
		}
		got, err := DecodeFloat32(d, b)
		if err != nil || !slices.Equal(got, v) {
			t.Errorf("%s round trip = %v, %v; want %v", d, got, err, v)
		}
	}
	if b, _ := EncodeFloat32(BF16, []float32{-2.71828}); le.Uint16(b) != 0xC02E {
		t.Errorf("EncodeFloat32(BF16, -2.71828) = %x", b)
	}
	for _, d := range []DType{I64, Bool, F8E4M3, "X"} {
		if _, err := EncodeFloat32(d, v); err == nil {
			t.Errorf("EncodeFloat32(%s) succeeded", d)
		}
	}
}

func TestDecodeFloat32FromIntegers(t *testing.T) {
	want := []float32{-3, 0, 7}
	for _, d := range []DType{I64, I32, I16, I8} {
		b, err := EncodeInt64(d, []int64{-3, 0, 7})
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeFloat32(d, b)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("DecodeFloat32(%s) = %v, %v", d, got, err)
		}
	}
	got, err := DecodeFloat32(Bool, []byte{0, 1, 2})
	if err != nil || !slices.Equal(got, []float32{0, 1, 1}) {
		t.Errorf("DecodeFloat32(BOOL) = %v, %v", got, err)
	}
	got, err = DecodeFloat32(U64, []byte{0, 0, 0, 0, 0, 0, 0, 0x80})
	if err != nil || got[0] != float32(1<<63) {
		t.Errorf("DecodeFloat32(U64 2^63) = %v, %v", got, err)
	}
}

func TestEncodeDecodeInt64(t *testing.T) {
	for _, c := range []struct {
		d DType
		v []int64
	}{
		{I64, []int64{math.MinInt64, -1, 0, math.MaxInt64}},
		{I32, []int64{math.MinInt32, -1, math.MaxInt32}},
		{I16, []int64{math.MinInt16, 5, math.MaxInt16}},
		{I8, []int64{-128, 0, 127}},
		{U64, []int64{0, math.MaxInt64}},
		{U32, []int64{0, math.MaxUint32}},
		{U16, []int64{0, math.MaxUint16}},
		{U8, []int64{0, 255}},
		{Bool, []int64{0, 1, 1}},
	} {
		b, err := EncodeInt64(c.d, c.v)
		if err != nil {
			t.Fatalf("EncodeInt64(%s, %v): %v", c.d, c.v, err)
		}
		got, err := DecodeInt64(c.d, b)
		if err != nil || !slices.Equal(got, c.v) {
			t.Errorf("%s round trip = %v, %v; want %v", c.d, got, err, c.v)
		}
	}
	for _, c := range []struct {
		d DType
		v int64
	}{{I8, 128}, {I8, -129}, {U8, -1}, {U8, 256}, {U32, -1}, {U64, -1}, {Bool, 2}, {I16, 40000}} {
		if _, err := EncodeInt64(c.d, []int64{c.v}); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("EncodeInt64(%s, %d) error = %v, want out of range", c.d, c.v, err)
		}
	}
	if _, err := EncodeInt64(F32, []int64{1}); err == nil {
		t.Error("EncodeInt64(F32) succeeded")
	}
	if _, err := DecodeInt64(F32, make([]byte, 4)); err == nil || !strings.Contains(err.Error(), "not an integer dtype") {
		t.Errorf("DecodeInt64(F32) error = %v", err)
	}
	if _, err := DecodeInt64(U64, []byte{0, 0, 0, 0, 0, 0, 0, 0x80}); err == nil {
		t.Error("DecodeInt64(U64 2^63) succeeded")
	}
}

func TestDecodeBadLength(t *testing.T) {
	if _, err := DecodeFloat32(F32, make([]byte, 6)); err == nil || !strings.Contains(err.Error(), "whole number") {
		t.Errorf("DecodeFloat32(F32, 6 bytes) error = %v", err)
	}
	if _, err := DecodeInt64(I64, make([]byte, 12)); err == nil {
		t.Error("DecodeInt64(I64, 12 bytes) succeeded")
	}
	if _, err := DecodeFloat32("Q", nil); err == nil || !strings.Contains(err.Error(), "unknown dtype") {
		t.Errorf("DecodeFloat32(unknown) error = %v", err)
	}
}
