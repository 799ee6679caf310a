//go:build amd64 && !purego

package gemm

import (
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestAVX2Kernel: Sgemm through the AVX2 kernel matches the naive product,
// and on a CPU that also has AVX-512 the two kernels give the same bits.
func TestAVX2Kernel(t *testing.T) {
	if !(cpu.X86.HasAVX2 && cpu.X86.HasFMA) {
		t.Skip("no AVX2 with FMA")
	}
	a512, a2 := hasAVX512, hasAVX2
	hasAVX512, hasAVX2 = false, true
	defer func() { hasAVX512, hasAVX2 = a512, a2 }()
	for _, s := range [][3]int{{12, 32, 5}, {13, 33, 7}, {37, 70, 300}, {130, 31, 260}} {
		check(t, false, false, s[0], s[1], s[2], 1, 0)
		check(t, true, true, s[0], s[1], s[2], 0.5, 1)
	}
	if !cpu.X86.HasAVX512F {
		return
	}
	const k, ldc = 77, 40
	a, b, c1 := tileInputs(rand.New(rand.NewPCG(1, 1)), k, ldc)
	c2 := append([]float32(nil), c1...)
	kernelAVX512(k, &a[0], &b[0], &c1[0], ldc)
	kernelAVX2(k, a, b, c2, ldc)
	for i := range c1 {
		if c1[i] != c2[i] {
			t.Fatalf("element %d: AVX-512 %g, AVX2 %g", i, c1[i], c2[i])
		}
	}
}

// TestKernelArithmetic: each assembly kernel the CPU has computes every
// element of the micro-tile as the AVX-512 kernel's contract says (and so
// with the same bits on every CPU): fused multiply-adds in the order of p
// from zero, then one addition to C. The reference does each fused
// multiply-add in float64 (exact product, one rounding of the sum) and
// rounds it to float32; with these inputs that double rounding meets a tie
// with probability about 2⁻²⁹ per operation, and the seed's data has none.
func TestKernelArithmetic(t *testing.T) {
	const k, ldc = 77, 40
	a, b, c0 := tileInputs(rand.New(rand.NewPCG(3, 4)), k, ldc)
	want := append([]float32(nil), c0...)
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			var acc float32
			for p := 0; p < k; p++ {
				acc = float32(math.FMA(float64(a[p*mr+i]), float64(b[p*nr+j]), float64(acc)))
			}
			want[i*ldc+j] += acc
		}
	}
	kernels := map[string]func(c []float32){}
	if hasAVX2 {
		kernels["AVX2"] = func(c []float32) { kernelAVX2(k, a, b, c, ldc) } // the 12×16 halves on AVX-512 CPUs
		kernels["AVX2 quarters"] = func(c []float32) {
			for j := 0; j < nr; j += 16 {
				for r := 0; r < mr; r += 6 {
					kernel6x16AVX2(k, &a[r], &b[j], &c[r*ldc+j], ldc)
				}
			}
		}
	}
	if hasAVX512 {
		kernels["AVX-512"] = func(c []float32) { kernelAVX512(k, &a[0], &b[0], &c[0], ldc) }
		kernels["AVX-512 halves"] = func(c []float32) { // the 12×16 kernel on each column half
			kernel12x16AVX512(k, &a[0], &b[0], &c[0], ldc)
			kernel12x16AVX512(k, &a[0], &b[16], &c[16], ldc)
		}
		kernels["AVX-512 rows"] = func(c []float32) { // the 6×32 kernel on each half of the rows
			kernel6x32AVX512(k, &a[0], &b[0], &c[0], ldc)
			kernel6x32AVX512(k, &a[6], &b[0], &c[6*ldc], ldc)
		}
	}
	if len(kernels) == 0 {
		t.Skip("no assembly kernel on this CPU")
	}
	for name, run := range kernels {
		c := append([]float32(nil), c0...)
		run(c)
		for i := range c {
			if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: element %d is %g, fused multiply-adds in order give %g", name, i, c[i], want[i])
			}
		}
	}
}

// tileInputs draws one micro-tile's packed panels (k×mr of A, k×nr of B)
// and a C of mr rows with stride ldc, in that order from rng.
func tileInputs(rng *rand.Rand, k, ldc int) (a, b, c []float32) {
	a, b, c = make([]float32, k*mr), make([]float32, k*nr), make([]float32, mr*ldc)
	for _, s := range [][]float32{a, b, c} {
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
	}
	return a, b, c
}

// TestKernelCorner: every corner of a micro-tile has the bits of the whole
// tile's kernel there, whichever quarters of it the corner skips.
func TestKernelCorner(t *testing.T) {
	const k = 29
	a, b, _ := tileInputs(rand.New(rand.NewPCG(5, 6)), k, nr)
	whole := make([]float32, mr*nr)
	kernel(k, a, b, whole, nr)
	for rows := 1; rows <= mr; rows++ {
		for cols := 1; cols <= nr; cols++ {
			tmp := make([]float32, mr*nr)
			kernelCorner(k, a, b, tmp, rows, cols)
			for i := 0; i < rows; i++ {
				for j := 0; j < cols; j++ {
					if math.Float32bits(tmp[i*nr+j]) != math.Float32bits(whole[i*nr+j]) {
						t.Fatalf("corner %d×%d: element (%d, %d) is %g, the whole tile's %g", rows, cols, i, j, tmp[i*nr+j], whole[i*nr+j])
					}
				}
			}
		}
	}
}

// TestKernelQuarters: corners of whole AVX2 quarters added straight into C
// give the values of the corner path through a zeroed buffer, and other
// corners are left to it.
func TestKernelQuarters(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2 with FMA")
	}
	const k, ldc = 41, 19
	a, b, c0 := tileInputs(rand.New(rand.NewPCG(9, 10)), k, ldc)
	for _, rows := range []int{6, 12} {
		want := append([]float32(nil), c0...)
		tmp := make([]float32, mr*nr)
		kernelCorner(k, a, b, tmp, rows, 16)
		for i := 0; i < rows; i++ {
			for j := 0; j < 16; j++ {
				want[i*ldc+j] += tmp[i*nr+j]
			}
		}
		got := append([]float32(nil), c0...)
		if !kernelQuarters(k, a, b, got, ldc, rows, 16) {
			t.Fatalf("%d×16 not taken", rows)
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%d×16: element %d is %g, the corner path's %g", rows, i, got[i], want[i])
			}
		}
	}
	for _, rc := range [][2]int{{4, 16}, {12, 20}, {6, 8}} {
		if kernelQuarters(k, a, b, append([]float32(nil), c0...), ldc, rc[0], rc[1]) {
			t.Errorf("%d×%d taken: it is not whole quarters", rc[0], rc[1])
		}
	}
}
