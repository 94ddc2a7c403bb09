package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

var le = binary.LittleEndian

// checkLen returns the element count of b for dtype d, or an error when d is
// unknown or len(b) is not a whole number of elements.
func checkLen(d DType, b []byte) (int, error) {
	size := d.Size()
	if size == 0 {
		return 0, fmt.Errorf("unknown dtype %q", string(d))
	}
	if len(b)%size != 0 {
		return 0, fmt.Errorf("%d bytes is not a whole number of %s elements (%d bytes each)", len(b), d, size)
	}
	return len(b) / size, nil
}

// DecodeFloat32 converts little-endian data of dtype d to float32. Every float
// and integer dtype is accepted: F64 and large integers are rounded to the
// nearest float32, BOOL gives 0 or 1. The result never aliases b.
func DecodeFloat32(d DType, b []byte) ([]float32, error) {
	n, err := checkLen(d, b)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	switch d {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	case F16:
		for i := range out {
			out[i] = F16ToF32(le.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = BF16ToF32(le.Uint16(b[2*i:]))
		}
	case F8E4M3:
		for i := range out {
			out[i] = f8e4m3ToF32(b[i])
		}
	case F8E5M2:
		for i := range out {
			out[i] = f8e5m2ToF32(b[i])
		}
	case U64:
		for i := range out {
			out[i] = float32(le.Uint64(b[8*i:]))
		}
	default:
		v, err := DecodeInt64(d, b)
		if err != nil {
			return nil, err
		}
		for i, x := range v {
			out[i] = float32(x)
		}
	}
	return out, nil
}

// EncodeFloat32 converts v to little-endian bytes of the float dtype d. BF16
// and F16 round to nearest, ties to even (see F32ToBF16 and F32ToF16): NaN
// stays NaN and values beyond the range become ±Inf. F8 dtypes and integer
// dtypes are refused.
func EncodeFloat32(d DType, v []float32) ([]byte, error) {
	out := make([]byte, len(v)*d.Size())
	switch d {
	case F32:
		for i, x := range v {
			le.PutUint32(out[4*i:], math.Float32bits(x))
		}
	case F64:
		for i, x := range v {
			le.PutUint64(out[8*i:], math.Float64bits(float64(x)))
		}
	case F16:
		for i, x := range v {
			le.PutUint16(out[2*i:], F32ToF16(x))
		}
	case BF16:
		for i, x := range v {
			le.PutUint16(out[2*i:], F32ToBF16(x))
		}
	default:
		if d.Valid() {
			return nil, fmt.Errorf("cannot encode float32 values as %s: only F32, F64, F16 and BF16 are supported", d)
		}
		return nil, fmt.Errorf("unknown dtype %q", string(d))
	}
	return out, nil
}

// DecodeInt64 converts little-endian data of an integer or BOOL dtype d to
// int64 (BOOL gives 0 or 1). Float dtypes are an error, as is a U64 value
// above math.MaxInt64.
func DecodeInt64(d DType, b []byte) ([]int64, error) {
	n, err := checkLen(d, b)
	if err != nil {
		return nil, err
	}
	out := make([]int64, n)
	switch d {
	case I64:
		for i := range out {
			out[i] = int64(le.Uint64(b[8*i:]))
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(le.Uint32(b[4*i:])))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(le.Uint16(b[2*i:])))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(b[i]))
		}
	case U64:
		for i := range out {
			u := le.Uint64(b[8*i:])
			if u > math.MaxInt64 {
				return nil, fmt.Errorf("U64 element %d = %d does not fit in int64", i, u)
			}
			out[i] = int64(u)
		}
	case U32:
		for i := range out {
			out[i] = int64(le.Uint32(b[4*i:]))
		}
	case U16:
		for i := range out {
			out[i] = int64(le.Uint16(b[2*i:]))
		}
	case U8:
		for i := range out {
			out[i] = int64(b[i])
		}
	case Bool:
		for i := range out {
			if b[i] != 0 {
				out[i] = 1
			}
		}
	default:
		return nil, fmt.Errorf("cannot read %s as int64: not an integer dtype", d)
	}
	return out, nil
}

// EncodeInt64 converts v to little-endian bytes of the integer or BOOL dtype
// d. A value outside the range of d is an error (BOOL accepts only 0 and 1).
func EncodeInt64(d DType, v []int64) ([]byte, error) {
	if !d.IsInteger() {
		if d.Valid() {
			return nil, fmt.Errorf("cannot encode int64 values as %s: not an integer dtype", d)
		}
		return nil, fmt.Errorf("unknown dtype %q", string(d))
	}
	lo, hi := intRange(d)
	size := d.Size()
	out := make([]byte, len(v)*size)
	for i, x := range v {
		if x < lo || x > hi {
			return nil, fmt.Errorf("element %d = %d is out of range for %s", i, x, d)
		}
		switch size {
		case 8:
			le.PutUint64(out[8*i:], uint64(x))
		case 4:
			le.PutUint32(out[4*i:], uint32(x))
		case 2:
			le.PutUint16(out[2*i:], uint16(x))
		default:
			out[i] = uint8(x)
		}
	}
	return out, nil
}

// intRange returns the representable range of an integer dtype as int64.
func intRange(d DType) (lo, hi int64) {
	switch d {
	case I64:
		return math.MinInt64, math.MaxInt64
	case U64:
		return 0, math.MaxInt64
	case I32:
		return math.MinInt32, math.MaxInt32
	case I16:
		return math.MinInt16, math.MaxInt16
	case I8:
		return math.MinInt8, math.MaxInt8
	case U32:
		return 0, math.MaxUint32
	case U16:
		return 0, math.MaxUint16
	case U8:
		return 0, math.MaxUint8
	case Bool:
		return 0, 1
	}
	return 0, 0
}
