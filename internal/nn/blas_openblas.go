//go:build openblas

package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
)

// With -tags openblas (and CGO_LDFLAGS=-lopenblas, Debian libopenblas-dev),
// gorgonia and the owned operators use OpenBLAS.
func init() {
	G.Use(netlib.Implementation{})
}

// implicitConv is off: OpenBLAS multiplies materialised im2col matrices.
const implicitConv = false

var blasName = "OpenBLAS (cgo, netlib)"

// BLASName names the BLAS in use.
func BLASName() string { return blasName }

func sgemm32(_, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	G.WhichBLAS().Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
