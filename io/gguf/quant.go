package gguf

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/x448/float16"
)

// Block-quantized tensor types (ggml's numbering).
const (
	TypeQ4_0 uint32 = 2
	TypeQ4_1 uint32 = 3
	TypeQ5_0 uint32 = 6
	TypeQ5_1 uint32 = 7
	TypeQ8_0 uint32 = 8
	TypeQ4_K uint32 = 12
	TypeQ5_K uint32 = 13
	TypeQ6_K uint32 = 14
)

// typeInfo is a tensor type's block: elements per block and bytes per block.
type typeInfo struct {
	name  string
	block int
	bytes int
}

var typeInfos = map[uint32]typeInfo{
	TypeF32:  {"F32", 1, 4},
	TypeF16:  {"F16", 1, 2},
	TypeBF16: {"BF16", 1, 2},
	TypeQ4_0: {"Q4_0", 32, 18},
	TypeQ4_1: {"Q4_1", 32, 20},
	TypeQ5_0: {"Q5_0", 32, 22},
	TypeQ5_1: {"Q5_1", 32, 24},
	TypeQ8_0: {"Q8_0", 32, 34},
	TypeQ4_K: {"Q4_K", 256, 144},
	TypeQ5_K: {"Q5_K", 256, 176},
	TypeQ6_K: {"Q6_K", 256, 210},
}

// TypeName is ggml's name of a tensor type ("Q4_K"), or "type N" for one this package does not know.
func TypeName(t uint32) string {
	if ti, ok := typeInfos[t]; ok {
		return ti.name
	}
	return fmt.Sprintf("type %d", t)
}

// BlockSize is the number of elements in one block of type t (1 for float types, 0 if unknown).
func BlockSize(t uint32) int { return typeInfos[t].block }

// TensorBytes is the size in bytes of a tensor of type t and HF-order shape; rows (the last axis) must be a
// whole number of blocks.
func TensorBytes(t uint32, shape []int) (int64, error) {
	ti, ok := typeInfos[t]
	if !ok {
		return 0, fmt.Errorf("unsupported tensor type %d", t)
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in %v", shape)
		}
		n *= int64(d)
	}
	row := 1
	if len(shape) > 0 {
		row = shape[len(shape)-1]
	}
	if row%ti.block != 0 {
		return 0, fmt.Errorf("%s needs rows that are a multiple of %d elements, shape %v has %d", ti.name, ti.block, shape, row)
	}
	return n / int64(ti.block) * int64(ti.bytes), nil
}

// Quantize encodes vals (rows of rowLen elements, row-major) as tensor type t, rows in parallel. Float types
// are accepted too. It refuses non-finite values and rows that are not whole blocks.
func Quantize(t uint32, vals []float32, rowLen int) ([]byte, error) {
	ti, ok := typeInfos[t]
	if !ok {
		return nil, fmt.Errorf("cannot quantize to tensor type %d", t)
	}
	if rowLen <= 0 || len(vals)%rowLen != 0 {
		return nil, fmt.Errorf("%d values are not whole rows of %d", len(vals), rowLen)
	}
	if rowLen%ti.block != 0 {
		return nil, fmt.Errorf("%s needs rows that are a multiple of %d elements, not %d", ti.name, ti.block, rowLen)
	}
	rows := len(vals) / rowLen
	rowBytes := rowLen / ti.block * ti.bytes
	out := make([]byte, rows*rowBytes)
	enc := encoders[t]
	var bad sync.Once
	var badErr error
	parallelRows(rows, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			x := vals[r*rowLen : (r+1)*rowLen]
			if rowInRange(x, t == TypeF16) {
				enc(x, out[r*rowBytes:(r+1)*rowBytes])
				continue
			}
			for _, v := range x { // find the value to name
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					bad.Do(func() { badErr = fmt.Errorf("row %d holds a non-finite value (%v)", r, v) })
					return
				}
				if t == TypeF16 && math.Abs(float64(v)) >= 65520 { // rounds to ±Inf in F16 (max 65504)
					bad.Do(func() { badErr = fmt.Errorf("row %d holds %g, out of F16's range (max 65504); use f32 or bf16", r, v) })
					return
				}
			}
			enc(x, out[r*rowBytes:(r+1)*rowBytes])
		}
	})
	if badErr != nil {
		return nil, badErr
	}
	return out, nil
}

