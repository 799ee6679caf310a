//go:build amd64 && !purego

#include "textflag.h"

// func normRowAVX2(dst, x *float32, n int, mean, inv float64)
// dst[i] = float32((float64(x[i]) − mean)·inv) for n a multiple of 8: x̂ of
// GroupNorm's backward, its Go loop's bits (float64 lanes, rounded once).
TEXT ·normRowAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSD mean+24(FP), Y8
	VBROADCASTSD inv+32(FP), Y9
	SHRQ $3, CX
	JZ doneN
loopN:
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y1
	VSUBPD Y8, Y0, Y0
	VSUBPD Y8, Y1, Y1
	VMULPD Y9, Y0, Y0
	VMULPD Y9, Y1, Y1
	VCVTPD2PSY Y0, X0
	VCVTPD2PSY Y1, X1
	VMOVUPS X0, (DI)
	VMOVUPS X1, 16(DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ loopN
doneN:
	VZEROUPPER
	RET

// func gnDxAVX2(dx, ga, xh *float32, n int, mf, gam, sG, sGX, scale float32)
// dx[i] = scale·(mf·ga[i]·gam − sG − xh[i]·sGX) for n a multiple of 8, in
// its Go expression's order: ((mf·ga)·gam − sG) − xh·sGX, then ·scale.
TEXT ·gnDxAVX2(SB), NOSPLIT, $0-52
	MOVQ dx+0(FP), DI
	MOVQ ga+8(FP), DX
	MOVQ xh+16(FP), SI
	MOVQ n+24(FP), CX
	VBROADCASTSS mf+32(FP), Y8
	VBROADCASTSS gam+36(FP), Y9
	VBROADCASTSS sG+40(FP), Y10
	VBROADCASTSS sGX+44(FP), Y11
	VBROADCASTSS scale+48(FP), Y12
	SHRQ $3, CX
	JZ doneD
loopD:
	VMOVUPS (DX), Y0
	VMULPS Y8, Y0, Y0
	VMULPS Y9, Y0, Y0
	VSUBPS Y10, Y0, Y0
	VMOVUPS (SI), Y1
	VMULPS Y11, Y1, Y1
	VSUBPS Y1, Y0, Y0
	VMULPS Y12, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DX
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ loopD
doneD:
	VZEROUPPER
	RET


// COLUMNS4(base) loads 4 values of each of the 4 groups at base, base+R8,
// base+2·R8, base+R9 (= 3·R8) and turns them by a 4×4 transpose into
// columns: Y8..Y11 hold, widened to float64, the q-th, …, (q+3)-th value of
// the four groups, one group per lane. Clobbers X0–X7.
#define COLUMNS4(base) \
	VMOVUPS (base), X0; \
	VMOVUPS (base)(R8*1), X1; \
	VMOVUPS (base)(R8*2), X2; \
	VMOVUPS (base)(R9*1), X3; \
	VUNPCKLPS X1, X0, X4; \
	VUNPCKHPS X1, X0, X5; \
	VUNPCKLPS X3, X2, X6; \
	VUNPCKHPS X3, X2, X7; \
	VMOVLHPS X6, X4, X8; \
	VMOVHLPS X4, X6, X9; \
	VMOVLHPS X7, X5, X10; \
	VMOVHLPS X5, X7, X11; \
	VCVTPS2PD X8, Y8; \
	VCVTPS2PD X9, Y9; \
	VCVTPS2PD X10, Y10; \
	VCVTPS2PD X11, Y11

// func groupSums8AVX2(x *float32, m, n int, sums *[8]float64)
// For the 8 groups of m values at x, x+m, …, x+7m: sums[g] += float64(x[g·m+q])
// for q < n (a multiple of 4), in the order of q: each lane of two YMM
// accumulators is one group's chain, as groupStatsOf's scalar chains.
TEXT ·groupSums8AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ m+8(FP), R8
	MOVQ n+16(FP), CX
	MOVQ sums+24(FP), DI
	SHLQ $2, R8              // bytes between groups
	LEAQ (R8)(R8*2), R9      // 3m
	LEAQ (SI)(R8*4), BX      // group 4
	VMOVUPD (DI), Y12
	VMOVUPD 32(DI), Y13
	SHRQ $2, CX
	JZ donegroupSums8AVX2
loopgroupSums8AVX2:
	COLUMNS4(SI)
	VADDPD Y8, Y12, Y12
	VADDPD Y9, Y12, Y12
	VADDPD Y10, Y12, Y12
	VADDPD Y11, Y12, Y12
	COLUMNS4(BX)
	VADDPD Y8, Y13, Y13
	VADDPD Y9, Y13, Y13
	VADDPD Y10, Y13, Y13
	VADDPD Y11, Y13, Y13
	ADDQ $16, SI
	ADDQ $16, BX
	DECQ CX
	JNZ loopgroupSums8AVX2
donegroupSums8AVX2:
	VMOVUPD Y12, (DI)
	VMOVUPD Y13, 32(DI)
	VZEROUPPER
	RET

// func groupSqSums8AVX2(x *float32, m, n int, means, sums *[8]float64)
// sums[g] += d·d, d = float64(x[g·m+q]) − means[g], for q < n (a multiple
// of 4), in the order of q (a subtract, a multiply, then an add: no FMA).
TEXT ·groupSqSums8AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ m+8(FP), R8
	MOVQ n+16(FP), CX
	MOVQ means+24(FP), DX
	MOVQ sums+32(FP), DI
	VMOVUPD (DX), Y14
	VMOVUPD 32(DX), Y15
	SHLQ $2, R8              // bytes between groups
	LEAQ (R8)(R8*2), R9      // 3m
	LEAQ (SI)(R8*4), BX      // group 4
	VMOVUPD (DI), Y12
	VMOVUPD 32(DI), Y13
	SHRQ $2, CX
	JZ donegroupSqSums8AVX2
loopgroupSqSums8AVX2:
	COLUMNS4(SI)
	VSUBPD Y14, Y8, Y8
	VMULPD Y8, Y8, Y8
	VADDPD Y8, Y12, Y12
	VSUBPD Y14, Y9, Y9
	VMULPD Y9, Y9, Y9
	VADDPD Y9, Y12, Y12
	VSUBPD Y14, Y10, Y10
	VMULPD Y10, Y10, Y10
	VADDPD Y10, Y12, Y12
	VSUBPD Y14, Y11, Y11
	VMULPD Y11, Y11, Y11
	VADDPD Y11, Y12, Y12
	COLUMNS4(BX)
	VSUBPD Y15, Y8, Y8
	VMULPD Y8, Y8, Y8
	VADDPD Y8, Y13, Y13
	VSUBPD Y15, Y9, Y9
	VMULPD Y9, Y9, Y9
	VADDPD Y9, Y13, Y13
	VSUBPD Y15, Y10, Y10
	VMULPD Y10, Y10, Y10
	VADDPD Y10, Y13, Y13
	VSUBPD Y15, Y11, Y11
	VMULPD Y11, Y11, Y11
	VADDPD Y11, Y13, Y13
	ADDQ $16, SI
	ADDQ $16, BX
	DECQ CX
	JNZ loopgroupSqSums8AVX2
donegroupSqSums8AVX2:
	VMOVUPD Y12, (DI)
	VMOVUPD Y13, 32(DI)
	VZEROUPPER
	RET
