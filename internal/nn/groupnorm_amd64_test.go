//go:build amd64 && !purego

package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGroupNormBackwardKernels: the AVX2 steps of GroupNorm's backward
// write their Go loops' bits, over the sigmoid's bounds, infinities and
// NaN, with a tail of 5 values that is not theirs.
func TestGroupNormBackwardKernels(t *testing.T) {
	if !hasAVX2 {
		t.Skip("this CPU has no AVX2")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	special := []float32{0, float32(math.Copysign(0, -1)), 88.72, -88.72, 87.3, -87.3, 1e-30, -1e-30, 200, -200,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 3e38, -3e38, 1e-42}
	const n = 80_005
	xh, gy, x := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range xh {
		xh[i] = float32(rng.NormFloat64() * 30)
		gy[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(8)-4)))
		x[i] = float32(rng.NormFloat64()*4 + 1)
		if i < len(special) {
			xh[i], x[i] = special[i], special[i]
			gy[i] = special[len(special)-1-i]
		}
	}
	same := func(name string, got, want []float32, wrote int) {
		t.Helper()
		if wrote != n&^7 {
			t.Fatalf("%s wrote %d values, want %d", name, wrote, n&^7)
		}
		for i := range wrote {
			if g, w := got[i], want[i]; math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
				t.Fatalf("%s: value %d is %g (%#x), the Go loop's %g (%#x)", name, i, g, math.Float32bits(g), w, math.Float32bits(w))
			}
		}
	}
	got, want := make([]float32, n), make([]float32, n)
	for _, st := range [][2]float64{{0.3, 1.7}, {-2.5, 0.01}, {0, 1}} {
		mean, inv := st[0], st[1]
		for i, v := range x {
			want[i] = float32((float64(v) - mean) * inv)
		}
		same("x̂", got, want, normRowVec(got, x, mean, inv))
	}
	for _, gb := range [][2]float32{{1, 0}, {1.37, -0.61}, {-0.4, 2.5}} {
		gam, bet := gb[0], gb[1]
		for i, v := range xh {
			a := gam*v + bet
			sg := sigmoid32(a)
			d := gy[i]
			d *= sg * (1 + a*(1-sg))
			want[i] = d
		}
		same("SiLU's ∂L/∂a", got, want, siluGradVec(got, gy, xh, gam, bet))
	}
	for _, c := range [][5]float32{{1024, 1.1, 0.3, -0.7, 0.002}, {4, -0.9, 1e3, 1e-3, 7}} {
		mf, gam, sG, sGX, scale := c[0], c[1], c[2], c[3], c[4]
		for i := range want {
			want[i] = scale * (mf*gy[i]*gam - sG - xh[i]*sGX)
		}
		same("∂L/∂x", got, want, gnDxVec(got, gy, xh, mf, gam, sG, sGX, scale))
	}
}
