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
		case cs == 1 && rows == 12 && mr == 12: // row-major A, whole AVX-512 panel: contiguous writes
			packRows12(d, src[base:], rs, kc)
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

// packRows12 interleaves 12 rows of kc contiguous elements (row stride rs) into d[p·12 + r].
func packRows12(d, src []float32, rs, kc int) {
	r0, r1, r2, r3 := src[0:kc], src[rs:rs+kc], src[2*rs:2*rs+kc], src[3*rs:3*rs+kc]
	r4, r5, r6, r7 := src[4*rs:4*rs+kc], src[5*rs:5*rs+kc], src[6*rs:6*rs+kc], src[7*rs:7*rs+kc]
	r8, r9, r10, r11 := src[8*rs:8*rs+kc], src[9*rs:9*rs+kc], src[10*rs:10*rs+kc], src[11*rs:11*rs+kc]
	d = d[:12*kc]
	for p := range r0 {
		o := (*[12]float32)(d[p*12 : p*12+12])
		o[0], o[1], o[2], o[3] = r0[p], r1[p], r2[p], r3[p]
		o[4], o[5], o[6], o[7] = r4[p], r5[p], r6[p], r7[p]
		o[8], o[9], o[10], o[11] = r8[p], r9[p], r10[p], r11[p]
	}
}
