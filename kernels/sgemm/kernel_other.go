//go:build !amd64

package sgemm

// platformKernels: no assembly kernels outside amd64; the portable Go kernel serves.
func platformKernels() []*Kernel { return nil }
