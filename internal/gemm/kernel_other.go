//go:build !amd64 || purego

package gemm

var hasAVX512, hasAVX2 = false, false // no assembly kernel on this build

func kernel(k int, a, b, c []float32, ldc int) { kernelGo(k, a, b, c, ldc) }

func kernelCorner(k int, a, b, tmp []float32, _, _ int) { kernelGo(k, a, b, tmp, nr) }

func kernelQuarters(int, []float32, []float32, []float32, int, int, int) bool { return false }

// packA12Vec has no vector kernel on this build.
func packA12Vec(a []float32, off, lda, kb int, alpha float32, panel []float32) int { return 0 }

// PackRowsT32 reports false: no transposing kernel on this build.
func PackRowsT32(dst, src []float32, offs []int, n int) bool { return false }
