//go:build !amd64 || purego

package nn

const hasAVX512 = false

// sigmoidVec writes dst[i] = σ(src[i]).
func sigmoidVec(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = sigmoid32(v)
	}
}
