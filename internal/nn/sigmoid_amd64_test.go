//go:build amd64 && !purego

package nn

import (
	"fmt"
	"testing"
)

// TestVecKernels runs each assembly kernel this CPU has against the
// portable code, whichever sigmoidVec would choose.
func TestVecKernels(t *testing.T) {
	wrap := func(k func(dst, src *float32, n int), width int, scalar func(float32) float32) func(dst, src []float32) {
		return func(dst, src []float32) {
			n := len(src) / width * width
			if n > 0 {
				k(&dst[0], &src[0], n)
			}
			for i := n; i < len(src); i++ {
				dst[i] = scalar(src[i])
			}
		}
	}
	ran := 0
	if hasAVX2 {
		checkVecKernel(t, "σ AVX2", wrap(sigmoidAVX2, 8, sigmoid32), sigmoid32, 8)
		checkVecKernel(t, "exp AVX2", wrap(expAVX2, 8, exp32), exp32, 8)
		for _, sc := range [][2]float32{{1, 0}, {1.37, -0.61}, {-0.4, 2.5}} {
			scale, shift := sc[0], sc[1]
			silu := func(v float32) float32 {
				a := v*scale + shift
				return a * sigmoid32(a)
			}
			fused := func(dst, src *float32, n int) { siluAffineAVX2(dst, src, n, scale, shift) }
			checkVecKernel(t, fmt.Sprint("SiLU(", scale, "·x + ", shift, ") AVX2"), wrap(fused, 8, silu), silu, 8)
		}
		ran++
	}
	if hasAVX512 {
		checkVecKernel(t, "σ AVX-512", wrap(sigmoidAVX512, 16, sigmoid32), sigmoid32, 16)
		ran++
	}
	if ran == 0 {
		t.Skip("this CPU has neither AVX2 nor AVX-512")
	}
}
