package nn

import "testing"

// BenchmarkSigmoidVec: σ of 64k float32 values.
func BenchmarkSigmoidVec(b *testing.B) {
	src, dst := make([]float32, 1<<16), make([]float32, 1<<16)
	for i := range src {
		src[i] = float32(i%2000)/100 - 10
	}
	for i := 0; i < b.N; i++ {
		sigmoidVec(dst, src)
	}
}
