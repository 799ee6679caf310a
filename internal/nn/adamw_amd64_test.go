//go:build amd64 && !purego

package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAdamWVecMatchesLoop: the AVX-512 and AVX2 kernels give adamwRange's
// bits for d, m and v (NaN where it gives NaN: which NaN's payload survives
// an operation on two depends on the operands' order the compiler picks), on every length's tail and on values from 1e-30 to
// 1e4 (zeros, infinities and NaN among them), over steps whose constants
// differ (clipping, bias corrections far from 1).
func TestAdamWVecMatchesLoop(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	defer func(v bool) { hasAVX512 = v }(hasAVX512)
	rng := rand.New(rand.NewPCG(3, 4))
	val := func() float64 {
		switch rng.IntN(40) {
		case 0:
			return 0
		case 1:
			return math.Inf(1 - 2*rng.IntN(2))
		case 2:
			return math.NaN()
		}
		return (rng.Float64() - 0.5) * math.Pow(10, rng.Float64()*34-30)
	}
	steps := []adamwStep{
		{lr: 1e-4, wd: 1e-2, b1: 0.9, b2: 0.999, eps: 1e-8, bc1: 0.1, bc2: 0.001, scale: 1},
		{lr: 5e-5, wd: 1e-2, b1: 0.9, b2: 0.999, eps: 1e-8, bc1: 1 - math.Pow(0.9, 37), bc2: 1 - math.Pow(0.999, 37), scale: 0.37},
		{lr: 3e-3, wd: 0, b1: 0.5, b2: 0.9, eps: 1e-6, bc1: 0.75, bc2: 0.19, scale: 1.7e-3},
	}
	for _, avx512 := range []bool{true, false} {
		if avx512 && !hasAVX512 {
			continue
		}
		hasAVX512 = avx512
		for n := 0; n <= 37; n++ {
			d, g := make([]float32, n), make([]float32, n)
			m, v := make([]float64, n), make([]float64, n)
			for i := range d {
				d[i], g[i] = float32(val()), float32(val())
				m[i], v[i] = val(), math.Abs(val())
			}
			wd, wm, wv := append([]float32(nil), d...), append([]float64(nil), m...), append([]float64(nil), v...)
			for _, c := range steps {
				adamwRange(c, wd, g, wm, wv, 0, n)
				k := adamwVec(c, d, g, m, v)
				if k > n || k < n-7 {
					t.Fatalf("n %d: the kernel updated %d", n, k)
				}
				adamwRange(c, d, g, m, v, k, n)
				for i := range d {
					if !same(float64(d[i]), float64(wd[i])) || !same(m[i], wm[i]) || !same(v[i], wv[i]) {
						t.Fatalf("AVX-512 %v, n %d, element %d: θ %g m %g v %g, want %g %g %g",
							avx512, n, i, d[i], m[i], v[i], wd[i], wm[i], wv[i])
					}
				}
			}
		}
	}
}

// same: the same bits, or both NaN.
func same(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
}

// BenchmarkAdamWKernels: BenchmarkAdamWUpdate's step with the Go loop and
// with the vector kernels, side by side.
func BenchmarkAdamWKernels(b *testing.B) {
	defer func(a, b bool) { hasAVX512, hasAVX2 = a, b }(hasAVX512, hasAVX2)
	a512, a2 := hasAVX512, hasAVX2
	for _, k := range []struct {
		name     string
		a512, a2 bool
	}{{"go", false, false}, {"avx2", false, a2}, {"avx512", a512, a2}} {
		hasAVX512, hasAVX2 = k.a512, k.a2
		b.Run(k.name, BenchmarkAdamWUpdate)
	}
}
