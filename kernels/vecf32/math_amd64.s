#include "textflag.h"

// float64 constants for e^x = 2ⁿ·e^r, n = round(x·log2e), r = x − n·ln2, e^r by its degree-9 Taylor polynomial
// (the same algorithm as expPoly in math.go, with FMAs).
DATA expc<>+0(SB)/8, $1.4426950408889634   // log2e
DATA expc<>+8(SB)/8, $0.6931471805599453   // ln2
DATA expc<>+16(SB)/8, $2.7557319223985893e-06 // 1/9!
DATA expc<>+24(SB)/8, $2.48015873015873e-05   // 1/8!
DATA expc<>+32(SB)/8, $0.0001984126984126984  // 1/7!
DATA expc<>+40(SB)/8, $0.001388888888888889   // 1/6!
DATA expc<>+48(SB)/8, $0.008333333333333333   // 1/5!
DATA expc<>+56(SB)/8, $0.041666666666666664   // 1/4!
DATA expc<>+64(SB)/8, $0.16666666666666666    // 1/3!
DATA expc<>+72(SB)/8, $0.5                    // 1/2!
DATA expc<>+80(SB)/8, $1.0
DATA expc<>+88(SB)/8, $-200.0                 // e^x rounds to 0 in float32 below
DATA expc<>+96(SB)/8, $100.0                  // and to +Inf above
DATA expc<>+104(SB)/8, $0x8000000000000000    // sign bit
GLOBL expc<>(SB), RODATA|NOPTR, $112

// EXP8 sets Z3 = e^Z1 for 8 float64 lanes with Z1 in [-200, 100]; clobbers Z2.
#define EXP8 \
	VMULPD.BCST expc<>+0(SB), Z1, Z2 \
	VRNDSCALEPD $0, Z2, Z2 \
	VFNMADD231PD.BCST expc<>+8(SB), Z2, Z1 \
	VBROADCASTSD expc<>+16(SB), Z3 \
	VFMADD213PD.BCST expc<>+24(SB), Z1, Z3 \
	VFMADD213PD.BCST expc<>+32(SB), Z1, Z3 \
	VFMADD213PD.BCST expc<>+40(SB), Z1, Z3 \
	VFMADD213PD.BCST expc<>+48(SB), Z1, Z3 \
	VFMADD213PD.BCST expc<>+56(SB), Z1, Z3 \
	VFMADD213PD.BCST expc<>+64(SB), Z1, Z3 \
	VFMADD213PD.BCST expc<>+72(SB), Z1, Z3 \
	VFMADD213PD.BCST expc<>+80(SB), Z1, Z3 \
	VFMADD213PD.BCST expc<>+80(SB), Z1, Z3 \
	VSCALEFPD Z2, Z3, Z3

// func expAVX512(dst, src *float32, n int)
// dst[i] = e^src[i] for n (a multiple of 8) elements, in float64 rounded once to float32; NaN stays NaN.
TEXT ·expAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   done
loop:
	VCVTPS2PD (SI), Z0
	VCMPPD $3, Z0, Z0, K1 // NaN lanes
	VMAXPD.BCST expc<>+88(SB), Z0, Z1
	VMINPD.BCST expc<>+96(SB), Z1, Z1
	EXP8
	VMOVAPD Z0, K1, Z3
	VCVTPD2PS Z3, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  loop
done:
	VZEROUPPER
	RET

// func logisticAVX512(dst, src *float32, n int)
// dst[i] = 1/(1+e^−x) for x ≥ 0 and e^x/(1+e^x) for x < 0 (x = src[i]), for n (a multiple of 8) elements, in
// float64 rounded once to float32; NaN stays NaN.
TEXT ·logisticAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VPXORQ Z9, Z9, Z9
	SHRQ $3, CX
	JZ   ldone
lloop:
	VCVTPS2PD (SI), Z0
	VCMPPD $3, Z0, Z0, K1 // NaN lanes
	VCMPPD $1, Z9, Z0, K2 // x < 0
	VPORQ.BCST expc<>+104(SB), Z0, Z1 // −|x|
	VMAXPD.BCST expc<>+88(SB), Z1, Z1
	EXP8 // Z3 = e^−|x|
	VADDPD.BCST expc<>+80(SB), Z3, Z4 // 1 + e^−|x|
	VBROADCASTSD expc<>+80(SB), Z5
	VMOVAPD Z3, K2, Z5 // numerator: 1, or e^x for x < 0
	VDIVPD Z4, Z5, Z5
	VMOVAPD Z0, K1, Z5
	VCVTPD2PS Z5, Y5
	VMOVUPS Y5, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  lloop
ldone:
	VZEROUPPER
	RET
