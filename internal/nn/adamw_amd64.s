//go:build amd64 && !purego

#include "textflag.h"

// AdamW's update of float32 parameters with float32 gradients and float64
// moments, adamwRange's float64 operations in its order (no FMA), so the
// bits are the Go loop's. k holds the step's constants: scale, lr·wd, β₁,
// 1−β₁, β₂, 1−β₂, bc1, bc2, lr, eps.

// func adamwAVX512(d, gr *float32, m, v *float64, n int, k *[10]float64)
// n a multiple of 8.
TEXT ·adamwAVX512(SB), NOSPLIT, $0-48
	MOVQ d+0(FP), DI
	MOVQ gr+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	VBROADCASTSD 0(AX), Z16  // scale
	VBROADCASTSD 8(AX), Z17  // lr·wd
	VBROADCASTSD 16(AX), Z18 // β₁
	VBROADCASTSD 24(AX), Z19 // 1−β₁
	VBROADCASTSD 32(AX), Z20 // β₂
	VBROADCASTSD 40(AX), Z21 // 1−β₂
	VBROADCASTSD 48(AX), Z22 // bc1
	VBROADCASTSD 56(AX), Z23 // bc2
	VBROADCASTSD 64(AX), Z24 // lr
	VBROADCASTSD 72(AX), Z25 // eps
	SHRQ $3, CX
	JZ done512
loop512:
	VCVTPS2PD (SI), Z0       // g
	VMULPD Z16, Z0, Z0       // gi = g·scale
	VCVTPS2PD (DI), Z1       // θ
	VMULPD Z1, Z17, Z2
	VSUBPD Z2, Z1, Z1        // θ − (lr·wd)·θ
	VMOVUPD (R8), Z3
	VMULPD Z3, Z18, Z3       // β₁·m
	VMULPD Z0, Z19, Z2       // (1−β₁)·gi
	VADDPD Z2, Z3, Z3
	VMOVUPD Z3, (R8)
	VMOVUPD (R9), Z4
	VMULPD Z4, Z20, Z4       // β₂·v
	VMULPD Z0, Z21, Z2
	VMULPD Z0, Z2, Z2        // ((1−β₂)·gi)·gi
	VADDPD Z2, Z4, Z4
	VMOVUPD Z4, (R9)
	VDIVPD Z23, Z4, Z4       // v/bc2
	VSQRTPD Z4, Z4
	VADDPD Z25, Z4, Z4       // √(v/bc2) + eps
	VDIVPD Z22, Z3, Z3       // m/bc1
	VMULPD Z3, Z24, Z3       // lr·(m/bc1)
	VDIVPD Z4, Z3, Z3
	VSUBPD Z3, Z1, Z1
	VCVTPD2PS Z1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $64, R8
	ADDQ $64, R9
	DECQ CX
	JNZ loop512
done512:
	VZEROUPPER
	RET

// func adamwAVX2(d, gr *float32, m, v *float64, n int, k *[10]float64)
// n a multiple of 4.
TEXT ·adamwAVX2(SB), NOSPLIT, $0-48
	MOVQ d+0(FP), DI
	MOVQ gr+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	VBROADCASTSD 0(AX), Y5
	VBROADCASTSD 8(AX), Y6
	VBROADCASTSD 16(AX), Y7
	VBROADCASTSD 24(AX), Y8
	VBROADCASTSD 32(AX), Y9
	VBROADCASTSD 40(AX), Y10
	VBROADCASTSD 48(AX), Y11
	VBROADCASTSD 56(AX), Y12
	VBROADCASTSD 64(AX), Y13
	VBROADCASTSD 72(AX), Y14
	SHRQ $2, CX
	JZ done2
loop2:
	VCVTPS2PD (SI), Y0
	VMULPD Y5, Y0, Y0
	VCVTPS2PD (DI), Y1
	VMULPD Y1, Y6, Y2
	VSUBPD Y2, Y1, Y1
	VMOVUPD (R8), Y3
	VMULPD Y3, Y7, Y3
	VMULPD Y0, Y8, Y2
	VADDPD Y2, Y3, Y3
	VMOVUPD Y3, (R8)
	VMOVUPD (R9), Y4
	VMULPD Y4, Y9, Y4
	VMULPD Y0, Y10, Y2
	VMULPD Y0, Y2, Y2
	VADDPD Y2, Y4, Y4
	VMOVUPD Y4, (R9)
	VDIVPD Y12, Y4, Y4
	VSQRTPD Y4, Y4
	VADDPD Y14, Y4, Y4
	VDIVPD Y11, Y3, Y3
	VMULPD Y3, Y13, Y3
	VDIVPD Y4, Y3, Y3
	VSUBPD Y3, Y1, Y1
	VCVTPD2PSY Y1, X1
	VMOVUPS X1, (DI)
	ADDQ $16, DI
	ADDQ $16, SI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ loop2
done2:
	VZEROUPPER
	RET
