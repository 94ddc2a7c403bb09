//go:build !amd64

package gguf

// hasAVX2 is false off amd64: the K-quant searches run their portable Go loops.
const hasAVX2 = false

func qxSumsAVX2(x, w, wx *[16]float32, isc, sLX, sL2 *[24]float32, nmax int) {
	panic("gguf: qxSumsAVX2 called without AVX2")
}
