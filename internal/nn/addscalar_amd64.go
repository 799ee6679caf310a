//go:build amd64 && !purego

package nn

//go:noescape
func addScalarAVX2(dst, src *float32, n int, v float32)

// addScalar writes dst[i] = src[i] + v (dst may be src), 8 at a time with
// AVX2: the plain loop's bits.
func addScalar(dst, src []float32, v float32) {
	dst = dst[:len(src)]
	n := 0
	if hasAVX2 && len(src) >= 8 {
		n = len(src) &^ 7
		addScalarAVX2(&dst[0], &src[0], n, v)
	}
	for i := n; i < len(src); i++ {
		dst[i] = src[i] + v
	}
}
