package vecf32

// SumRows sets dst[i] = Σ_j src[i·n + j] for the len(dst) rows of n elements, accumulated in float64 (8 partial
// sums), so the result is the exact sum rounded once more often than not.
func SumRows(dst, src []float32, n int) {
	for i := range dst {
		dst[i] = float32(sum(src[i*n : i*n+n]))
	}
}

func sum(x []float32) float64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float64
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := (*[8]float32)(x[i : i+8])
		s0 += float64(v[0])
		s1 += float64(v[1])
		s2 += float64(v[2])
		s3 += float64(v[3])
		s4 += float64(v[4])
		s5 += float64(v[5])
		s6 += float64(v[6])
		s7 += float64(v[7])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))
}

// MaxRows sets dst[i] = max_j src[i·n + j] for the len(dst) rows of n > 0 elements; NaN wins (Go's max, as SimpleGo).
func MaxRows(dst, src []float32, n int) {
	for i := range dst {
		row := src[i*n : i*n+n]
		m := row[0]
		for _, v := range row[1:] {
			m = max(m, v)
		}
		dst[i] = m
	}
}

// SumCols sets dst[j] = Σ_i src[i·ld + j] over rows rows (column sums, one row at a time).
func SumCols(dst, src []float32, rows, ld int) {
	n := len(dst)
	copy(dst, src[:n])
	for i := 1; i < rows; i++ {
		row := src[i*ld : i*ld+n]
		for j, v := range row {
			dst[j] += v
		}
	}
}

// MaxCols sets dst[j] = max_i src[i·ld + j] over rows > 0 rows; NaN wins (Go's max).
func MaxCols(dst, src []float32, rows, ld int) {
	n := len(dst)
	copy(dst, src[:n])
	for i := 1; i < rows; i++ {
		row := src[i*ld : i*ld+n]
		for j, v := range row {
			dst[j] = max(dst[j], v)
		}
	}
}
