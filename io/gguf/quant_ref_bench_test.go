package gguf

import (
	"math"

	"github.com/x448/float16"
)

// Frozen copy of the straightforward codecs as they were before they were tuned for speed (commit bf7665a,
// themselves byte-identical to ggml's quantize_row_*_ref on the fixtures of quant_test.go). The tuned
// encoders must produce exactly these bytes on every input; TestQuantizeMatchesFrozenReference checks that on
// inputs built to hit the corner cases, and the benchmarks compare the two.

func refQuantQ8_0(x []float32, y []byte) {
	for b := 0; b < len(x)/32; b++ {
		xb, yb := x[32*b:32*b+32], y[34*b:34*b+34]
		var amax float32
		for _, v := range xb {
			amax = max(amax, refAbs32(v))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		refPutU16(yb, refToF16(d))
		for j, v := range xb {
			yb[2+j] = byte(int8(refRoundAway(v * id)))
		}
	}
}

func refSignedMax(xb []float32) float32 {
	var amax, m float32
	for _, v := range xb {
		if amax < refAbs32(v) {
			amax, m = refAbs32(v), v
		}
	}
	return m
}

func refQuantQ4_0(x []float32, y []byte) {
	for b := 0; b < len(x)/32; b++ {
		xb, yb := x[32*b:32*b+32], y[18*b:18*b+18]
		d := refSignedMax(xb) / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		refPutU16(yb, refToF16(d))
		for j := range 16 {
			q0 := min(15, int(int8(refTruncF(float32(xb[j]*id)+8.5))))
			q1 := min(15, int(int8(refTruncF(float32(xb[16+j]*id)+8.5))))
			yb[2+j] = byte(q0) | byte(q1)<<4
		}
	}
}

func refMinMax(xb []float32) (float32, float32) {
	lo, hi := float32(math.MaxFloat32), float32(-math.MaxFloat32)
	for _, v := range xb {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func refQuantQ4_1(x []float32, y []byte) {
	for b := 0; b < len(x)/32; b++ {
		xb, yb := x[32*b:32*b+32], y[20*b:20*b+20]
		lo, hi := refMinMax(xb)
		d := (hi - lo) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		refPutU16(yb, refToF16(d))
		refPutU16(yb[2:], refToF16(lo))
		for j := range 16 {
			q0 := min(15, int(int8(refTruncF(float32((xb[j]-lo)*id)+0.5))))
			q1 := min(15, int(int8(refTruncF(float32((xb[16+j]-lo)*id)+0.5))))
			yb[4+j] = byte(q0) | byte(q1)<<4
		}
	}
}

func refQuantQ5_0(x []float32, y []byte) {
	for b := 0; b < len(x)/32; b++ {
		xb, yb := x[32*b:32*b+32], y[22*b:22*b+22]
		d := refSignedMax(xb) / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		refPutU16(yb, refToF16(d))
		var qh uint32
		for j := range 16 {
			q0 := uint8(min(31, int(int8(refTruncF(float32(xb[j]*id)+16.5)))))
			q1 := uint8(min(31, int(int8(refTruncF(float32(xb[16+j]*id)+16.5)))))
			yb[6+j] = q0&15 | (q1&15)<<4
			qh |= uint32(q0>>4&1) << j
			qh |= uint32(q1>>4&1) << (j + 16)
		}
		yb[2], yb[3], yb[4], yb[5] = byte(qh), byte(qh>>8), byte(qh>>16), byte(qh>>24)
	}
}

func refQuantQ5_1(x []float32, y []byte) {
	for b := 0; b < len(x)/32; b++ {
		xb, yb := x[32*b:32*b+32], y[24*b:24*b+24]
		lo, hi := refMinMax(xb)
		d := (hi - lo) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		refPutU16(yb, refToF16(d))
		refPutU16(yb[2:], refToF16(lo))
		var qh uint32
		for j := range 16 {
			q0 := uint8(refTruncF(float32((xb[j]-lo)*id) + 0.5))
			q1 := uint8(refTruncF(float32((xb[16+j]-lo)*id) + 0.5))
			yb[8+j] = q0&15 | (q1&15)<<4
			qh |= uint32(q0>>4&1) << j
			qh |= uint32(q1>>4&1) << (j + 16)
		}
		yb[4], yb[5], yb[6], yb[7] = byte(qh), byte(qh>>8), byte(qh>>16), byte(qh>>24)
	}
}

func refAbs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

func refTruncF(v float32) int { return int(v) }

func refRoundAway(v float32) float32 { return float32(math.Round(float64(v))) }

func refSqrt32(v float32) float32 { return float32(math.Sqrt(float64(v))) }

func refNearestInt(f float32) int {
	v := float32(f) + 12582912
	return int(math.Float32bits(v)&0x007fffff) - 0x00400000
}

func refToF16(f float32) uint16 { return uint16(float16.Fromfloat32(f)) }

func refFromF16(h uint16) float32 { return float16.Frombits(h).Float32() }

func refPutU16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }

func refGetU16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }

func refMakeQKX2(nmax int, x, weights []float32, L, laux []uint8, rmin, rdelta float32, nstep int) (float32, float32) {
	n := len(x)
	lo, hi := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		lo, hi = min(lo, x[i]), max(hi, x[i])
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi == lo {
		for i := range L[:n] {
			L[i] = 0
		}
		return 0, -lo
	}
	fn := float32(nmax)
	iscale := fn / (hi - lo)
	scale := 1 / iscale
	var best float32
	for i := range n {
		l := max(0, min(nmax, refNearestInt(iscale*(x[i]-lo))))
		L[i] = uint8(l)
		diff := float32(scale*float32(l)) + lo - x[i]
		best += float32(weights[i] * float32(diff*diff))
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + fn) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i := range n {
			l := max(0, min(nmax, refNearestInt(iscale*(x[i]-lo))))
			laux[i] = uint8(l)
			w, fl := weights[i], float32(l)
			sumL += float32(w * fl)
			sumL2 += float32(w * fl * fl)
			sumXL += float32(w * fl * x[i])
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
			for i := range n {
				diff := float32(thisScale*float32(laux[i])) + thisMin - x[i]
				cur += float32(weights[i] * float32(diff*diff))
			}
			if cur < best {
				copy(L[:n], laux[:n])
				best, scale, lo = cur, thisScale, thisMin
			}
		}
	}
	return scale, -lo
}