// rowInRange reports whether every value of x is finite (and, for f16, of magnitude below 65520, which
// rounds to ±Inf): one pass over the bits, the largest magnitude's bits compared once.
func rowInRange(x []float32, f16 bool) bool {
	var m0, m1 uint32
	i := 0
	for ; i+1 < len(x); i += 2 {
		m0 = max(m0, math.Float32bits(x[i])&0x7fffffff)
		m1 = max(m1, math.Float32bits(x[i+1])&0x7fffffff)
	}
	if i < len(x) {
		m0 = max(m0, math.Float32bits(x[i])&0x7fffffff)
	}
	m := max(m0, m1)
	if f16 {
		return m < math.Float32bits(65520)
	}
	return m < 0x7f800000
}

// Dequantize decodes n elements of tensor type t from data (rows in parallel for block types).
func Dequantize(t uint32, data []byte, n int) ([]float32, error) {
	ti, ok := typeInfos[t]
	if !ok {
		return nil, fmt.Errorf("tensor type %d cannot be decoded", t)
	}
	if n%ti.block != 0 || len(data) != n/ti.block*ti.bytes {
		return nil, fmt.Errorf("%s: %d bytes do not hold %d elements", ti.name, len(data), n)
	}
	out := make([]float32, n)
	dec := decoders[t]
	blocks := n / ti.block
	parallelRows(blocks, func(b0, b1 int) {
		for b := b0; b < b1; b++ {
			dec(data[b*ti.bytes:(b+1)*ti.bytes], out[b*ti.block:(b+1)*ti.block])
		}
	})
	return out, nil
}

// parallelRows splits [0, n) into contiguous chunks run on GOMAXPROCS goroutines.
func parallelRows(n int, f func(lo, hi int)) {
	w := runtime.GOMAXPROCS(0)
	if w > n {
		w = n
	}
	if w <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		lo, hi := n*i/w, n*(i+1)/w
		wg.Add(1)
		go func() { defer wg.Done(); f(lo, hi) }()
	}
	wg.Wait()
}

// ParseType maps a name ("q4_k", "Q8_0", "f16") to a tensor type.
func ParseType(s string) (uint32, bool) {
	for t, ti := range typeInfos {
		if strings.EqualFold(ti.name, s) {
			return t, true
		}
	}
	return 0, false
}

// encoders/decoders work on one row (encode) or one block (decode).
var encoders = map[uint32]func(x []float32, y []byte){
	TypeF32:  encF32,
	TypeF16:  encF16,
	TypeBF16: encBF16,
	TypeQ8_0: quantQ8_0,
	TypeQ4_0: quantQ4_0,
	TypeQ4_1: quantQ4_1,
	TypeQ5_0: quantQ5_0,
	TypeQ5_1: quantQ5_1,
	TypeQ4_K: quantQ4K,
	TypeQ5_K: quantQ5K,
	TypeQ6_K: quantQ6K,
}

var decoders = map[uint32]func(y []byte, x []float32){
	TypeF32:  decF32,
	TypeF16:  decF16,
	TypeBF16: decBF16,
	TypeQ8_0: dequantQ8_0,
	TypeQ4_0: dequantQ4_0,
	TypeQ4_1: dequantQ4_1,
	TypeQ5_0: dequantQ5_0,
	TypeQ5_1: dequantQ5_1,
	TypeQ4_K: dequantQ4K,
	TypeQ5_K: dequantQ5K,
	TypeQ6_K: dequantQ6K,
}

func toF16(f float32) uint16    { return uint16(float16.Fromfloat32(f)) }
func fromF16(h uint16) float32  { return float16.Frombits(h).Float32() }
func putU16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }
func getU16(b []byte) uint16    { return uint16(b[0]) | uint16(b[1])<<8 }

