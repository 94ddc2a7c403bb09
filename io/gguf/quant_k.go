package gguf

import (
	"math"
	"unsafe"
)

// K-quants: 256-element super-blocks, ported from ggml's reference quantizers (quantize_row_q{4,5,6}_K_ref,
// the path llama-quantize takes without an importance matrix), float32 arithmetic in the same order so the
// bytes match. Products are wrapped in float32(...) where a fused multiply-add could otherwise change the
// rounding (the Go spec lets arm64 fuse x*y+z; ggml builds with C11, which does not contract).

const qkK = 256
const groupMaxEps = 1e-15

// makeQKX2 fits x ≈ scale·L + min (L in [0, nmax]) by a weighted search over nstep+1 scales
// (ggml's make_qkx2_quants); it returns scale and -min. Tuned, same float32 operations in the same order:
// x-min is computed once, a trial scale whose levels equal the previous trial's is skipped (equal levels give
// equal sums, so it cannot beat the best already kept), and fixed-size arrays drop the bounds checks.
func makeQKX2(nmax int, x, weights *[32]float32, L *[32]uint8, rmin, rdelta float32, nstep int, vec bool) (float32, float32) {
	lo, hi := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < 32; i++ {
		lo, hi = min(lo, x[i]), max(hi, x[i])
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi == lo {
		*L = [32]uint8{}
		return 0, -lo
	}
	var xm [32]float32
	for i, v := range x {
		xm[i] = v - lo
	}
	fn := float32(nmax)
	iscale := fn / (hi - lo)
	scale := 1 / iscale
	if vec {
		return qkx2SearchVec(nmax, x, weights, &xm, L, rmin, rdelta, nstep, lo, hi, sumW, sumX, iscale, scale)
	}
	var best float32
	for i := range 32 {
		l := max(0, min(nmax, nearestInt(iscale*xm[i])))
		L[i] = uint8(l)
		diff := float32(scale*float32(l)) + lo - x[i]
		best += float32(weights[i] * float32(diff*diff))
	}
	var lv [32]int
	var lf [32]float32
	for i := range lv {
		lv[i] = -1
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + fn) / (hi - lo)
		change := 0
		for i := range 32 {
			l := max(0, min(nmax, nearestInt(iscale*xm[i])))
			change |= l ^ lv[i]
			lv[i] = l
		}
		if change == 0 {
			continue
		}
		var sumL, sumL2, sumXL float32
		for i := range 32 {
			fl := float32(lv[i])
			lf[i] = fl
			wl := float32(weights[i] * fl)
			sumL += wl
			sumL2 += float32(wl * fl)
			sumXL += float32(wl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var cur float32
			for i := range 32 {
				diff := float32(thisScale*lf[i]) + thisMin - x[i]
				cur += float32(weights[i] * float32(diff*diff))
			}
			if cur < best {
				for i := range 32 {
					L[i] = uint8(lv[i])
				}
				best, scale, lo = cur, thisScale, thisMin
				for i, v := range x { // the next trials measure from the new min, as ggml's do
					xm[i] = v - lo
				}
			}
		}
	}
	return scale, -lo
}

// qkx2SearchVec is makeQKX2 from its first fit (iscale0, scale0) on, eight trial scales per qkxBatchAVX2
// call (sums, fit and error, lane by lane in the scalar code's float32 operations), decided in trial order.
// The first fit's error is the last lane of the first batch. A trial that is kept changes the min, which
// every later trial measures from, so the lanes after it are dropped and the next batch starts at the trial
// after it, from the new min. The levels are written once, from the kept trial's scale and min.
func qkx2SearchVec(nmax int, x, weights, xm *[32]float32, L *[32]uint8, rmin, rdelta float32, nstep int, lo, hi, sumW, sumX, iscale0, scale0 float32) (float32, float32) {
	fn := float32(nmax)
	var num, isc, over, overScale, overMin [8]float32
	var out [32]float32
	var scratch [256]float32
	sw := [2]float32{sumW, sumX}
	var best, scale float32
	keptIsc, keptLo := iscale0, lo
	for is, first := 0, true; is <= nstep; first = false {
		lanes := 8
		if first {
			lanes = 7
			num[7] = fn // the first fit, iscale0 = fn/(hi-lo): its own scale and min, error only
			over[7], overScale[7], overMin[7] = -1, scale0, lo
		} else {
			over[7] = 0
		}
		for k := range lanes {
			num[k] = rmin + float32(rdelta*float32(is+k)) + fn
		}
		qkxBatchAVX2(xm, x, weights, &num, hi-lo, &isc, &sw, &over, &overScale, &overMin, &out, &scratch, nmax)
		cur, thisScale, thisMin, D := out[0:8], out[8:16], out[16:24], out[24:32]
		if first {
			best, scale = cur[7], scale0
		}
		next := is + lanes
		for k := 0; k < lanes && is+k <= nstep; k++ {
			if D[k] > 0 && cur[k] < best {
				keptIsc, keptLo = isc[k], lo // its levels were measured from the min before it
				best, scale, lo = cur[k], thisScale[k], thisMin[k]
				for i, v := range x {
					xm[i] = v - lo
				}
				next = is + k + 1
				break
			}
		}
		is = next
	}
	for i, v := range x {
		L[i] = uint8(max(0, min(nmax, nearestInt(keptIsc*(v-keptLo)))))
	}
	return scale, -lo
}

// makeQX fits x ≈ scale·(L-nmax) symmetric, weights x², with the ±0.9 scale search (ggml's make_qx_quants,
// rmse_type 1, no importance weights). The first fit and the 18 trial scales do not depend on one another's
// outcome, so with vec their sums come from qxSumsAVX2 (eight trials per AVX2 instruction, each lane doing
// the scalar code's float32 operations in the same order); the accept/reject pass runs trial by trial and
// the levels are written once, from the kept trial's scale.
func makeQX(nmax int, x *[16]float32, L *[16]int8, vec bool) float32 {
	var m0, m1 uint32 // the largest magnitude's bits (ordered as the magnitudes are), two chains
	for i := 0; i < 16; i += 2 {
		m0 = max(m0, math.Float32bits(x[i])&0x7fffffff)
		m1 = max(m1, math.Float32bits(x[i+1])&0x7fffffff)
	}
	amax := math.Float32frombits(max(m0, m1))
	if amax < groupMaxEps {
		*L = [16]int8{}
		return 0
	}
	var mx float32 // the first value of that magnitude, as ggml's strict > scan keeps it
	for _, v := range x {
		if abs32(v) == amax {
			mx = v
			break
		}
	}
	var w, wx [16]float32 // the weight x² and x²·x, rounded as ggml's w*x[i]*l rounds them
	for i, v := range x {
		w[i] = v * v
		wx[i] = w[i] * v
	}
	fn := float32(nmax)
	var num, isc, sLX, sL2 [24]float32
	for k := range 18 {
		is := k - 9
		if is >= 0 {
			is++
		}
		num[k] = -(fn + float32(0.1*float32(is)))
	}
	num[18] = -fn // the first fit
	if vec {
		qxSumsAVX2(x, &w, &wx, &num, mx, &isc, &sLX, &sL2, nmax)
	} else {
		for k := range 19 {
			isc[k] = num[k] / mx
			var sumLX, sumL2 float32
			for i := range 16 {
				fl := float32(max(-nmax, min(nmax-1, nearestInt(isc[k]*x[i]))))
				sumLX += float32(wx[i] * fl)
				sumL2 += float32(float32(w[i]*fl) * fl)
			}
			sLX[k], sL2[k] = sumLX, sumL2
		}
	}
	var scale float32
	if sL2[18] != 0 {
		scale = sLX[18] / sL2[18]
	}
	best := scale * sLX[18]
	kept := 18
	for k := range 18 {
		sumLX, sumL2 := sLX[k], sL2[k]
		if sumL2 > 0 && sumLX*sumLX > best*sumL2 {
			kept = k
			scale = sumLX / sumL2
			best = scale * sumLX
		}
	}
	for i := range 16 { // the levels of the kept trial
		L[i] = int8(nmax + max(-nmax, min(nmax-1, nearestInt(isc[kept]*x[i]))))
	}
	return scale
}

// packScalesK stores eight 6-bit scales and mins in the 12-byte layout of Q4_K/Q5_K.
func packScalesK(sc []byte, ls, lm *[8]uint8) {
	for j := range 8 {
		if j < 4 {
			sc[j] = ls[j]
			sc[j+4] = lm[j]
		} else {
			sc[j+4] = ls[j]&0xF | (lm[j]&0xF)<<4
			sc[j-4] |= (ls[j] >> 4) << 6
			sc[j] |= (lm[j] >> 4) << 6
		}
	}
}

// scaleMinK4 is ggml's get_scale_min_k4.
func scaleMinK4(j int, q []byte) (uint8, uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xF | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// quantK45 is the shared body of Q4_K (nmax 15) and Q5_K (nmax 31): per 32-element group a weighted
// scale/min fit, 6-bit scales and mins against fp16 super-scales, then the final levels in L.
func quantK45(x []float32, y []byte, nmax int, rmin float32, nstep int, L *[qkK]uint8, vec bool) {
	var weights [32]float32
	var scales, mins [8]float32
	var maxScale, maxMin float32
	for j := range 8 {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := sqrt32(sumX2 / 32)
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2(nmax, (*[32]float32)(xs), &weights, (*[32]uint8)(L[32*j:32*j+32]), rmin, 0.1, nstep, vec)
		maxScale = max(maxScale, scales[j])
		maxMin = max(maxMin, mins[j])
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	var ls, lm [8]uint8
	for j := range 8 {
		ls[j] = min(63, uint8(nearestInt(invScale*scales[j])))
		lm[j] = min(63, uint8(nearestInt(invMin*mins[j])))
	}
	sc := y[4:16]
	for i := range sc {
		sc[i] = 0
	}
	packScalesK(sc, &ls, &lm)
	putU16(y[0:], toF16(maxScale/63))
	putU16(y[2:], toF16(maxMin/63))
	d0, m0 := fromF16(getU16(y[0:])), fromF16(getU16(y[2:]))
	for j := range 8 {
		s, m := scaleMinK4(j, sc)
		d := d0 * float32(s)
		if d == 0 {
			continue
		}
		dm := m0 * float32(m)
		if vec {
			levelsAVX2(&x[32*j], 32, dm, d, 0, int32(nmax), 0, &L[32*j])
			continue
		}
		for ii := range 32 {
			L[32*j+ii] = uint8(max(0, min(nmax, nearestInt((x[32*j+ii]+dm)/d))))
		}
	}
}

// Q4_K block: d, dmin (fp16), 12 bytes of scales, 128 bytes of nibbles.
func quantQ4K(x []float32, y []byte) { quantQ4KWith(x, y, hasAVX2) }

// quantQ4KWith is quantQ4K with the AVX2 search (vec) or the portable one; the bytes are the same.
func quantQ4KWith(x []float32, y []byte, vec bool) {
	var L [qkK]uint8
	for b := 0; b < len(x)/qkK; b++ {
		xb, yb := x[qkK*b:qkK*(b+1)], y[144*b:144*(b+1)]
		quantK45(xb, yb, 15, -1, 20, &L, vec)
		q := yb[16:]
		for j := 0; j < qkK; j += 64 {
			for l := range 32 {
				q[l] = L[j+l] | L[j+l+32]<<4
			}
			q = q[32:]
		}
	}
}

func dequantQ4K(y []byte, x []float32) {
	d, dmin := fromF16(getU16(y)), fromF16(getU16(y[2:]))
	sc, q := y[4:16], y[16:]
	for j, is := 0, 0; j < qkK; j, is = j+64, is+2 {
		s1, m1 := scaleMinK4(is, sc)
		s2, m2 := scaleMinK4(is+1, sc)
		d1, mm1 := d*float32(s1), dmin*float32(m1)
		d2, mm2 := d*float32(s2), dmin*float32(m2)
		for l := range 32 {
			x[j+l] = float32(d1*float32(q[l]&0xF)) - mm1
			x[j+32+l] = float32(d2*float32(q[l]>>4)) - mm2
		}
		q = q[32:]
	}
}

// Q5_K block: d, dmin, 12 bytes of scales, 32 bytes of high bits, 128 bytes of nibbles.
func quantQ5K(x []float32, y []byte) { quantQ5KWith(x, y, hasAVX2) }

// quantQ5KWith is quantQ5K with the AVX2 search (vec) or the portable one; the bytes are the same.
func quantQ5KWith(x []float32, y []byte, vec bool) {
	var L [qkK]uint8
	for b := 0; b < len(x)/qkK; b++ {
		xb, yb := x[qkK*b:qkK*(b+1)], y[176*b:176*(b+1)]
		quantK45(xb, yb, 31, -0.5, 15, &L, vec)
		qh, ql := yb[16:48], yb[48:]
		for i := range qh {
			qh[i] = 0
		}
		m1, m2 := uint8(1), uint8(2)
		for n := 0; n < qkK; n += 64 {
			for j := range 32 {
				l1, l2 := L[n+j], L[n+j+32]
				if l1 > 15 {
					l1 -= 16
					qh[j] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[j] |= m2
				}
				ql[j] = l1 | l2<<4
			}
			m1 <<= 2
			m2 <<= 2
			ql = ql[32:]
		}
	}
}

func dequantQ5K(y []byte, x []float32) {
	d, dmin := fromF16(getU16(y)), fromF16(getU16(y[2:]))
	sc, qh, ql := y[4:16], y[16:48], y[48:]
	u1, u2 := uint8(1), uint8(2)
	for j, is := 0, 0; j < qkK; j, is = j+64, is+2 {
		s1, m1 := scaleMinK4(is, sc)
		s2, m2 := scaleMinK4(is+1, sc)
		d1, mm1 := d*float32(s1), dmin*float32(m1)
		d2, mm2 := d*float32(s2), dmin*float32(m2)
		for l := range 32 {
			h1, h2 := float32(0), float32(0)
			if qh[l]&u1 != 0 {
				h1 = 16
			}
			if qh[l]&u2 != 0 {
				h2 = 16
			}
			x[j+l] = float32(d1*(float32(ql[l]&0xF)+h1)) - mm1
			x[j+32+l] = float32(d2*(float32(ql[l]>>4)+h2)) - mm2
		}
		ql = ql[32:]
		u1 <<= 2
		u2 <<= 2
	}
}

// Q6_K block: 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 int8 scales, fp16 d.
func quantQ6K(x []float32, y []byte) { quantQ6KWith(x, y, hasAVX2) }

// quantQ6KWith is quantQ6K with the AVX2 search (vec) or the portable one; the bytes are the same.
func quantQ6KWith(x []float32, y []byte, vec bool) {
	var L [qkK]int8
	var scales [16]float32
	for b := 0; b < len(x)/qkK; b++ {
		xb, yb := x[qkK*b:qkK*(b+1)], y[210*b:210*(b+1)]
		var maxScale, maxAbs float32
		for ib := range 16 {
			s := makeQX(32, (*[16]float32)(xb[16*ib:16*ib+16]), (*[16]int8)(L[16*ib:16*ib+16]), vec)
			scales[ib] = s
			if a := abs32(s); a > maxAbs {
				maxAbs, maxScale = a, s
			}
		}
		for i := range yb {
			yb[i] = 0
		}
		if maxAbs < groupMaxEps {
			continue
		}
		iscale := -128 / maxScale
		putU16(yb[208:], toF16(1/iscale))
		sc := yb[192:208]
		for ib := range 16 {
			sc[ib] = byte(int8(min(127, nearestInt(iscale*scales[ib]))))
		}
		d0 := fromF16(getU16(yb[208:]))
		for j := range 16 {
			d := d0 * float32(int8(sc[j]))
			if d == 0 {
				continue
			}
			if vec { // x+0 only turns -0 into +0, which rounds to the same level
				levelsAVX2(&xb[16*j], 16, 0, d, -32, 31, 32, (*byte)(unsafe.Pointer(&L[16*j])))
				continue
			}
			for ii := range 16 {
				l := max(-32, min(31, nearestInt(xb[16*j+ii]/d)))
				L[16*j+ii] = int8(l + 32)
			}
		}
		ql, qh := yb[0:128], yb[128:192]
		for j := 0; j < qkK; j += 128 {
			for l := range 32 {
				q1, q2 := uint8(L[j+l])&0xF, uint8(L[j+l+32])&0xF
				q3, q4 := uint8(L[j+l+64])&0xF, uint8(L[j+l+96])&0xF
				ql[l] = q1 | q3<<4
				ql[l+32] = q2 | q4<<4
				qh[l] = uint8(L[j+l])>>4 | (uint8(L[j+l+32])>>4)<<2 | (uint8(L[j+l+64])>>4)<<4 | (uint8(L[j+l+96])>>4)<<6
			}
			ql, qh = ql[64:], qh[32:]
		}
	}
}

func dequantQ6K(y []byte, x []float32) {
	d := fromF16(getU16(y[208:]))
	ql, qh, sc := y[0:128], y[128:192], y[192:208]
	for n := 0; n < qkK; n += 128 {
		for l := range 32 {
			is := l / 16
			q1 := int(ql[l]&0xF|(qh[l]>>0&3)<<4) - 32
			q2 := int(ql[l+32]&0xF|(qh[l]>>2&3)<<4) - 32
			q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
			q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
			x[n+l] = d * float32(int8(sc[is])) * float32(q1)
			x[n+l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			x[n+l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			x[n+l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
		ql, qh, sc = ql[64:], qh[32:], sc[8:]
	}
}
