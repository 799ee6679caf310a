package gemm

import "testing"

func BenchmarkPackA12(b *testing.B) {
	for _, vec := range []bool{false, true} {
		name := "go"
		if vec {
			name = "vec"
		}
		b.Run(name, func(b *testing.B) {
			defer func(v bool) { hasAVX2 = v }(hasAVX2)
			hasAVX2 = hasAVX2 && vec
			kb, lda := 256, 256
			a := make([]float32, 12*lda)
			panel := make([]float32, kb*mr)
			for i := 0; i < b.N; i++ {
				packA12(a, 0, lda, kb, 1, panel)
			}
		})
	}
}
