package safetensors

import "math"

// F32ToBF16 rounds f to the nearest bfloat16, ties to even. Values beyond the
// bfloat16 range become ±Inf as IEEE rounding requires; a NaN stays a NaN (it
// is made quiet and keeps its sign).
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7FFFFFFF > 0x7F800000 { // NaN: rounding could carry it into Inf
		return uint16(b>>16) | 0x0040
	}
	return uint16((b + 0x7FFF + ((b >> 16) & 1)) >> 16)
}

// BF16ToF32 widens a bfloat16 to float32 exactly.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToF16 rounds f to the nearest IEEE binary16, ties to even, producing
// subnormals below 2^-14, ±Inf above the largest finite half (65504; 65520
// and above round to Inf) and a quiet NaN for a NaN (sign and top payload bits
// kept).
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xFF
	mant := b & 0x7FFFFF
	if exp == 0xFF {
		if mant != 0 {
			return sign | 0x7E00 | uint16(mant>>13)
		}
		return sign | 0x7C00
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 0x1F {
		return sign | 0x7C00
	}
	if e <= 0 {
		// Subnormal half (or zero): the value is m·2^(exp-150) and a half
		// subnormal counts units of 2^-24, so shift m right by 14-e.
		if e < -10 {
			return sign // below 2^-25: rounds to zero
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++ // may carry into the smallest normal, which is the right encoding
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1FFF
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is correct, up to and including Inf
	}
	return sign | uint16(h)
}

// F16ToF32 widens an IEEE binary16 to float32 exactly (subnormals, ±Inf and
// NaN included).
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1F
	mant := uint32(h & 0x3FF)
	switch {
	case exp == 0x1F:
		return math.Float32frombits(sign | 0x7F800000 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		e := int32(1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3FF
		return math.Float32frombits(sign | uint32(e+112)<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// f8e5m2ToF32 widens an F8_E5M2 byte, which is the top byte of a binary16.
func f8e5m2ToF32(b uint8) float32 { return F16ToF32(uint16(b) << 8) }

// f8e4m3ToF32 widens an F8_E4M3 (E4M3FN) byte: bias 7, no infinities, and
// S.1111.111 is NaN.
func f8e4m3ToF32(b uint8) float32 {
	neg := b&0x80 != 0
	exp := int((b >> 3) & 0xF)
	mant := float64(b & 7)
	var v float64
	switch {
	case exp == 0xF && mant == 7:
		return float32(math.NaN())
	case exp == 0:
		v = math.Ldexp(mant, -9) // mant/8 · 2^-6
	default:
		v = math.Ldexp(1+mant/8, exp-7)
	}
	if neg {
		v = -v
	}
	return float32(v)
}
