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
	VMINPS Z17, Z0, Z0          // (the lanes of K1 and K2 computed on a bound)
	VMAXPS Z18, Z0, Z0
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
