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
