//go:build amd64 && !purego

package gemm

import (
	"fmt"
	"testing"
)

// BenchmarkKernelInCache: one micro-tile with its panels in L1, per kernel
// this CPU has.
func BenchmarkKernelInCache(b *testing.B) {
	const k = 256
	a, bb, c := make([]float32, mr*k), make([]float32, nr*k), make([]float32, mr*nr)
	for i := range a {
		a[i] = 0.001
	}
	for i := range bb {
		bb[i] = 0.001
	}
	kernels := map[string]func(){
		"avx512": func() { kernelAVX512(k, &a[0], &bb[0], &c[0], nr) },
		"avx512-halves": func() { // a 4×4 map's tile: two 12×16 kernels
			kernel12x16AVX512(k, &a[0], &bb[0], &c[0], nr)
			kernel12x16AVX512(k, &a[0], &bb[16], &c[16], nr)
		},
		"avx512-rows": func() { // two 6×32 kernels
			kernel6x32AVX512(k, &a[0], &bb[0], &c[0], nr)
			kernel6x32AVX512(k, &a[6], &bb[0], &c[6*nr], nr)
		},
		"avx2": func() { // four 6×16 quarters
			for j := 0; j < nr; j += 16 {
				for r := 0; r < mr; r += 6 {
					kernel6x16AVX2(k, &a[r], &bb[j], &c[r*nr+j], nr)
				}
			}
		},
	}
	for _, name := range []string{"avx512", "avx512-halves", "avx512-rows", "avx2"} {
		if name != "avx2" && !hasAVX512 || name == "avx2" && !hasAVX2 {
			continue
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				kernels[name]()
			}
			b.ReportMetric(2*float64(mr*nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkKernelTwoCores: the chosen kernel on one and on two goroutines.
func BenchmarkKernelTwoCores(b *testing.B) {
	const k = 256
	run := func(n int) {
		a, bb, c := make([]float32, mr*k), make([]float32, nr*k), make([]float32, mr*nr)
		for i := 0; i < n; i++ {
			kernel(k, a, bb, c, nr)
		}
	}
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprint(w), func(b *testing.B) {
			done := make(chan bool)
			for g := 0; g < w; g++ {
				go func() { run(b.N); done <- true }()
			}
			for g := 0; g < w; g++ {
				<-done
			}
			b.ReportMetric(float64(w)*2*float64(mr*nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
