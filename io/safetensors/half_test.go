package safetensors

import (
	"math"
	"math/rand"
	"sort"
	"testing"
)

func TestF32ToBF16Table(t *testing.T) {
	cases := []struct {
		name string
		in   float32
		want uint16
	}{
		{"one", 1, 0x3F80},
		{"minus e rounds to -2.71875", -2.71828, 0xC02E},
		{"1.0078125 is exact", 1.0078125, 0x3F81},
		{"tie to even down", 1 + 1.0/256, 0x3F80},             // halfway between 0x3F80 and 0x3F81
		{"tie to even up", 1 + 3.0/256, 0x3F82},               // halfway between 0x3F81 and 0x3F82
		{"just above tie", 1 + 1.0/256 + 1.0/(1<<20), 0x3F81}, // not a tie: nearest wins
		{"zero", 0, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"inf", float32(math.Inf(1)), 0x7F80},
		{"-inf", float32(math.Inf(-1)), 0xFF80},
		{"max float32 overflows to inf", math.MaxFloat32, 0x7F80},
		{"largest bf16", BF16ToF32(0x7F7F), 0x7F7F},
		{"f32 subnormal underflows", math.Float32frombits(1), 0x0000},
		{"bf16 subnormal", math.Float32frombits(0x00010000), 0x0001},
	}
	for _, c := range cases {
		if got := F32ToBF16(c.in); got != c.want {
			t.Errorf("%s: F32ToBF16(%g) = %#04x, want %#04x", c.name, c.in, got, c.want)
		}
	}
	if got := BF16ToF32(F32ToBF16(-2.71828)); got != -2.71875 {
		t.Errorf("bf16(-2.71828) = %g, want -2.71875", got)
	}
	if got := BF16ToF32(F32ToBF16(1.0078125)); got != 1.0078125 {
		t.Errorf("bf16(1.0078125) = %g, want 1.0078125", got)
	}
}

func TestF32ToBF16NaN(t *testing.T) {
	for _, bits := range []uint32{0x7FC00000, 0x7F800001, 0x7FFFFFFF, 0xFF800001, 0x7F80FFFF} {
		f := math.Float32frombits(bits)
		h := F32ToBF16(f)
		if g := BF16ToF32(h); !math.IsNaN(float64(g)) {
			t.Errorf("F32ToBF16(NaN %#08x) = %#04x, not a NaN", bits, h)
		}
		if h&0x8000 != uint16(bits>>16)&0x8000 {
			t.Errorf("F32ToBF16(NaN %#08x) = %#04x lost the sign", bits, h)
		}
	}
}

func TestF32ToF16Table(t *testing.T) {
	cases := []struct {
		name string
		in   float32
		want uint16
	}{
		{"one", 1, 0x3C00},
		{"minus e", -2.71828, 0xC170},
		{"0.1", 0.1, 0x2E66},
		{"max half", 65504, 0x7BFF},
		{"below overflow tie", 65519, 0x7BFF},
		{"65520 rounds to inf", 65520, 0x7C00},
		{"-65520 rounds to -inf", -65520, 0xFC00},
		{"huge", 1e10, 0x7C00},
		{"inf", float32(math.Inf(1)), 0x7C00},
		{"-inf", float32(math.Inf(-1)), 0xFC00},
		{"tie to even down", 1 + 1.0/2048, 0x3C00},
		{"tie to even up", 1 + 3.0/2048, 0x3C02},
		{"smallest normal", 1.0 / (1 << 14), 0x0400},
		{"smallest subnormal", 1.0 / (1 << 24), 0x0001},
		{"half the smallest subnormal ties to zero", 1.0 / (1 << 25), 0x0000},
		{"just above half the smallest subnormal", 1.0/(1<<25) + 1.0/(1<<40), 0x0001},
		{"1.5 subnormal units ties to 2", 3.0 / (1 << 25), 0x0002},
		{"largest subnormal", 1023.0 / (1 << 24), 0x03FF},
		{"largest subnormal + half ties up to normal", 1023.5 / (1 << 24), 0x0400},
		{"negative subnormal", -5.0 / (1 << 24), 0x8005},
		{"far below range", 1e-30, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"f32 subnormal", math.Float32frombits(1), 0x0000},
	}
	for _, c := range cases {
		if got := F32ToF16(c.in); got != c.want {
			t.Errorf("%s: F32ToF16(%g) = %#04x, want %#04x", c.name, c.in, got, c.want)
		}
	}
	for _, bits := range []uint32{0x7FC00000, 0x7F800001, 0xFFC00000} {
		h := F32ToF16(math.Float32frombits(bits))
		if !math.IsNaN(float64(F16ToF32(h))) || h&0x8000 != uint16(bits>>16)&0x8000 {
			t.Errorf("F32ToF16(NaN %#08x) = %#04x, want a NaN with the same sign", bits, h)
		}
	}
}

func TestF16ToF32Table(t *testing.T) {
	cases := []struct {
		in   uint16
		want float32
	}{
		{0x3C00, 1}, {0xC000, -2}, {0x7BFF, 65504}, {0x0001, 1.0 / (1 << 24)},
		{0x03FF, 1023.0 / (1 << 24)}, {0x0400, 1.0 / (1 << 14)}, {0x7C00, float32(math.Inf(1))},
		{0xFC00, float32(math.Inf(-1))}, {0x3555, 0.333251953125},
	}
	for _, c := range cases {
		if got := F16ToF32(c.in); got != c.want {
			t.Errorf("F16ToF32(%#04x) = %g, want %g", c.in, got, c.want)
		}
	}
	if !math.IsNaN(float64(F16ToF32(0x7E00))) || !math.IsNaN(float64(F16ToF32(0x7C01))) {
		t.Error("F16ToF32 of a NaN is not a NaN")
	}
}

