#include "textflag.h"

// func qxSumsAVX2(x, w, wx *[16]float32, num *[24]float32, mx float32, isc, sLX, sL2 *[24]float32, nmax int)
// Three groups of 8 lanes, one trial scale per lane, isc = num/mx (stored); per element:
// l = nearestInt(isc·x) by the 1.5·2²³ trick, clamped to [-nmax, nmax-1], then sLX += wx·l and
// sL2 += (w·l)·l in element order.
TEXT ·qxSumsAVX2(SB), NOSPLIT, $0-72
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DX
	MOVQ wx+16(FP), BX
	MOVQ num+24(FP), R12
	VBROADCASTSS mx+32(FP), Y9
	MOVQ isc+40(FP), R8
	MOVQ sLX+48(FP), R9
	MOVQ sL2+56(FP), R10
	MOVQ nmax+64(FP), AX
	MOVL $0x4b400000, CX // 12582912.0
	MOVQ CX, X0
	VPBROADCASTD X0, Y10
	MOVL $0x7fffff, CX
	MOVQ CX, X0
	VPBROADCASTD X0, Y11
	MOVL $0x400000, CX
	MOVQ CX, X0
	VPBROADCASTD X0, Y12
	MOVL AX, CX
	DECL CX // nmax-1
	MOVQ CX, X0
	VPBROADCASTD X0, Y13
	MOVL AX, CX
	NEGL CX // -nmax
	MOVQ CX, X0
	VPBROADCASTD X0, Y14
	MOVQ $3, R11
vec:
	VMOVUPS (R12), Y0
	VDIVPS Y9, Y0, Y0
	VMOVUPS Y0, (R8)
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	XORQ CX, CX
elem:
	VBROADCASTSS (SI)(CX*1), Y3
	VMULPS Y3, Y0, Y3
	VADDPS Y10, Y3, Y3
	VPAND Y11, Y3, Y3
	VPSUBD Y12, Y3, Y3
	VPMINSD Y13, Y3, Y3
	VPMAXSD Y14, Y3, Y3
	VCVTDQ2PS Y3, Y3
	VBROADCASTSS (BX)(CX*1), Y4
	VMULPS Y3, Y4, Y4
	VADDPS Y4, Y1, Y1
	VBROADCASTSS (DX)(CX*1), Y5
	VMULPS Y3, Y5, Y5
	VMULPS Y3, Y5, Y5
	VADDPS Y5, Y2, Y2
	ADDQ $4, CX
	CMPQ CX, $64
	JLT elem
	VMOVUPS Y1, (R9)
	VMOVUPS Y2, (R10)
	ADDQ $32, R12
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	DECQ R11
	JNZ vec
	VZEROUPPER
	RET

// broadcast constants of nearestInt (1.5·2²³, mantissa mask, 2²²), the clamp bounds 0 and nmax (from AX)
#define QKX_CONSTS \
	MOVL $0x4b400000, CX \
	MOVQ CX, X0 \
	VPBROADCASTD X0, Y10 \
	MOVL $0x7fffff, CX \
	MOVQ CX, X0 \
	VPBROADCASTD X0, Y11 \
	MOVL $0x400000, CX \
	MOVQ CX, X0 \
	VPBROADCASTD X0, Y12 \
	MOVQ AX, X0 \
	VPBROADCASTD X0, Y13 \
	VPXOR Y14, Y14, Y14

// Y4 = float32(clamp(nearestInt(Y0·xm[CX/4]), 0, nmax))
#define QKX_LEVEL \
	VBROADCASTSS (DI)(CX*1), Y4 \
	VMULPS Y4, Y0, Y4 \
	VADDPS Y10, Y4, Y4 \
	VPAND Y11, Y4, Y4 \
	VPSUBD Y12, Y4, Y4 \
	VPMINSD Y13, Y4, Y4 \
	VPMAXSD Y14, Y4, Y4 \
	VCVTDQ2PS Y4, Y4

