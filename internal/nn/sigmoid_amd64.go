//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

//go:noescape
func sigmoidAVX512(dst, src *float32, n int)

var hasAVX512 = cpu.X86.HasAVX512F

// sigmoidVec writes dst[i] = σ(src[i]) (16 at a time with AVX-512).
func sigmoidVec(dst, src []float32) {
	dst = dst[:len(src)]
	n := 0
	if hasAVX512 {
		n = len(src) &^ 15
		if n > 0 {
			sigmoidAVX512(&dst[0], &src[0], n)
		}
	}
	for i := n; i < len(src); i++ {
		dst[i] = sigmoid32(src[i])
	}
}
