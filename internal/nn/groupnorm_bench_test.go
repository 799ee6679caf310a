package nn

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// BenchmarkGroupNormBackward: the gradient of GroupNorm+SiLU on 8 images of
// 128 channels at 16×16 in 32 groups (one of Model A's levels).
func BenchmarkGroupNormBackward(b *testing.B) {
	const n, c, hw = 8, 128, 16 * 16
	op := &groupNormOp{x: tensor.Shape{n, c, 16, 16}, groups: 32, eps: 1e-5, silu: true}
	rng := rand.New(rand.NewPCG(1, 2))
	x, gy := make([]float32, n*c*hw), make([]float32, n*c*hw)
	for i := range x {
		x[i], gy[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	gamma, beta := make([]float32, c), make([]float32, c)
	for i := range gamma {
		gamma[i], beta[i] = 1+0.1*float32(rng.NormFloat64()), 0.1*float32(rng.NormFloat64())
	}
	out := make([]float32, n*c*hw+2*c)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		groupNormBackward(op, x, gamma, beta, gy, out)
	}
}

// BenchmarkGroupStats: the statistics of 8 images' 32 groups of 4 channels
// at 16×16.
func BenchmarkGroupStats(b *testing.B) {
	const groups, m = 8 * 32, 4 * 256
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, groups*m)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	mean, inv := make([]float64, groups), make([]float64, groups)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		groupStatsOf(x, m, 1e-5, mean, inv)
	}
}
