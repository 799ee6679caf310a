package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAddScalar: the vector kernel gives the plain loop's bits, in place
// and not, for every length around its 8-value blocks, infinities and
// signed zeros included.
func TestAddScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 70; n++ {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(rng.NormFloat64() * 10)
		}
		if n > 3 {
			src[1], src[2], src[3] = float32(math.Inf(1)), float32(math.Copysign(0, -1)), 1e-40
		}
		for _, v := range []float32{0.37, float32(math.Copysign(0, -1)), -3e7} {
			want := make([]float32, n)
			for i, x := range src {
				want[i] = x + v
			}
			got := make([]float32, n)
			addScalar(got, src, v)
			in := append([]float32(nil), src...)
			addScalar(in, in, v)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.Float32bits(in[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n %d, v %g, [%d]: %g and in place %g, want %g", n, v, i, got[i], in[i], want[i])
				}
			}
		}
	}
}
