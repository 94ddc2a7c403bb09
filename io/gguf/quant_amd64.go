package gguf

import "golang.org/x/sys/cpu"

// hasAVX2 selects the AVX2 search of the K-quant scale fits (x/sys/cpu checks the CPU and the OS's register
// saving); read-only after init.
var hasAVX2 = cpu.X86.HasAVX2

// qxSumsAVX2 computes, for 24 trial scales isc (8 per AVX2 lane group), the sums of makeQX's search over the
// 16 values x: sLX[k] = Σ wx[i]·l, sL2[k] = Σ (w[i]·l)·l with l = clamp(nearestInt(isc[k]·x[i]), -nmax,
// nmax-1), each lane adding in element order with the scalar code's roundings (no FMA). Implemented in
// quant_amd64.s.
//
//go:noescape
func qxSumsAVX2(x, w, wx *[16]float32, isc, sLX, sL2 *[24]float32, nmax int)

// qkxSumsAVX2 computes makeQKX2's sums for 8 trial scales isc at once: for lane k, with
// l = clamp(nearestInt(isc[k]·xm[i]), 0, nmax) and wl = w[i]·l, sums[k] = Σ wl, sums[8+k] = Σ wl·l,
// sums[16+k] = Σ wl·x[i], in element order with the scalar code's roundings. Implemented in quant_amd64.s.
//
//go:noescape
func qkxSumsAVX2(xm, x, w *[32]float32, isc *[8]float32, sums *[24]float32, nmax int)

// qkxErrAVX2 computes makeQKX2's weighted error of 8 trials at once: cur[k] = Σ w[i]·(diff·diff) with
// diff = (scale[k]·l + min[k]) - x[i], l as in qkxSumsAVX2. Implemented in quant_amd64.s.
//
//go:noescape
func qkxErrAVX2(xm, x, w *[32]float32, isc, scale, min, cur *[8]float32, nmax int)

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