// func q8AbsMaxAVX2(x *float32, amax *float32, nb int)
// amax[b] = max |x[32b+j]| over the 32 values of each of nb blocks (max is exact in any order).
TEXT ·q8AbsMaxAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ amax+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVL $0x7fffffff, AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y15
amaxloop:
	VANDPS (SI), Y15, Y0
	VANDPS 32(SI), Y15, Y1
	VANDPS 64(SI), Y15, Y2
	VANDPS 96(SI), Y15, Y3
	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, (DI)
	ADDQ $128, SI
	ADDQ $4, DI
	DECQ CX
	JNZ amaxloop
	VZEROUPPER
	RET

// func q8RoundAVX2(x *float32, id *float32, y *byte, nb int)
// For each of nb blocks: y[34b+2+j] = low byte of (int32)(v + copysign(0x1.fffffep-2, v)), v = x[32b+j]·id[b]
// (roundAwayInt), the two scale bytes y[34b:34b+2] left alone.
TEXT ·q8RoundAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ id+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVL $0x80000000, AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y12 // sign bit
	MOVL $0x3effffff, AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y13 // the float just below 1/2
	MOVL $0xff, AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y14 // low byte
	MOVQ $0x0703060205010400, AX
	MOVQ AX, X0
	VPMOVZXBD X0, Y15 // dword order 0,4,1,5,2,6,3,7
roundloop:
	VBROADCASTSS (DX), Y11
	VMULPS (SI), Y11, Y0
	VMULPS 32(SI), Y11, Y1
	VMULPS 64(SI), Y11, Y2
	VMULPS 96(SI), Y11, Y3
	VANDPS Y12, Y0, Y4
	VORPS Y13, Y4, Y4
	VADDPS Y4, Y0, Y0
	VANDPS Y12, Y1, Y5
	VORPS Y13, Y5, Y5
	VADDPS Y5, Y1, Y1
	VANDPS Y12, Y2, Y6
	VORPS Y13, Y6, Y6
	VADDPS Y6, Y2, Y2
	VANDPS Y12, Y3, Y7
	VORPS Y13, Y7, Y7
	VADDPS Y7, Y3, Y3
	VCVTTPS2DQ Y0, Y0
	VCVTTPS2DQ Y1, Y1
	VCVTTPS2DQ Y2, Y2
	VCVTTPS2DQ Y3, Y3
	VPAND Y14, Y0, Y0
	VPAND Y14, Y1, Y1
	VPAND Y14, Y2, Y2
	VPAND Y14, Y3, Y3
	VPACKUSDW Y1, Y0, Y0
	VPACKUSDW Y3, Y2, Y2
	VPACKUSWB Y2, Y0, Y0
	VPERMD Y0, Y15, Y0
	VMOVDQU Y0, 2(DI)
	ADDQ $128, SI
	ADDQ $4, DX
	ADDQ $34, DI
	DECQ CX
	JNZ roundloop
	VZEROUPPER
	RET

// func q4MaxAVX2(x *float32, amax *float32, idx *int32, nb int)
// For each of nb blocks of 32: amax[b] = max |x|, idx[b] = the first j with |x[32b+j]| = amax[b].
TEXT ·q4MaxAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ amax+8(FP), DI
	MOVQ idx+16(FP), DX
	MOVQ nb+24(FP), CX
	MOVL $0x7fffffff, AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y15
q4maxloop:
	VANDPS (SI), Y15, Y0
	VANDPS 32(SI), Y15, Y1
	VANDPS 64(SI), Y15, Y2
	VANDPS 96(SI), Y15, Y3
	VMAXPS Y1, Y0, Y4
	VMAXPS Y3, Y2, Y5
	VMAXPS Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0x4e, X4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0xb1, X4, X5
	VMAXPS X5, X4, X4
	VMOVSS X4, (DI)
	VBROADCASTSS X4, Y4
	VCMPPS $0, Y4, Y0, Y0
	VCMPPS $0, Y4, Y1, Y1
	VCMPPS $0, Y4, Y2, Y2
	VCMPPS $0, Y4, Y3, Y3
	VMOVMSKPS Y0, AX
	VMOVMSKPS Y1, BX
	SHLL $8, BX
	ORL BX, AX
	VMOVMSKPS Y2, BX
	SHLL $16, BX
	ORL BX, AX
	VMOVMSKPS Y3, BX
	SHLL $24, BX
	ORL BX, AX
	BSFL AX, AX
	MOVL AX, (DX)
	ADDQ $128, SI
	ADDQ $4, DI
	ADDQ $4, DX
	DECQ CX
	JNZ q4maxloop
	VZEROUPPER
	RET

