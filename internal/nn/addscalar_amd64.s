//go:build amd64 && !purego

#include "textflag.h"

// func addScalarAVX2(dst, src *float32, n int, v float32)
// dst[i] = src[i] + v for n a multiple of 8 (dst may be src): a bias or a
// per-channel value added to an image plane, the Go loop's bits.
TEXT ·addScalarAVX2(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS v+24(FP), Y1
	SHRQ $3, CX
	JZ done
loop:
	VADDPS (SI), Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ loop
done:
	VZEROUPPER
	RET
