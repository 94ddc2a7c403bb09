package gguf

import "golang.org/x/sys/cpu"

// hasAVX2 selects the AVX2 search of the K-quant scale fits (x/sys/cpu checks the CPU and the OS's register
// saving); read-only after init.
var hasAVX2 = cpu.X86.HasAVX2

// qxSumsAVX2 computes, for 24 trial scales isc = num/mx (stored in isc; 8 per AVX2 lane group), the sums of
// makeQX's search over the 16 values x: sLX[k] = Σ wx[i]·l, sL2[k] = Σ (w[i]·l)·l with
// l = clamp(nearestInt(isc[k]·x[i]), -nmax, nmax-1), each lane adding in element order with the scalar
// code's roundings (no FMA). Implemented in quant_amd64.s.
//
//go:noescape
func qxSumsAVX2(x, w, wx *[16]float32, num *[24]float32, mx float32, isc, sLX, sL2 *[24]float32, nmax int)

// q8AbsMaxAVX2 stores in amax[b] the largest |x| of each of nb 32-value blocks. Implemented in
// quant_amd64.s.
//
//go:noescape
func q8AbsMaxAVX2(x *float32, amax *float32, nb int)

// q8RoundAVX2 writes Q8_0's 32 quants of each of nb blocks (y[34b+2:34b+34], roundAwayInt(x·id[b]) as a
// byte), leaving the scale bytes alone. Implemented in quant_amd64.s.
//
//go:noescape
func q8RoundAVX2(x *float32, id *float32, y *byte, nb int)

// q4MaxAVX2 stores in amax[b] the largest |x| of each of nb 32-value blocks and in idx[b] the first index
// holding it. Implemented in quant_amd64.s.
//
//go:noescape
func q4MaxAVX2(x *float32, amax *float32, idx *int32, nb int)

// q4RoundAVX2 writes Q4_0's 16 bytes of nibbles of each of nb blocks (min(15, trunc(x·id[b] + 8.5)), element
// j low, j+16 high), leaving the scale bytes alone. Implemented in quant_amd64.s.
//
//go:noescape
func q4RoundAVX2(x *float32, id *float32, y *byte, nb int)

// qkxBatchAVX2 is one batch of makeQKX2's search, 8 trial scales isc = num/den (stored in isc): sums, fit (sw = sumW, sumX) and
// weighted error, out = cur[8], scale[8], min[8], D[8]; lanes whose over[k] is negative take
// overScale[k] and overMin[k] as their fit. scratch holds the levels between the passes. Implemented in
// quant_amd64.s.
//
//go:noescape
func qkxBatchAVX2(xm, x, w *[32]float32, num *[8]float32, den float32, isc *[8]float32, sw *[2]float32, over, overScale, overMin *[8]float32, out *[32]float32, scratch *[256]float32, nmax int)

// levelsAVX2 writes out[i] = clamp(nearestInt((x[i]+add)/div), lo, hi) + off for n values (a multiple of 8;
// the final levels of a K-quant group). Implemented in quant_amd64.s.
//
//go:noescape
func levelsAVX2(x *float32, n int, add, div float32, lo, hi, off int32, out *byte)
