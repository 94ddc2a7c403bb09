package vecf32

import "golang.org/x/sys/cpu"

// hasAVX512 selects the AVX-512 loops (x/sys/cpu checks the CPU and the OS's register saving).
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ

// Implemented in math_amd64.s.
//
//go:noescape
func expAVX512(dst, src *float32, n int)

//go:noescape
func logisticAVX512(dst, src *float32, n int)
