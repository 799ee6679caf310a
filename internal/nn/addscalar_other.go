//go:build !amd64 || purego

package nn

// addScalar writes dst[i] = src[i] + v (dst may be src).
func addScalar(dst, src []float32, v float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = x + v
	}
}
