//go:build amd64 && !purego

#include "textflag.h"

// func sigmoidAVX512(dst, src *float32, n int)
// dst[i] = 1/(1+e^(-src[i])) for n a multiple of 16: sigmoid32's
// arithmetic operation for operation (separate multiplies and adds, no
// fused multiply-add, the same constants, 0 above 88.72 and 1 below -87.3),
// so that the vector and the portable code give the same bits; 2^k by
// VSCALEFPS (exact, as sigmoid32's multiply by a power of two).
TEXT ·sigmoidAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z16
	MOVL $0x42b170a4, AX // 88.72
	VPBROADCASTD AX, Z17
	MOVL $0xc2ae999a, AX // -87.3
	VPBROADCASTD AX, Z18
	MOVL $0x3fb8aa3b, AX // log2 e
	VPBROADCASTD AX, Z19
	MOVL $0x3f317200, AX // ln 2, high part
	VPBROADCASTD AX, Z20
	MOVL $0x35bfbe8e, AX // ln 2, low part
	VPBROADCASTD AX, Z21
	MOVL $0x3ab60b61, AX // 1/720
	VPBROADCASTD AX, Z22
	MOVL $0x3c088889, AX // 1/120
	VPBROADCASTD AX, Z23
	MOVL $0x3d2aaaab, AX // 1/24
	VPBROADCASTD AX, Z24
	MOVL $0x3e2aaaab, AX // 1/6
	VPBROADCASTD AX, Z25
	MOVL $0x3f000000, AX // 0.5
	VPBROADCASTD AX, Z26
	MOVL $0x3f800000, AX // 1
	VPBROADCASTD AX, Z27
	SHRQ $4, CX
	JZ done
loop:
	VMOVUPS (SI), Z0
	VPXORD Z16, Z0, Z0          // x = -a
	VCMPPS $0x1e, Z17, Z0, K1   // x > 88.72: σ = 0
	VCMPPS $0x11, Z18, Z0, K2   // x < -87.3: σ = 1
	VMINPS Z0, Z17, Z0          // (the lanes of K1 and K2 computed on a bound;
	VMAXPS Z0, Z18, Z0          // NaN lanes keep x: VMINPS and VMAXPS return their second source then)
	VMULPS Z19, Z0, Z1          // x·log2 e
	VRNDSCALEPS $0, Z1, Z1      // k: to nearest, ties to even (sigmoid32's ±12582912)
	VMULPS Z20, Z1, Z4
	VSUBPS Z4, Z0, Z2           // x − k·C1
	VMULPS Z21, Z1, Z4
	VSUBPS Z4, Z2, Z2           // r = x − k·C1 − k·C2
	VMULPS Z22, Z2, Z3          // r·(1/720)
	VADDPS Z23, Z3, Z3
	VMULPS Z2, Z3, Z3
	VADDPS Z24, Z3, Z3
	VMULPS Z2, Z3, Z3
	VADDPS Z25, Z3, Z3
	VMULPS Z2, Z3, Z3
	VADDPS Z26, Z3, Z3
	VMULPS Z2, Z3, Z3
	VADDPS Z27, Z3, Z3
	VMULPS Z2, Z3, Z3
	VADDPS Z27, Z3, Z3          // p
	VSCALEFPS Z1, Z3, Z3        // e^x = p·2^k
	VADDPS Z27, Z3, Z3
	VDIVPS Z3, Z27, Z3          // 1/(1+e^x)
	VXORPS Z3, Z3, K1, Z3       // 0 where x > 88.72
	VMOVAPS Z27, K2, Z3         // 1 where x < -87.3
	VMOVUPS Z3, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop
done:
	VZEROUPPER
	RET

// EXP_AVX2 computes Y3 = exp32(Y0) for the lanes of Y0 within the bounds
// [-87.3, 88.72], exp32's operations one for one (no fused multiply-add);
// lanes beyond a bound are computed on the bound and NaN lanes stay NaN
// (the callers overwrite the former). Y5 = (x > 88.72), Y6 = (x < -87.3).
// Y12 log2 e, Y13 −87.3, Y14 88.72, Y15 one; clobbers Y1, Y2, Y4, Y7.
#define EXP_AVX2 \
	VCMPPS $0x1e, Y14, Y0, Y5; \
	VCMPPS $0x11, Y13, Y0, Y6; \
	VMINPS Y0, Y14, Y0; \
	VMAXPS Y0, Y13, Y0; \
	VMULPS Y12, Y0, Y1; \
	VROUNDPS $0, Y1, Y1; \
	VMULPS ·avx2Consts+128(SB), Y1, Y4; \
	VSUBPS Y4, Y0, Y2; \
	VMULPS ·avx2Consts+160(SB), Y1, Y4; \
	VSUBPS Y4, Y2, Y2; \
	VMULPS ·avx2Consts+192(SB), Y2, Y3; \
	VADDPS ·avx2Consts+224(SB), Y3, Y3; \
	VMULPS Y2, Y3, Y3; \
	VADDPS ·avx2Consts+256(SB), Y3, Y3; \
	VMULPS Y2, Y3, Y3; \
	VADDPS ·avx2Consts+288(SB), Y3, Y3; \
	VMULPS Y2, Y3, Y3; \
	VADDPS ·avx2Consts+320(SB), Y3, Y3; \
	VMULPS Y2, Y3, Y3; \
	VADDPS Y15, Y3, Y3; \
	VMULPS Y2, Y3, Y3; \
	VADDPS Y15, Y3, Y3; \
	VCMPPS $0x1e, ·avx2Consts+384(SB), Y1, Y4; \
	VANDPS Y4, Y3, Y7; \
	VADDPS Y7, Y3, Y3; \
	VMINPS ·avx2Consts+384(SB), Y1, Y1; \
	VCVTPS2DQ Y1, Y1; \
	VPADDD ·avx2Consts+416(SB), Y1, Y1; \
	VPSLLD $23, Y1, Y1; \
	VMULPS Y1, Y3, Y3

