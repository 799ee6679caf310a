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

// BenchmarkSiluAffine32: GroupNorm+SiLU's affine and SiLU on rows of 1024.
func BenchmarkSiluAffine32(b *testing.B) {
	src, dst, tmp := make([]float32, 1024), make([]float32, 1024), make([]float32, 1024)
	for i := range src {
		src[i] = float32(i%97)/10 - 4.8
	}
	b.SetBytes(4 * 1024)
	for b.Loop() {
		siluAffine32(src, dst, tmp, 1.3, -0.2)
	}
}