func encF32(x []float32, y []byte) {
	for i, v := range x {
		u := math.Float32bits(v)
		y[4*i], y[4*i+1], y[4*i+2], y[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
}
func decF32(y []byte, x []float32) {
	x[0] = math.Float32frombits(uint32(y[0]) | uint32(y[1])<<8 | uint32(y[2])<<16 | uint32(y[3])<<24)
}
func encF16(x []float32, y []byte) {
	for i, v := range x {
		putU16(y[2*i:], toF16(v))
	}
}
func decF16(y []byte, x []float32) { x[0] = fromF16(getU16(y)) }

// encBF16 rounds to nearest even as ggml_compute_fp32_to_bf16 does (NaN kept quiet).
func encBF16(x []float32, y []byte) {
	for i, v := range x {
		u := math.Float32bits(v)
		var h uint16
		if u&0x7fffffff > 0x7f800000 {
			h = uint16(u>>16) | 64
		} else {
			h = uint16((u + (0x7fff + (u>>16)&1)) >> 16)
		}
		putU16(y[2*i:], h)
	}
}
func decBF16(y []byte, x []float32) { x[0] = math.Float32frombits(uint32(getU16(y)) << 16) }

// nearestInt rounds half to even exactly as ggml's nearest_int (valid for |f| < 2^22).
func nearestInt(f float32) int {
	v := float32(f) + 12582912
	return int(math.Float32bits(v)&0x007fffff) - 0x00400000
}

// ---- 32-element blocks ----

func quantQ8_0(x []float32, y []byte) { quantQ8_0With(x, y, hasAVX2) }

// quantQ8_0With is quantQ8_0 with AVX2 block loops (vec: the largest magnitudes, then the rounding, 64 blocks
// per call, the scales in Go) or the portable ones; the bytes are the same.
func quantQ8_0With(x []float32, y []byte, vec bool) {
	if nb := len(x) / 32; vec && nb > 0 {
		var amax, id [64]float32
		for b0 := 0; b0 < nb; b0 += 64 {
			n := min(64, nb-b0)
			q8AbsMaxAVX2(&x[32*b0], &amax[0], n)
			for k := range n {
				d := amax[k] / 127
				id[k] = 0
				if d != 0 {
					id[k] = 1 / d
				}
				putU16(y[34*(b0+k):], toF16(d))
			}
			q8RoundAVX2(&x[32*b0], &id[0], &y[34*b0], n)
		}
		return
	}
	for b := 0; b < len(x)/32; b++ {
		xb, yb := (*[32]float32)(x[32*b:32*b+32]), (*[34]byte)(y[34*b:34*b+34])
		var a0, a1 float32 // two chains; max is exact in any order
		for j := 0; j < 32; j += 2 {
			if v := abs32(xb[j]); v > a0 {
				a0 = v
			}
			if v := abs32(xb[j+1]); v > a1 {
				a1 = v
			}
		}
		amax := max(a0, a1)
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putU16(yb[:], toF16(d))
		for j, v := range xb {
			yb[2+j] = byte(roundAwayInt(float32(v * id)))
		}
	}
}

func dequantQ8_0(y []byte, x []float32) {
	d := fromF16(getU16(y))
	for j := range 32 {
		x[j] = float32(int8(y[2+j])) * d
	}
}

// signedMax is the value of largest magnitude (first one on ties), as ggml's Q4_0/Q5_0 pick it.
func signedMax(xb []float32) float32 {
	var amax, m float32
	for _, v := range xb {
		if amax < abs32(v) {
			amax, m = abs32(v), v
		}
	}
	return m
}

func quantQ4_0(x []float32, y []byte) { quantQ4_0With(x, y, hasAVX2) }

// quantQ4_0With is quantQ4_0 with AVX2 block loops (vec: the largest magnitude and where it first is, then
// the nibbles, 64 blocks per call, the scales in Go) or the portable ones; the bytes are the same.
func quantQ4_0With(x []float32, y []byte, vec bool) {
	if nb := len(x) / 32; vec && nb > 0 {
		var amax, id [64]float32
		var idx [64]int32
		for b0 := 0; b0 < nb; b0 += 64 {
			n := min(64, nb-b0)
			q4MaxAVX2(&x[32*b0], &amax[0], &idx[0], n)
			for k := range n {
				var m float32 // signedMax: the first value of the largest magnitude, 0 for an all-zero block
				if amax[k] > 0 {
					m = x[32*(b0+k)+int(idx[k]&31)]
				}
				d := m / -8
				id[k] = 0
				if d != 0 {
					id[k] = 1 / d
				}
				putU16(y[18*(b0+k):], toF16(d))
			}
			q4RoundAVX2(&x[32*b0], &id[0], &y[18*b0], n)
		}
		return
	}
	for b := 0; b < len(x)/32; b++ {
		xb, yb := x[32*b:32*b+32], y[18*b:18*b+18]
		d := signedMax(xb) / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putU16(yb, toF16(d))
		for j := range 16 {
			q0 := min(15, int(int8(truncF(float32(xb[j]*id)+8.5))))
			q1 := min(15, int(int8(truncF(float32(xb[16+j]*id)+8.5))))
			yb[2+j] = byte(q0) | byte(q1)<<4
		}
	}
}

func dequantQ4_0(y []byte, x []float32) {
	d := fromF16(getU16(y))
	for j := range 16 {
		x[j] = float32(int(y[2+j]&15)-8) * d
		x[16+j] = float32(int(y[2+j]>>4)-8) * d
	}
}

func minMax(xb []float32) (float32, float32) {
	lo, hi := float32(math.MaxFloat32), float32(-math.MaxFloat32)
	for _, v := range xb {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func quantQ4_1(x []float32, y []byte) {
	for b := 0; b < len(x)/32; b++ {
		xb, yb := x[32*b:32*b+32], y[20*b:20*b+20]
		lo, hi := minMax(xb)
		d := (hi - lo) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putU16(yb, toF16(d))
		putU16(yb[2:], toF16(lo))
		for j := range 16 {
			q0 := min(15, int(int8(truncF(float32((xb[j]-lo)*id)+0.5))))
			q1 := min(15, int(int8(truncF(float32((xb[16+j]-lo)*id)+0.5))))
			yb[4+j] = byte(q0) | byte(q1)<<4
		}
	}
}

func dequantQ4_1(y []byte, x []float32) {
	d, m := fromF16(getU16(y)), fromF16(getU16(y[2:]))
	for j := range 16 {
		x[j] = float32(float32(y[4+j]&15)*d) + m
		x[16+j] = float32(float32(y[4+j]>>4)*d) + m
	}
}

func quantQ5_0(x []float32, y []byte) {
	for b := 0; b < len(x)/32; b++ {
		xb, yb := x[32*b:32*b+32], y[22*b:22*b+22]
		d := signedMax(xb) / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putU16(yb, toF16(d))
		var qh uint32
		for j := range 16 {
			q0 := uint8(min(31, int(int8(truncF(float32(xb[j]*id)+16.5)))))
			q1 := uint8(min(31, int(int8(truncF(float32(xb[16+j]*id)+16.5)))))
			yb[6+j] = q0&15 | (q1&15)<<4
			qh |= uint32(q0>>4&1) << j
			qh |= uint32(q1>>4&1) << (j + 16)
		}
		yb[2], yb[3], yb[4], yb[5] = byte(qh), byte(qh>>8), byte(qh>>16), byte(qh>>24)
	}
}

func dequantQ5_0(y []byte, x []float32) {
	d := fromF16(getU16(y))
	qh := uint32(y[2]) | uint32(y[3])<<8 | uint32(y[4])<<16 | uint32(y[5])<<24
	for j := range 16 {
		h0 := int(qh>>j&1) << 4
		h1 := int(qh>>(j+16)&1) << 4
		x[j] = float32(int(y[6+j]&15)|h0-16) * d
		x[16+j] = float32(int(y[6+j]>>4)|h1-16) * d
	}
}

func quantQ5_1(x []float32, y []byte) {
	for b := 0; b < len(x)/32; b++ {
		xb, yb := x[32*b:32*b+32], y[24*b:24*b+24]
		lo, hi := minMax(xb)
		d := (hi - lo) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putU16(yb, toF16(d))
		putU16(yb[2:], toF16(lo))
		var qh uint32
		for j := range 16 {
			q0 := uint8(truncF(float32((xb[j]-lo)*id) + 0.5))
			q1 := uint8(truncF(float32((xb[16+j]-lo)*id) + 0.5))
			yb[8+j] = q0&15 | (q1&15)<<4
			qh |= uint32(q0>>4&1) << j
			qh |= uint32(q1>>4&1) << (j + 16)
		}
		yb[4], yb[5], yb[6], yb[7] = byte(qh), byte(qh>>8), byte(qh>>16), byte(qh>>24)
	}
}

func dequantQ5_1(y []byte, x []float32) {
	d, m := fromF16(getU16(y)), fromF16(getU16(y[2:]))
	qh := uint32(y[4]) | uint32(y[5])<<8 | uint32(y[6])<<16 | uint32(y[7])<<24
	for j := range 16 {
		h0 := qh >> j & 1 << 4
		h1 := qh >> (j + 16) & 1 << 4
		x[j] = float32(float32(uint32(y[8+j]&15)|h0)*d) + m
		x[16+j] = float32(float32(uint32(y[8+j]>>4)|h1)*d) + m
	}
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// truncF is C's float→int conversion (toward zero).
func truncF(v float32) int { return int(v) }

// roundAwayInt is C's (int)roundf(v), half away from zero: v plus the float just below ½ with v's sign,
// truncated. Checked against math.Round for every float32 of magnitude below 128 (Q8_0's range, where the
// low byte also matches on the ±127.5 wrap); the sum cannot carry a wrong value over an integer because
// the addend is below ½ and a tie in the sum rounds to the even (integral) neighbour.
func roundAwayInt(v float32) int32 {
	return int32(v + math.Float32frombits(0x3effffff|math.Float32bits(v)&0x80000000))
}

func sqrt32(v float32) float32 { return float32(math.Sqrt(float64(v))) }