// func q4RoundAVX2(x *float32, id *float32, y *byte, nb int)
// For each of nb blocks: q = min(15, (int32)(x·id[b] + 8.5)), y[18b+2+j] = q[j] | q[16+j]<<4 (low bytes),
// the two scale bytes left alone.
TEXT ·q4RoundAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ id+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVL $0x41080000, AX // 8.5
	MOVQ AX, X0
	VPBROADCASTD X0, Y13
	MOVL $15, AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y14
	MOVL $0xff, AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y15
q4roundloop:
	VBROADCASTSS (DX), Y12
	VMULPS (SI), Y12, Y0
	VMULPS 32(SI), Y12, Y1
	VMULPS 64(SI), Y12, Y2
	VMULPS 96(SI), Y12, Y3
	VADDPS Y13, Y0, Y0
	VADDPS Y13, Y1, Y1
	VADDPS Y13, Y2, Y2
	VADDPS Y13, Y3, Y3
	VCVTTPS2DQ Y0, Y0
	VCVTTPS2DQ Y1, Y1
	VCVTTPS2DQ Y2, Y2
	VCVTTPS2DQ Y3, Y3
	VPMINSD Y14, Y0, Y0
	VPMINSD Y14, Y1, Y1
	VPMINSD Y14, Y2, Y2
	VPMINSD Y14, Y3, Y3
	VPSLLD $4, Y2, Y2
	VPSLLD $4, Y3, Y3
	VPOR Y2, Y0, Y0
	VPOR Y3, Y1, Y1
	VPAND Y15, Y0, Y0
	VPAND Y15, Y1, Y1
	VPACKUSDW Y1, Y0, Y0
	VPERMQ $0xd8, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB X1, X0, X0
	VMOVDQU X0, 2(DI)
	ADDQ $128, SI
	ADDQ $4, DX
	ADDQ $18, DI
	DECQ CX
	JNZ q4roundloop
	VZEROUPPER
	RET

// func qkxBatchAVX2(xm, x, w *[32]float32, num *[8]float32, den float32, isc *[8]float32, sw *[2]float32, over, overScale, overMin *[8]float32, out *[32]float32, scratch *[256]float32, nmax int)
// One makeQKX2 batch of 8 trial scales isc = num/den (stored): the sums as qkxSumsAVX2 (levels kept in scratch), then per lane
// D = sumW·sumL2 - sumL·sumL, scale = (sumW·sumXL - sumX·sumL)/D, min = (sumL2·sumX - sumL·sumXL)/D, or
// scale = sumXL/sumL2 and min = 0 when min > 0; lanes whose over[k] has the sign bit set take overScale[k],
// overMin[k] instead; then the weighted error as qkxErrAVX2. out = cur[8], scale[8], min[8], D[8].
TEXT ·qkxBatchAVX2(SB), NOSPLIT, $0-104
	MOVQ xm+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ num+24(FP), R8
	VBROADCASTSS den+32(FP), Y1
	MOVQ isc+40(FP), R9
	MOVQ scratch+88(FP), R12
	MOVQ nmax+96(FP), AX
	QKX_CONSTS
	VMOVUPS (R8), Y0
	VDIVPS Y1, Y0, Y0
	VMOVUPS Y0, (R9)
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ CX, CX
	MOVQ R12, R13
