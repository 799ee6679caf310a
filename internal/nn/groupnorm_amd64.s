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
