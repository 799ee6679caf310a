package nn

import (
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"
)

// Init fills a new parameter of the given shape. fanIn and fanOut are the
// numbers of inputs and outputs of one unit (for a conv filter (O,C,kh,kw):
// C·kh·kw and O·kh·kw).
type Init func(rng *rand.Rand, shape []int, fanIn, fanOut int) []float64

// Zeros initialises to 0 (biases, GroupNorm β, output projections that
// should start as the identity of a residual).
func Zeros(*rand.Rand, []int, int, int) []float64 { return nil }

// Ones initialises to 1 (GroupNorm and LayerNorm γ).
func Ones(_ *rand.Rand, shape []int, _, _ int) []float64 {
	v := make([]float64, tensor.Shape(shape).TotalSize())
	for i := range v {
		v[i] = 1
	}
	return v
}

// KaimingUniform is PyTorch's default for Linear and Conv2d weights:
// U(−1/√fanIn, 1/√fanIn) (kaiming_uniform with a = √5).
func KaimingUniform(rng *rand.Rand, shape []int, fanIn, _ int) []float64 {
	b := 1 / math.Sqrt(float64(fanIn))
	return uniform(rng, shape, b)
}

// XavierUniform draws U(−b, b) with b = √(6/(fanIn+fanOut)) (attention
// projections).
func XavierUniform(rng *rand.Rand, shape []int, fanIn, fanOut int) []float64 {
	return uniform(rng, shape, math.Sqrt(6/float64(fanIn+fanOut)))
}

// Normal returns an initialiser drawing N(0, std²) (embeddings).
func Normal(std float64) Init {
	return func(rng *rand.Rand, shape []int, _, _ int) []float64 {
		v := make([]float64, tensor.Shape(shape).TotalSize())
		for i := range v {
			v[i] = rng.NormFloat64() * std
		}
		return v
	}
}

func uniform(rng *rand.Rand, shape []int, b float64) []float64 {
	v := make([]float64, tensor.Shape(shape).TotalSize())
	for i := range v {
		v[i] = (2*rng.Float64() - 1) * b
	}
	return v
}

// RandN returns a tensor of dtype dt filled with N(0,1) draws from a PCG
// stream seeded by seed: the same seed gives the same tensor.
func RandN(dt tensor.Dtype, seed uint64, shape ...int) *tensor.Dense {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	v := make([]float64, tensor.Shape(shape).TotalSize())
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return FromFloat64(dt, v, shape...)
}

// FromFloat64 builds a tensor of dtype dt (float32 or float64) from values.
func FromFloat64(dt tensor.Dtype, v []float64, shape ...int) *tensor.Dense {
	if dt == tensor.Float32 {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64(nil), v...)))
}