// The steps of EXP_AVX2: the masks of the two bounds, x clamped to them
// (x kept where it is NaN: VMINPS returns its second source then), k =
// round(x·log2 e) to nearest even (exp32's ±1.5·2²³), r = x − k·C1 − k·C2,
// p = 1 + r(1 + r(1/2 + r(1/6 + r(1/24 + r(1/120 + r/720))))), and where
// k = 128 (2^128 overflows the exponent field) p doubled (exact) and k =
// 127, then p·2^k with 2^k built in the exponent field.

#define AVX2_CONSTS \
	VMOVUPS ·avx2Consts+96(SB), Y12; \
	VMOVUPS ·avx2Consts+64(SB), Y13; \
	VMOVUPS ·avx2Consts+32(SB), Y14; \
	VMOVUPS ·avx2Consts+352(SB), Y15

// SIGMOID_AVX2 is σ(a) into Y3 from x = −a in Y0: 1/(1+exp32(x)), 0 where
// x > 88.72 and 1 where x < −87.3, as sigmoid32.
#define SIGMOID_AVX2 \
	EXP_AVX2; \
	VADDPS Y15, Y3, Y3; \
	VDIVPS Y3, Y15, Y3; \
	VANDNPS Y3, Y5, Y3; \
	VBLENDVPS Y6, Y15, Y3, Y3

// func sigmoidAVX2(dst, src *float32, n int)
// dst[i] = sigmoid32(src[i]) for n a multiple of 8: 1/(1+exp32(−a)),
// 0 where −a > 88.72 and 1 where −a < −87.3, as sigmoid32.
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	AVX2_CONSTS
	SHRQ $3, CX
	JZ done2
loop2:
	VMOVUPS (SI), Y0
	VXORPS ·avx2Consts+0(SB), Y0, Y0 // x = −a
	SIGMOID_AVX2
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ loop2
done2:
	VZEROUPPER
	RET

// func expAVX2(dst, src *float32, n int)
// dst[i] = exp32(src[i]) for n a multiple of 8: +Inf above 88.72, 0 below
// −87.3, NaN for NaN, as exp32. dst may be src.
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	AVX2_CONSTS
	MOVL $0x7f800000, AX // +Inf
	MOVQ AX, X8
	VPBROADCASTD X8, Y8
	SHRQ $3, CX
	JZ done3
loop3:
	VMOVUPS (SI), Y0
	EXP_AVX2
	VBLENDVPS Y5, Y8, Y3, Y3    // +Inf where x > 88.72
	VANDNPS Y3, Y6, Y3          // 0 where x < −87.3
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ loop3
done3:
	VZEROUPPER
	RET

// func siluAffineAVX2(dst, src *float32, n int, scale, shift float32)
// dst[i] = a·σ(a) with a = src[i]·scale + shift (a multiply, then an add:
// no fused multiply-add), σ as sigmoidAVX2, for n a multiple of 8: GroupNorm
// with SiLU in one pass, siluAffine32's bits.
TEXT ·siluAffineAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y8
	VBROADCASTSS shift+28(FP), Y9
	AVX2_CONSTS
	SHRQ $3, CX
	JZ done4
loop4:
	VMOVUPS (SI), Y0
	VMULPS Y8, Y0, Y0
	VADDPS Y9, Y0, Y10                // a
	VXORPS ·avx2Consts+0(SB), Y10, Y0 // x = −a
	SIGMOID_AVX2
	VMULPS Y3, Y10, Y3          // a·σ(a)
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ loop4
done4:
	VZEROUPPER
	RET

// func siluGradAVX2(ga, gy, xh *float32, n int, gam, bet float32)
// ga[i] = gy[i]·(σ(a)·(1 + a·(1 − σ(a)))) with a = gam·xh[i] + bet (a
// multiply, then an add), σ as sigmoidAVX2, for n a multiple of 8: the
// SiLU's part of GroupNorm+SiLU's backward, its Go loop's bits.
TEXT ·siluGradAVX2(SB), NOSPLIT, $0-40
	MOVQ ga+0(FP), DI
	MOVQ gy+8(FP), DX
	MOVQ xh+16(FP), SI
	MOVQ n+24(FP), CX
	VBROADCASTSS gam+32(FP), Y8
	VBROADCASTSS bet+36(FP), Y9
	AVX2_CONSTS
	SHRQ $3, CX
	JZ doneG
loopG:
	VMOVUPS (SI), Y0
	VMULPS Y8, Y0, Y0
	VADDPS Y9, Y0, Y10                // a
	VXORPS ·avx2Consts+0(SB), Y10, Y0 // x = −a
	SIGMOID_AVX2                      // σ(a) in Y3
	VSUBPS Y3, Y15, Y4                // 1 − σ
	VMULPS Y4, Y10, Y4                // a·(1 − σ)
	VADDPS Y4, Y15, Y4                // 1 + a·(1 − σ)
	VMULPS Y4, Y3, Y4                 // σ·(1 + a·(1 − σ))
	VMOVUPS (DX), Y11
	VMULPS Y4, Y11, Y4                // gy·…
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ loopG
doneG:
	VZEROUPPER
	RET
