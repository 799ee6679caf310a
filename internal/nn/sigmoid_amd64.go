//go:build amd64 && !purego

package nn

import (
	"math"

	"golang.org/x/sys/cpu"
)

//go:noescape
func sigmoidAVX512(dst, src *float32, n int)

//go:noescape
func sigmoidAVX2(dst, src *float32, n int)

//go:noescape
func expAVX2(dst, src *float32, n int)

//go:noescape
func siluAffineAVX2(dst, src *float32, n int, scale, shift float32)

// siluAffineVec writes dst[i] = a·σ(a), a = src[i]·scale + shift, for the
// leading multiple of 8 of src with AVX2 and returns how many it wrote. On
// AVX-512 CPUs too: the fused pass is 1.6× the three of Go loops around the
// 16-wide sigmoid (BenchmarkSiluAffine32).
func siluAffineVec(dst, src []float32, scale, shift float32) int {
	n := len(src) &^ 7
	if !hasAVX2 || n == 0 {
		return 0
	}
	siluAffineAVX2(&dst[0], &src[0], n, scale, shift)
	return n
}

var (
	hasAVX512 = cpu.X86.HasAVX512F
	hasAVX2   = cpu.X86.HasAVX2
)

// avx2Consts holds exp32's constants, each eight times (one YMM register),
// for the AVX2 kernels, which read them by these offsets: 0 the sign bit,
// 32 the upper bound 88.72, 64 the lower bound −87.3, 96 log2 e, 128 and
// 160 ln 2's high and low parts, 192–320 the Taylor coefficients 1/720,
// 1/120, 1/24, 1/6, 1/2, 352 one, 384 127 (a float), 416 127 (an integer).
var avx2Consts = func() (t [14][8]uint32) {
	f := math.Float32bits
	vals := [14]uint32{0x80000000, f(88.72), f(-87.3), f(1.4426950408889634), f(0.693145751953125), f(1.428606765330187e-06),
		f(1.0 / 720), f(1.0 / 120), f(1.0 / 24), f(1.0 / 6), f(0.5), f(1), f(127), 127}
	for i, v := range vals {
		for j := range t[i] {
			t[i][j] = v
		}
	}
	return t
}()

// sigmoidVec writes dst[i] = σ(src[i]) (16 at a time with AVX-512, 8 with
// AVX2), sigmoid32's bits in every case.
func sigmoidVec(dst, src []float32) {
	dst = dst[:len(src)]
	n := 0
	switch {
	case hasAVX512:
		n = len(src) &^ 15
		if n > 0 {
			sigmoidAVX512(&dst[0], &src[0], n)
		}
	case hasAVX2:
		n = len(src) &^ 7
		if n > 0 {
			sigmoidAVX2(&dst[0], &src[0], n)
		}
	}
	for i := n; i < len(src); i++ {
		dst[i] = sigmoid32(src[i])
	}
}

// expVec writes dst[i] = exp32(src[i]) (8 at a time with AVX2); dst may be src.
func expVec(dst, src []float32) {
	dst = dst[:len(src)]
	n := 0
	if hasAVX2 {
		n = len(src) &^ 7
		if n > 0 {
			expAVX2(&dst[0], &src[0], n)
		}
	}
	for i := n; i < len(src); i++ {
		dst[i] = exp32(src[i])
	}
}
