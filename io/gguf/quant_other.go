//go:build !amd64

package gguf

// hasAVX2 is false off amd64: the K-quant searches run their portable Go loops.
const hasAVX2 = false

func qxSumsAVX2(x, w, wx *[16]float32, isc, sLX, sL2 *[24]float32, nmax int) {
	panic("gguf: qxSumsAVX2 called without AVX2")
}

func qkxSumsAVX2(xm, x, w *[32]float32, isc *[8]float32, sums *[24]float32, nmax int) {
	panic("gguf: qkxSumsAVX2 called without AVX2")
}

func qkxErrAVX2(xm, x, w *[32]float32, isc, scale, min, cur *[8]float32, nmax int) {
	panic("gguf: qkxErrAVX2 called without AVX2")
}

func q8AbsMaxAVX2(x *float32, amax *float32, nb int) { panic("gguf: q8AbsMaxAVX2 called without AVX2") }

func q8RoundAVX2(x *float32, id *float32, y *byte, nb int) {
	panic("gguf: q8RoundAVX2 called without AVX2")
}

func q4MaxAVX2(x *float32, amax *float32, idx *int32, nb int) {
	panic("gguf: q4MaxAVX2 called without AVX2")
}

func q4RoundAVX2(x *float32, id *float32, y *byte, nb int) {
	panic("gguf: q4RoundAVX2 called without AVX2")
}
