//go:build amd64 && !purego

#include "textflag.h"

// func packPanelsAVX512(dst, xp *float32, offs *int, n, add, step int)
// for i < n: dst[32i : 32i+16] = xp[offs[i]+add : +16],
//            dst[32i+16 : 32i+32] = xp[offs[i]+add+step : +16].
TEXT ·packPanelsAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ xp+8(FP), SI
	MOVQ offs+16(FP), BX
	MOVQ n+24(FP), CX
	MOVQ add+32(FP), R8
	MOVQ step+40(FP), R9
	SHLQ $2, R9

loop:
	TESTQ CX, CX
	JEQ   done
	MOVQ  (BX), AX
	ADDQ  R8, AX
	LEAQ  (SI)(AX*4), DX
	VMOVUPS (DX), Z0
	VMOVUPS (DX)(R9*1), Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ  $8, BX
	ADDQ  $128, DI
	DECQ  CX
	JMP   loop

done:
	VZEROUPPER
	RET

// func packPanels8AVX(dst, xp *float32, offs *int, n, add, step int)
// for i < n, q < 4: dst[32i+8q : +8] = xp[offs[i]+add+q·step : +8] (AVX registers only).
TEXT ·packPanels8AVX(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ xp+8(FP), SI
	MOVQ offs+16(FP), BX
	MOVQ n+24(FP), CX
	MOVQ add+32(FP), R8
	MOVQ step+40(FP), R9
	SHLQ $2, R9

loop8:
	TESTQ CX, CX
	JEQ   done8
	MOVQ  (BX), AX
	ADDQ  R8, AX
	LEAQ  (SI)(AX*4), DX
	VMOVUPS (DX), Y0
	ADDQ  R9, DX
	VMOVUPS (DX), Y1
	ADDQ  R9, DX
	VMOVUPS (DX), Y2
	ADDQ  R9, DX
	VMOVUPS (DX), Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ  $8, BX
	ADDQ  $128, DI
	DECQ  CX
	JMP   loop8

done8:
	VZEROUPPER
	RET

// func packPanels16AVX(dst, xp *float32, offs *int, n, add, step int)
// packPanelsAVX512 with AVX registers: for i < n,
//            dst[32i : 32i+16] = xp[offs[i]+add : +16],
//            dst[32i+16 : 32i+32] = xp[offs[i]+add+step : +16].
TEXT ·packPanels16AVX(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ xp+8(FP), SI
	MOVQ offs+16(FP), BX
	MOVQ n+24(FP), CX
	MOVQ add+32(FP), R8
	MOVQ step+40(FP), R9
	SHLQ $2, R9

loop16:
	TESTQ CX, CX
	JEQ   done16
	MOVQ  (BX), AX
	ADDQ  R8, AX
	LEAQ  (SI)(AX*4), DX
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	ADDQ  R9, DX
	VMOVUPS (DX), Y2
	VMOVUPS 32(DX), Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ  $8, BX
	ADDQ  $128, DI
	DECQ  CX
	JMP   loop16

done16:
	VZEROUPPER
	RET
