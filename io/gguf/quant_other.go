//go:build !amd64

package gguf

// hasAVX2 is false off amd64: the K-quant searches run their portable Go loops.
const hasAVX2 = false

func qxSumsAVX2(x, w, wx *[16]float32, num *[24]float32, mx float32, isc, sLX, sL2 *[24]float32, nmax int) {
	panic("gguf: qxSumsAVX2 called without AVX2")
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

func qkxBatchAVX2(xm, x, w *[32]float32, num *[8]float32, den float32, isc *[8]float32, sw *[2]float32, over, overScale, overMin *[8]float32, out *[32]float32, scratch *[256]float32, nmax int) {
	panic("gguf: qkxBatchAVX2 called without AVX2")
}

func levelsAVX2(x *float32, n int, add, div float32, lo, hi, off int32, out *byte) {
	panic("gguf: levelsAVX2 called without AVX2")
}
