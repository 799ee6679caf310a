//go:build amd64 && !purego

#include "textflag.h"

// 8×8 transpose of the rows in Y0–Y7 into columns Y8–Y15 (Y8: column 0).
#define TRANSPOSE8 \
	VUNPCKLPS Y1, Y0, Y8 \
	VUNPCKHPS Y1, Y0, Y9 \
	VUNPCKLPS Y3, Y2, Y10 \
	VUNPCKHPS Y3, Y2, Y11 \
	VUNPCKLPS Y5, Y4, Y12 \
	VUNPCKHPS Y5, Y4, Y13 \
	VUNPCKLPS Y7, Y6, Y14 \
	VUNPCKHPS Y7, Y6, Y15 \
	VSHUFPS $0x44, Y10, Y8, Y0 \
	VSHUFPS $0xEE, Y10, Y8, Y1 \
	VSHUFPS $0x44, Y11, Y9, Y2 \
	VSHUFPS $0xEE, Y11, Y9, Y3 \
	VSHUFPS $0x44, Y14, Y12, Y4 \
	VSHUFPS $0xEE, Y14, Y12, Y5 \
	VSHUFPS $0x44, Y15, Y13, Y6 \
	VSHUFPS $0xEE, Y15, Y13, Y7 \
	VPERM2F128 $0x20, Y4, Y0, Y8 \
	VPERM2F128 $0x20, Y5, Y1, Y9 \
	VPERM2F128 $0x20, Y6, Y2, Y10 \
	VPERM2F128 $0x20, Y7, Y3, Y11 \
	VPERM2F128 $0x31, Y4, Y0, Y12 \
	VPERM2F128 $0x31, Y5, Y1, Y13 \
	VPERM2F128 $0x31, Y6, Y2, Y14 \
	VPERM2F128 $0x31, Y7, Y3, Y15

// func packA12AVX(a *float32, lda, n int, alpha float32, panel *float32)
// panel[p·12+i] = alpha·a[i·lda+p] for i < 12, p < n (n a multiple of 8):
// per 8 columns, an 8×8 transpose of rows 0–7 and a 4×8 one of rows 8–11.
TEXT ·packA12AVX(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R8
	SHLQ $2, R8              // the row stride in bytes
	MOVQ n+16(FP), CX
	LEAQ alpha+24(FP), AX
	MOVQ panel+32(FP), DI
	LEAQ (R8)(R8*2), R9      // 3 rows
	LEAQ (R8)(R8*4), R10     // 5
	LEAQ (R9)(R8*4), R11     // 7
	LEAQ (R8)(R8*8), R12     // 9
	LEAQ (R11)(R8*4), R13    // 11
	SHRQ $3, CX
	JZ   done

loop:
	VBROADCASTSS (AX), Y15
	VMULPS (SI), Y15, Y0
	VMULPS (SI)(R8*1), Y15, Y1
	VMULPS (SI)(R8*2), Y15, Y2
	VMULPS (SI)(R9*1), Y15, Y3
	VMULPS (SI)(R8*4), Y15, Y4
	VMULPS (SI)(R10*1), Y15, Y5
	VMULPS (SI)(R9*2), Y15, Y6
	VMULPS (SI)(R11*1), Y15, Y7
	TRANSPOSE8
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 48(DI)
	VMOVUPS Y10, 96(DI)
	VMOVUPS Y11, 144(DI)
	VMOVUPS Y12, 192(DI)
	VMOVUPS Y13, 240(DI)
	VMOVUPS Y14, 288(DI)
	VMOVUPS Y15, 336(DI)

	// rows 8–11: four values per column
	VBROADCASTSS (AX), Y15
	VMULPS (SI)(R8*8), Y15, Y0
	VMULPS (SI)(R12*1), Y15, Y1
	VMULPS (SI)(R10*2), Y15, Y2
	VMULPS (SI)(R13*1), Y15, Y3
	VUNPCKLPS Y1, Y0, Y4
	VUNPCKHPS Y1, Y0, Y5
	VUNPCKLPS Y3, Y2, Y6
	VUNPCKHPS Y3, Y2, Y7
	VSHUFPS $0x44, Y6, Y4, Y0 // columns 0 | 4
	VSHUFPS $0xEE, Y6, Y4, Y1 // 1 | 5
	VSHUFPS $0x44, Y7, Y5, Y2 // 2 | 6
	VSHUFPS $0xEE, Y7, Y5, Y3 // 3 | 7
	VMOVUPS X0, 32(DI)
	VMOVUPS X1, 80(DI)
	VMOVUPS X2, 128(DI)
	VMOVUPS X3, 176(DI)
	VEXTRACTF128 $1, Y0, 224(DI)
	VEXTRACTF128 $1, Y1, 272(DI)
	VEXTRACTF128 $1, Y2, 320(DI)
	VEXTRACTF128 $1, Y3, 368(DI)

	ADDQ $32, SI
	ADDQ $384, DI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET

// func packT8AVX(dst, src *float32, offs *int, n int)
// 32 rows read transposed by 8×8 transposes: for b < n, g < 4, i, q < 8:
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

	TRANSPOSE8
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
