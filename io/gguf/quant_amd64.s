#include "textflag.h"

// func qxSumsAVX2(x, w, wx *[16]float32, isc, sLX, sL2 *[24]float32, nmax int)
// Three groups of 8 lanes, one trial scale per lane; per element: l = nearestInt(isc·x) by the 1.5·2²³
// trick, clamped to [-nmax, nmax-1], then sLX += wx·l and sL2 += (w·l)·l in element order.
TEXT ·qxSumsAVX2(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DX
	MOVQ wx+16(FP), BX
	MOVQ isc+24(FP), R8
	MOVQ sLX+32(FP), R9
	MOVQ sL2+40(FP), R10
	MOVQ nmax+48(FP), AX
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
	VMOVUPS (R8), Y0
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
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	DECQ R11
	JNZ vec
	VZEROUPPER
	RET
