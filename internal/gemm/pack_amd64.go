//go:build amd64 && !purego

package gemm

//go:noescape
func packT8AVX(dst, src *float32, offs *int, n int)

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

// PackRowsT32 writes 8n rows of 32 values, each the transposed reads of
// 32 rows: dst[(8b+q)·32 + j] = src[offs[j] + 8b + q] for j < 32, q < 8,
// b < n (offs increasing, checked at its ends). It is the filter gradient's
// panel of 32 patch rows for 8n positions. It reports false, writing
// nothing, where the CPU lacks AVX2.
func PackRowsT32(dst, src []float32, offs []int, n int) bool {
	if !hasAVX2 && !hasAVX512 {
		return false
	}
	if n <= 0 {
		return true
	}
	if len(offs) != 32 || len(dst) < 256*n || offs[0] < 0 || offs[31]+8*n > len(src) {
		panic("gemm: PackRowsT32 out of range")
	}
	packT8AVX(&dst[0], &src[0], &offs[0], n)
	return true
}
