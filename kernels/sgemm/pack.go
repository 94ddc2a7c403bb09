package sgemm

// packA copies rows [i0, i0+m) × columns [p0, p0+kc) of A (batch offset off) into MR-high micro-panels: panel q
// holds dst[q·MR·kc + p·MR + r] = A[i0 + q·MR + r, p0 + p]; rows past m are zero.
func packA(dst []float32, a *Operand, off, i0, m, p0, kc, mr int) {
	src, rs, cs := a.Data, a.RowStride, a.ColStride
	for ip := 0; ip < m; ip += mr {
		rows := min(mr, m-ip)
		d := dst[ip*kc : ip*kc+mr*kc]
		if rows < mr {
			clear(d)
		}
		base := off + (i0+ip)*rs + p0*cs
		switch {
		case cs == 1: // row-major A: each row is contiguous along k
			for r := 0; r < rows; r++ {
				s := src[base+r*rs : base+r*rs+kc]
				for p, v := range s {
					d[p*mr+r] = v
				}
			}
		case rs == 1: // transposed A: each k holds mr contiguous rows
			for p := 0; p < kc; p++ {
				copy(d[p*mr:p*mr+rows], src[base+p*cs:base+p*cs+rows])
			}
		default:
			for p := 0; p < kc; p++ {
				for r := 0; r < rows; r++ {
					d[p*mr+r] = src[base+r*rs+p*cs]
				}
			}
		}
	}
}

// packB copies rows [p0, p0+kc) × columns [j0+c0, j0+c1) of B (batch offset off) into NR-wide micro-panels
// (c0 is a multiple of nr): panel q holds dst[q·NR·kc + p·NR + c] = B[p0 + p, j0 + q·NR + c]; columns past c1
// are zero.
func packB(dst []float32, b *Operand, off, p0, kc, j0, c0, c1, nr int) {
	src, rs, cs := b.Data, b.RowStride, b.ColStride
	for jp := c0; jp < c1; jp += nr {
		cols := min(nr, c1-jp)
		d := dst[jp*kc : jp*kc+nr*kc]
		if cols < nr {
			clear(d)
		}
		base := off + p0*rs + (j0+jp)*cs
		switch {
		case cs == 1: // row-major B: each k holds the panel's columns contiguously
			for p := 0; p < kc; p++ {
				copy(d[p*nr:p*nr+cols], src[base+p*rs:base+p*rs+cols])
			}
		case rs == 1: // transposed B (an [N, K] weight): each column is contiguous along k
			for c := 0; c < cols; c++ {
				s := src[base+c*cs : base+c*cs+kc]
				for p, v := range s {
					d[p*nr+c] = v
				}
			}
		default:
			for p := 0; p < kc; p++ {
				for c := 0; c < cols; c++ {
					d[p*nr+c] = src[base+p*rs+c*cs]
				}
			}
		}
	}
}
