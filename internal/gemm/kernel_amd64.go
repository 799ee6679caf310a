//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:noescape
func kernelAVX512(k int, a, b, c *float32, ldc int)

//go:noescape
func kernel6x16AVX2(k int, a, b, c *float32, ldc int)

//go:noescape
func kernel12x16AVX512(k int, a, b, c *float32, ldc int)

//go:noescape
func kernel6x32AVX512(k int, a, b, c *float32, ldc int)

// hasAVX512 and hasAVX2 select the assembly micro-kernels: AVX-512, else
// AVX2 with FMA (AMD EPYC and older Intel), else the portable one.
var (
	hasAVX512 = cpu.X86.HasAVX512F
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

func kernel(k int, a, b, c []float32, ldc int) {
	switch {
	case hasAVX512:
		kernelAVX512(k, &a[0], &b[0], &c[0], ldc)
	case hasAVX2:
		kernelAVX2(k, a, b, c, ldc)
	default:
		kernelGo(k, a, b, c, ldc)
	}
}

// kernelAVX2 is the 12×32 micro-tile as four AVX2 kernels of 6×16.
func kernelAVX2(k int, a, b, c []float32, ldc int) { quarters(k, a, b, c, ldc, mr, nr) }

// quarters adds Apᵀ·Bp into the rows×cols corner of a micro-tile in C with
// the AVX2 6×16 kernels that cover it (rows rounded up to 6, cols to 16),
// the two of a column half one after the other while its B values are in L1.
// With AVX-512 a column half of more than 6 rows is one 12×16 kernel, and
// 6 rows of both halves one 6×32 kernel (twice the AVX2 pair's width per
// instruction; the same bits).
func quarters(k int, a, b, c []float32, ldc, rows, cols int) {
	for j := 0; j < cols; j += 16 {
		if hasAVX512 && rows > 6 {
			kernel12x16AVX512(k, &a[0], &b[j], &c[j], ldc)
			continue
		}
		if hasAVX512 && j+16 < cols {
			for r := 0; r < rows; r += 6 {
				kernel6x32AVX512(k, &a[r], &b[j], &c[r*ldc+j], ldc)
			}
			j += 16
			continue
		}
		for r := 0; r < rows; r += 6 {
			kernel6x16AVX2(k, &a[r], &b[j], &c[r*ldc+j], ldc)
		}
	}
}

// kernelCorner computes the top-left rows×cols of a micro-tile into tmp
// (stride nr, zeroed by the caller; the rest of tmp is left unspecified).
// The AVX2 quarters that lie wholly outside the corner are skipped: at a
// product's edge (16 columns of a 4×4 feature map, 4 rows of 64 channels)
// they are padding. With AVX-512 too, the quarters serve a corner of at
// most half the tile. Each element is computed as in kernel (the kernels
// share their bits), so the corner has the same bits.
func kernelCorner(k int, a, b, tmp []float32, rows, cols int) {
	if !hasAVX2 || hasAVX512 && rows > 6 && cols > 16 {
		kernel(k, a, b, tmp, nr)
		return
	}
	quarters(k, a, b, tmp, nr, rows, cols)
}

// kernelQuarters adds the rows×cols corner of a micro-tile straight into C
// when it is made of whole AVX2 quarters (rows and cols multiples of 6 and
// 16: a 4×4 feature map's 16 columns), as kernel does for a whole tile, and
// reports whether it did. The corner path it replaces added the quarters
// into a zeroed buffer first; +0 + v is v for every v but −0, so the values
// are the same (a zero's sign could differ only where C held −0 and every
// product underflowed).
func kernelQuarters(k int, a, b, c []float32, ldc, rows, cols int) bool {
	if !hasAVX2 || rows%6 != 0 || cols%16 != 0 {
		return false
	}
	quarters(k, a, b, c, ldc, rows, cols)
	return true
}
