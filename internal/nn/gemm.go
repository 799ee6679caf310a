package nn

import (
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
)

// gemm computes C = alpha·op(A)·op(B) + beta·C on row-major slices through
// gorgonia's BLAS (G.WhichBLAS), so an OpenBLAS backend installed with G.Use
// applies to the owned operators too. op(A) is m×k, op(B) k×n, C m×n.
func gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	impl := G.WhichBLAS()
	switch a := any(a).(type) {
	case []float32:
		impl.Sgemm(ta, tb, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		impl.Dgemm(ta, tb, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}
