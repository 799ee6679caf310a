package gemm

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BLAS is gonum's pure-Go BLAS with Sgemm replaced by this package's. Give
// it to gorgonia (G.Use(gemm.BLAS{})) and gorgonia's own matrix products
// use it too.
type BLAS struct{ gonum.Implementation }

// Sgemm is BLAS Sgemm on row-major data (see the package Sgemm).
func (BLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	Sgemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