// Every half and bfloat16 value survives widening and narrowing unchanged.
func TestHalfRoundTripExhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		if f := F16ToF32(h); !math.IsNaN(float64(f)) {
			if got := F32ToF16(f); got != h {
				t.Fatalf("F32ToF16(F16ToF32(%#04x) = %g) = %#04x", h, f, got)
			}
		}
		if f := BF16ToF32(h); !math.IsNaN(float64(f)) {
			if got := F32ToBF16(f); got != h {
				t.Fatalf("F32ToBF16(BF16ToF32(%#04x) = %g) = %#04x", h, f, got)
			}
		}
	}
}

// refRound finds the nearest value of a 16-bit format by search over its
// finite values (sorted ascending, with their encodings), ties to an even
// encoding, and past the largest finite value by half an ulp to infinity.
type refFormat struct {
	vals []float64
	bits []uint16
	inf  uint16
}

func newRefFormat(widen func(uint16) float32) *refFormat {
	r := &refFormat{}
	type pair struct {
		v float64
		b uint16
	}
	var ps []pair
	for i := 0; i < 0x8000; i++ { // non-negative encodings
		f := float64(widen(uint16(i)))
		if math.IsNaN(f) {
			continue
		}
		if math.IsInf(f, 1) {
			r.inf = uint16(i)
			continue
		}
		ps = append(ps, pair{f, uint16(i)})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].v < ps[j].v })
	for _, p := range ps {
		r.vals = append(r.vals, p.v)
		r.bits = append(r.bits, p.b)
	}
	return r
}

func (r *refFormat) round(f float32) uint16 {
	x := math.Abs(float64(f))
	var sign uint16
	if math.Signbit(float64(f)) {
		sign = 0x8000
	}
	n := len(r.vals)
	maxv, ulp := r.vals[n-1], r.vals[n-1]-r.vals[n-2]
	if x >= maxv+ulp/2 {
		return sign | r.inf
	}
	i := sort.SearchFloat64s(r.vals, x) // first >= x
	if i == n {
		return sign | r.bits[n-1]
	}
	if r.vals[i] == x || i == 0 {
		return sign | r.bits[i]
	}
	lo, hi := r.vals[i-1], r.vals[i]
	switch {
	case x-lo < hi-x:
		return sign | r.bits[i-1]
	case x-lo > hi-x:
		return sign | r.bits[i]
	case r.bits[i-1]&1 == 0:
		return sign | r.bits[i-1]
	}
	return sign | r.bits[i]
}

// The bit tricks agree with a by-the-definition search on random inputs
// concentrated on the interesting exponents.
func TestHalfRoundingAgainstReference(t *testing.T) {
	f16, bf16 := newRefFormat(F16ToF32), newRefFormat(BF16ToF32)
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		var bits uint32
		if i%2 == 0 {
			bits = rng.Uint32()
		} else { // exponents around the half range, including subnormals and overflow
			exp := uint32(100 + rng.Intn(45))
			bits = uint32(rng.Intn(2))<<31 | exp<<23 | rng.Uint32()&0x7FFFFF
			if i%6 == 1 { // exact ties and near-ties
				bits &^= 0xFFF
				bits |= uint32(rng.Intn(3)) << 11
			}
		}
		f := math.Float32frombits(bits)
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			continue
		}
		if got, want := F32ToF16(f), f16.round(f); got != want {
			t.Fatalf("F32ToF16(%g [%#08x]) = %#04x, reference %#04x", f, bits, got, want)
		}
		if got, want := F32ToBF16(f), bf16.round(f); got != want {
			t.Fatalf("F32ToBF16(%g [%#08x]) = %#04x, reference %#04x", f, bits, got, want)
		}
	}
}

func TestF8Decode(t *testing.T) {
	cases := []struct {
		d    DType
		in   byte
		want float32
	}{
		{F8E4M3, 0x38, 1}, {F8E4M3, 0xB8, -1}, {F8E4M3, 0x7E, 448}, {F8E4M3, 0x01, 1.0 / 512},
		{F8E4M3, 0x08, 1.0 / 64}, {F8E4M3, 0x3C, 1.5}, {F8E4M3, 0x00, 0},
		{F8E5M2, 0x3C, 1}, {F8E5M2, 0x7B, 57344}, {F8E5M2, 0x01, 1.0 / (1 << 16)},
		{F8E5M2, 0x7C, float32(math.Inf(1))}, {F8E5M2, 0xFC, float32(math.Inf(-1))},
	}
	for _, c := range cases {
		v, err := DecodeFloat32(c.d, []byte{c.in})
		if err != nil || v[0] != c.want {
			t.Errorf("DecodeFloat32(%s, %#02x) = %v, %v; want %g", c.d, c.in, v, err, c.want)
		}
	}
	for _, c := range []struct {
		d  DType
		in byte
	}{{F8E4M3, 0x7F}, {F8E4M3, 0xFF}, {F8E5M2, 0x7E}} {
		v, _ := DecodeFloat32(c.d, []byte{c.in})
		if !math.IsNaN(float64(v[0])) {
			t.Errorf("DecodeFloat32(%s, %#02x) = %g, want NaN", c.d, c.in, v[0])
		}
	}
}
