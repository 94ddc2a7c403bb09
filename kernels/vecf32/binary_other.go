//go:build !amd64

package vecf32

func vvAddAVX512(dst, a, b *float32, n int)                  { panic("vecf32: no AVX-512") }
func vsAddAVX512(dst, a *float32, s float32, n int)          { panic("vecf32: no AVX-512") }
func svAddAVX512(dst *float32, s float32, b *float32, n int) { panic("vecf32: no AVX-512") }

func vvSubAVX512(dst, a, b *float32, n int)                  { panic("vecf32: no AVX-512") }
func vsSubAVX512(dst, a *float32, s float32, n int)          { panic("vecf32: no AVX-512") }
func svSubAVX512(dst *float32, s float32, b *float32, n int) { panic("vecf32: no AVX-512") }

func vvMulAVX512(dst, a, b *float32, n int)                  { panic("vecf32: no AVX-512") }
func vsMulAVX512(dst, a *float32, s float32, n int)          { panic("vecf32: no AVX-512") }
func svMulAVX512(dst *float32, s float32, b *float32, n int) { panic("vecf32: no AVX-512") }

func vvDivAVX512(dst, a, b *float32, n int)                  { panic("vecf32: no AVX-512") }
func vsDivAVX512(dst, a *float32, s float32, n int)          { panic("vecf32: no AVX-512") }
func svDivAVX512(dst *float32, s float32, b *float32, n int) { panic("vecf32: no AVX-512") }
