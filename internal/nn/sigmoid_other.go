//go:build !amd64 || purego

package nn

const hasAVX512, hasAVX2 = false, false

// sigmoidVec writes dst[i] = σ(src[i]).
func sigmoidVec(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = sigmoid32(v)
	}
}

// expVec writes dst[i] = exp32(src[i]); dst may be src.
func expVec(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = exp32(v)
	}
}

// siluAffineVec has no vector kernel on this build.
func siluAffineVec(dst, src []float32, scale, shift float32) int { return 0 }
