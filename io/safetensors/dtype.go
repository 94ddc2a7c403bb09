package safetensors

import "fmt"

// DType is the element type of a tensor, spelled as in the safetensors header
// ("F32", "BF16", "I64", ...).
type DType string

// The element types understood by this package.
const (
	F64    DType = "F64"     // IEEE float64
	F32    DType = "F32"     // IEEE float32
	F16    DType = "F16"     // IEEE float16 (binary16)
	BF16   DType = "BF16"    // bfloat16: the upper half of a float32
	F8E4M3 DType = "F8_E4M3" // 8-bit float, 4 exponent bits, 3 mantissa bits, no infinities (E4M3FN); decode only
	F8E5M2 DType = "F8_E5M2" // 8-bit float, 5 exponent bits, 2 mantissa bits (the top byte of a float16); decode only
	I64    DType = "I64"     // signed 64-bit integer
	I32    DType = "I32"     // signed 32-bit integer
	I16    DType = "I16"     // signed 16-bit integer
	I8     DType = "I8"      // signed 8-bit integer
	U64    DType = "U64"     // unsigned 64-bit integer
	U32    DType = "U32"     // unsigned 32-bit integer
	U16    DType = "U16"     // unsigned 16-bit integer
	U8     DType = "U8"      // unsigned 8-bit integer
	Bool   DType = "BOOL"    // one byte per element, 0 is false and anything else true
)

// dtypeSizes lists every known dtype with its element size in bytes.
var dtypeSizes = map[DType]int{
	F64: 8, F32: 4, F16: 2, BF16: 2, F8E4M3: 1, F8E5M2: 1,
	I64: 8, I32: 4, I16: 2, I8: 1,
	U64: 8, U32: 4, U16: 2, U8: 1,
	Bool: 1,
}

// Size returns the number of bytes per element, or 0 for an unknown dtype.
func (d DType) Size() int { return dtypeSizes[d] }

// Valid reports whether d is a dtype this package knows.
func (d DType) Valid() bool { return d.Size() > 0 }

// IsFloat reports whether d is a floating-point dtype.
func (d DType) IsFloat() bool {
	switch d {
	case F64, F32, F16, BF16, F8E4M3, F8E5M2:
		return true
	}
	return false
}

// IsInteger reports whether d is an integer or boolean dtype.
func (d DType) IsInteger() bool { return d.Valid() && !d.IsFloat() }

// String returns the header spelling of d.
func (d DType) String() string { return string(d) }

// ParseDType returns the DType spelled s in a safetensors header, or an error
// naming s when the dtype is unknown. The match is exact (case-sensitive), as
// in the reference implementation.
func ParseDType(s string) (DType, error) {
	d := DType(s)
	if !d.Valid() {
		return "", fmt.Errorf("unknown dtype %q", s)
	}
	return d, nil
}