bsums:
	QKX_LEVEL
	VMOVUPS Y4, (R13)
	VBROADCASTSS (DX)(CX*1), Y5
	VMULPS Y4, Y5, Y5
	VADDPS Y5, Y1, Y1
	VMULPS Y4, Y5, Y6
	VADDPS Y6, Y2, Y2
	VBROADCASTSS (SI)(CX*1), Y7
	VMULPS Y7, Y5, Y7
	VADDPS Y7, Y3, Y3
	ADDQ $32, R13
	ADDQ $4, CX
	CMPQ CX, $128
	JLT bsums
	MOVQ sw+48(FP), R9
	VBROADCASTSS (R9), Y5  // sumW
	VBROADCASTSS 4(R9), Y6 // sumX
	VMULPS Y2, Y5, Y7
	VMULPS Y1, Y1, Y8
	VSUBPS Y8, Y7, Y7      // D
	VMULPS Y3, Y5, Y8
	VMULPS Y1, Y6, Y9
	VSUBPS Y9, Y8, Y8
	VDIVPS Y7, Y8, Y8      // scale
	VMULPS Y6, Y2, Y9
	VMULPS Y3, Y1, Y4
	VSUBPS Y4, Y9, Y9
	VDIVPS Y7, Y9, Y9      // min
	VDIVPS Y2, Y3, Y4      // sumXL/sumL2
	VCMPPS $0x1e, Y14, Y9, Y5 // min > 0
	VBLENDVPS Y5, Y4, Y8, Y8
	VBLENDVPS Y5, Y14, Y9, Y9
	MOVQ over+56(FP), R9
	VMOVUPS (R9), Y5
	MOVQ overScale+64(FP), R9
	VMOVUPS (R9), Y4
	VBLENDVPS Y5, Y4, Y8, Y1
	MOVQ overMin+72(FP), R9
	VMOVUPS (R9), Y4
	VBLENDVPS Y5, Y4, Y9, Y2
	MOVQ out+80(FP), R11
	VMOVUPS Y1, 32(R11)
	VMOVUPS Y2, 64(R11)
	VMOVUPS Y7, 96(R11)
	VXORPS Y3, Y3, Y3
	XORQ CX, CX
	MOVQ R12, R13
berr:
	VMOVUPS (R13), Y4
	VMULPS Y4, Y1, Y4
	VADDPS Y2, Y4, Y4
	VBROADCASTSS (SI)(CX*1), Y5
	VSUBPS Y5, Y4, Y4
	VMULPS Y4, Y4, Y4
	VBROADCASTSS (DX)(CX*1), Y6
	VMULPS Y4, Y6, Y6
	VADDPS Y6, Y3, Y3
	ADDQ $32, R13
	ADDQ $4, CX
	CMPQ CX, $128
	JLT berr
	VMOVUPS Y3, (R11)
	VZEROUPPER
	RET

// func levelsAVX2(x *float32, n int, add, div float32, lo, hi, off int32, out *byte)
// out[i] = clamp(nearestInt((x[i]+add)/div), lo, hi) + off for n (a multiple of 8) values, as bytes.
TEXT ·levelsAVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS add+16(FP), Y8
	VBROADCASTSS div+20(FP), Y9
	MOVL lo+24(FP), AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y13
	MOVL hi+28(FP), AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y14
	MOVL off+32(FP), AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y15
	MOVQ out+40(FP), DI
	MOVL $0x4b400000, AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y10
	MOVL $0x7fffff, AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y11
	MOVL $0x400000, AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y12
	SHRQ $3, CX
	JZ levelsdone
levelsloop:
	VADDPS (SI), Y8, Y0
	VDIVPS Y9, Y0, Y0
	VADDPS Y10, Y0, Y0
	VPAND Y11, Y0, Y0
	VPSUBD Y12, Y0, Y0
	VPMINSD Y14, Y0, Y0
	VPMAXSD Y13, Y0, Y0
	VPADDD Y15, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSDW X1, X0, X0
	VPACKUSWB X0, X0, X0
	MOVQ X0, (DI)
	ADDQ $32, SI
	ADDQ $8, DI
	DECQ CX
	JNZ levelsloop
levelsdone:
	VZEROUPPER
	RET
