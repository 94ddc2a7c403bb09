//go:build !amd64

package vecf32

const hasAVX512 = false

func expAVX512(dst, src *float32, n int)      { panic("vecf32: no AVX-512 outside amd64") }
func logisticAVX512(dst, src *float32, n int) { panic("vecf32: no AVX-512 outside amd64") }
