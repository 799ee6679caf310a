//go:build amd64 && !purego

#include "textflag.h"

// func kernel2x32AVX2(k int, a, b, c *float32, ldc int)
// C[0:2, 0:32] += Ap[k×12 rows, first two]ᵀ · Bp[k×32]: two rows of the 12×32 micro-tile with
// AVX2 FMA, for CPUs without AVX-512 (the packed A panel keeps its stride of 12 values). Each
// element is accumulated from zero in the order of p and then added to C, as the AVX-512 kernel
// does, so the two kernels give the same bits.
TEXT ·kernel2x32AVX2(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TESTQ CX, CX
	JZ store
	PCALIGN $32
loop:
	VMOVUPS 0(DI), Y8
	VMOVUPS 32(DI), Y9
	VMOVUPS 64(DI), Y10
	VMOVUPS 96(DI), Y11
	VBROADCASTSS 0(SI), Y12
	VFMADD231PS Y8, Y12, Y0
	VFMADD231PS Y9, Y12, Y1
	VFMADD231PS Y10, Y12, Y2
	VFMADD231PS Y11, Y12, Y3
	VBROADCASTSS 4(SI), Y13
	VFMADD231PS Y8, Y13, Y4
	VFMADD231PS Y9, Y13, Y5
	VFMADD231PS Y10, Y13, Y6
	VFMADD231PS Y11, Y13, Y7
	ADDQ $48, SI
	ADDQ $128, DI
	DECQ CX
	JNZ loop
store:
	VADDPS 0(DX), Y0, Y0
	VMOVUPS Y0, 0(DX)
	VADDPS 32(DX), Y1, Y1
	VMOVUPS Y1, 32(DX)
	VADDPS 64(DX), Y2, Y2
	VMOVUPS Y2, 64(DX)
	VADDPS 96(DX), Y3, Y3
	VMOVUPS Y3, 96(DX)
	ADDQ R8, DX
	VADDPS 0(DX), Y4, Y4
	VMOVUPS Y4, 0(DX)
	VADDPS 32(DX), Y5, Y5
	VMOVUPS Y5, 32(DX)
	VADDPS 64(DX), Y6, Y6
	VMOVUPS Y6, 64(DX)
	VADDPS 96(DX), Y7, Y7
	VMOVUPS Y7, 96(DX)
	VZEROUPPER
	RET