func refMakeQX(nmax int, x []float32, L []int8) float32 {
	n := len(x)
	var mx, amax float32
	for _, v := range x {
		if a := refAbs32(v); a > amax {
			amax, mx = a, v
		}
	}
	if amax < groupMaxEps {
		for i := range L[:n] {
			L[i] = 0
		}
		return 0
	}
	fn := float32(nmax)
	iscale := -fn / mx
	var sumLX, sumL2 float32
	for i := range n {
		l := max(-nmax, min(nmax-1, refNearestInt(iscale*x[i])))
		L[i] = int8(l + nmax)
		w, fl := x[i]*x[i], float32(l)
		sumLX += float32(w * x[i] * fl)
		sumL2 += float32(w * fl * fl)
	}
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := scale * sumLX
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fn + float32(0.1*float32(is))) / mx
		sumLX, sumL2 = 0, 0
		for i := range n {
			l := max(-nmax, min(nmax-1, refNearestInt(iscale*x[i])))
			w, fl := x[i]*x[i], float32(l)
			sumLX += float32(w * x[i] * fl)
			sumL2 += float32(w * fl * fl)
		}
		if sumL2 > 0 && sumLX*sumLX > best*sumL2 {
			for i := range n {
				l := refNearestInt(iscale * x[i])
				L[i] = int8(nmax + max(-nmax, min(nmax-1, l)))
			}
			scale = sumLX / sumL2
			best = scale * sumLX
		}
	}
	return scale
}

func refPackScalesK(sc []byte, ls, lm *[8]uint8) {
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

func refScaleMinK4(j int, q []byte) (uint8, uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xF | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

func refQuantK45(x []float32, y []byte, nmax int, rmin float32, nstep int, L *[qkK]uint8) {
	var laux [32]uint8
	var weights [32]float32
	var scales, mins [8]float32
	var maxScale, maxMin float32
	for j := range 8 {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := refSqrt32(sumX2 / 32)
		for l, v := range xs {
			weights[l] = avX + refAbs32(v)
		}
		scales[j], mins[j] = refMakeQKX2(nmax, xs, weights[:], L[32*j:32*j+32], laux[:], rmin, 0.1, nstep)
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
		ls[j] = min(63, uint8(refNearestInt(invScale*scales[j])))
		lm[j] = min(63, uint8(refNearestInt(invMin*mins[j])))
	}
	sc := y[4:16]
	for i := range sc {
		sc[i] = 0
	}
	refPackScalesK(sc, &ls, &lm)
	refPutU16(y[0:], refToF16(maxScale/63))
	refPutU16(y[2:], refToF16(maxMin/63))
	d0, m0 := refFromF16(refGetU16(y[0:])), refFromF16(refGetU16(y[2:]))
	for j := range 8 {
		s, m := refScaleMinK4(j, sc)
		d := d0 * float32(s)
		if d == 0 {
			continue
		}
		dm := m0 * float32(m)
		for ii := range 32 {
			L[32*j+ii] = uint8(max(0, min(nmax, refNearestInt((x[32*j+ii]+dm)/d))))
		}
	}
}

func refQuantQ4K(x []float32, y []byte) {
	var L [qkK]uint8
	for b := 0; b < len(x)/qkK; b++ {
		xb, yb := x[qkK*b:qkK*(b+1)], y[144*b:144*(b+1)]
		refQuantK45(xb, yb, 15, -1, 20, &L)
		q := yb[16:]
		for j := 0; j < qkK; j += 64 {
			for l := range 32 {
				q[l] = L[j+l] | L[j+l+32]<<4
			}
			q = q[32:]
		}
	}
}

func refQuantQ5K(x []float32, y []byte) {
	var L [qkK]uint8
	for b := 0; b < len(x)/qkK; b++ {
		xb, yb := x[qkK*b:qkK*(b+1)], y[176*b:176*(b+1)]
		refQuantK45(xb, yb, 31, -0.5, 15, &L)
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

func refQuantQ6K(x []float32, y []byte) {
	var L [qkK]int8
	var scales [16]float32
	for b := 0; b < len(x)/qkK; b++ {
		xb, yb := x[qkK*b:qkK*(b+1)], y[210*b:210*(b+1)]
		var maxScale, maxAbs float32
		for ib := range 16 {
			s := refMakeQX(32, xb[16*ib:16*ib+16], L[16*ib:16*ib+16])
			scales[ib] = s
			if a := refAbs32(s); a > maxAbs {
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
		refPutU16(yb[208:], refToF16(1/iscale))
		sc := yb[192:208]
		for ib := range 16 {
			sc[ib] = byte(int8(min(127, refNearestInt(iscale*scales[ib]))))
		}
		d0 := refFromF16(refGetU16(yb[208:]))
		for j := range 16 {
			d := d0 * float32(int8(sc[j]))
			if d == 0 {
				continue
			}
			for ii := range 16 {
				l := max(-32, min(31, refNearestInt(xb[16*j+ii]/d)))
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
