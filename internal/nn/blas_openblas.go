//go:build openblas

package nn

import (
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
)

// With -tags openblas (and CGO_LDFLAGS=-lopenblas, Debian libopenblas-dev),
// gorgonia and the owned operators use OpenBLAS.
func init() {
	G.Use(netlib.Implementation{})
	blasName = "OpenBLAS (cgo, netlib)"
}
