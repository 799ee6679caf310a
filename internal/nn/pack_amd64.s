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

// func packT8AVX(dst, src *float32, offs *int, n int)
// The filter gradient's panels by 8×8 transposes: for b < n, g < 4, i, q < 8:
//   dst[(8b+q)·32 + 8g+i] = src[offs[8g+i] + 8b + q]
// (32 patch rows, 8n positions read contiguously from each; AVX registers only).
TEXT ·packT8AVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ offs+16(FP), BX
	MOVQ n+24(FP), CX

blockT:
	TESTQ CX, CX
	JEQ   doneT
	MOVQ  BX, R10 // offsets of this group
	MOVQ  DI, R11 // its 8 columns of the 8 position rows
	MOVQ  $4, R12

groupT:
	MOVQ    (R10), AX
	VMOVUPS (SI)(AX*4), Y0
	MOVQ    8(R10), AX
	VMOVUPS (SI)(AX*4), Y1
	MOVQ    16(R10), AX
	VMOVUPS (SI)(AX*4), Y2
	MOVQ    24(R10), AX
	VMOVUPS (SI)(AX*4), Y3
	MOVQ    32(R10), AX
	VMOVUPS (SI)(AX*4), Y4
	MOVQ    40(R10), AX
	VMOVUPS (SI)(AX*4), Y5
	MOVQ    48(R10), AX
	VMOVUPS (SI)(AX*4), Y6
	MOVQ    56(R10), AX
	VMOVUPS (SI)(AX*4), Y7

	// pairs of rows interleaved
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	// columns q | q+4 of rows 0–3 and 4–7
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	// whole columns
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS Y8, (R11)
	VMOVUPS Y9, 128(R11)
	VMOVUPS Y10, 256(R11)
	VMOVUPS Y11, 384(R11)
	VMOVUPS Y12, 512(R11)
	VMOVUPS Y13, 640(R11)
	VMOVUPS Y14, 768(R11)
	VMOVUPS Y15, 896(R11)

	ADDQ $64, R10
	ADDQ $32, R11
	DECQ R12
	JNE  groupT

	ADDQ $32, SI    // the next 8 positions
	ADDQ $1024, DI  // 8 rows of 32
	DECQ CX
	JMP  blockT

doneT:
	VZEROUPPER
	RET
