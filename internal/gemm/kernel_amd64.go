//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:noescape
func kernelAVX512(k int, a, b, c *float32, ldc int)

// hasAVX512 selects the assembly micro-kernel.
var hasAVX512 = cpu.X86.HasAVX512F

func kernel(k int, a, b, c []float32, ldc int) {
	if hasAVX512 {
		kernelAVX512(k, &a[0], &b[0], &c[0], ldc)
		return
	}
	kernelGo(k, a, b, c, ldc)
}
