//go:build !openblas

package nn

import (
	G "gorgonia.org/gorgonia"

	fastgemm "github.com/rpo-dev/rpo/internal/gemm"
)

// The default build routes every float32 GEMM, gorgonia's and the owned
// operators', through internal/gemm (packed, AVX-512 on amd64, all cores);
// float64 stays on gonum. The openblas build tag replaces this.
func init() { G.Use(fastgemm.BLAS{}) }

// implicitConv makes float32 convolutions gather their patches inside
// internal/gemm's packing instead of building im2col matrices.
const implicitConv = true

var blasName = "rpo gemm (pure Go + AVX-512/AVX2 kernels) / gonum for float64"

// BLASName names the BLAS in use.
func BLASName() string { return blasName }

func sgemm32(serial, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if serial {
		fastgemm.SgemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	fastgemm.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
