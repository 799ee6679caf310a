//go:build amd64 && !purego

package gemm

//go:noescape
func packA12AVX(a *float32, lda, n int, alpha float32, panel *float32)

// packA12Vec packs the leading multiple of 8 of packA12's kb columns with
// AVX (8×8 transposes; the same values) and returns how many it packed.
func packA12Vec(a []float32, off, lda, kb int, alpha float32, panel []float32) int {
	n := kb &^ 7
	if !hasAVX2 || n == 0 {
		return 0
	}
	_, _ = a[off+11*lda+n-1], panel[n*mr-1]
	packA12AVX(&a[off], lda, n, alpha, &panel[0])
	return n
}
