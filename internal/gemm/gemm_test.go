package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// naive is the reference: float64 accumulation.
func naive(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if tA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if tB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			old := float64(c[i*ldc+j])
			if beta == 0 {
				old = 0
			}
			c[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*old)
		}
	}
}

func check(t *testing.T, tA, tB bool, m, n, k int, alpha, beta float32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(m*1000+n), uint64(k)))
	lda, ldb, ldc := k+3, n+1, n+5
	if tA {
		lda = m + 2
	}
	if tB {
		ldb = k + 1
	}
	ar, br := m, k
	if tA {
		ar = k
	}
	if tB {
		br = n
	}
	a, b := randSlice(rng, ar*lda), randSlice(rng, br*ldb)
	c := randSlice(rng, m*ldc)
	want := append([]float32(nil), c...)
	Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	c2 := append([]float32(nil), want...)
	SgemmSerial(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c2, ldc)
	for i := range c {
		if c[i] != c2[i] {
			t.Fatalf("serial and parallel differ at %d: %g vs %g", i, c2[i], c[i])
		}
	}
	c3 := append([]float32(nil), want...)
	SgemmPacked(false, tA, m, n, k, alpha, a, lda, func(pc, jc, kb, nb int, bp []float32) {
		packB(tB, b, ldb, pc, jc, kb, nb, bp)
	}, beta, c3, ldc)
	for i := range c {
		if c[i] != c3[i] {
			t.Fatalf("packed and plain differ at %d", i)
		}
	}
	// A packed once and reused (twice, into the same PackedA) gives the same bits
	var pa PackedA
	PackA(&pa, false, 7, 3, 1, make([]float32, 21), 3) // another product first: storage is reused
	PackA(&pa, tA, m, k, alpha, a, lda)
	for rep := 0; rep < 2; rep++ {
		c4 := append([]float32(nil), want...)
		SgemmPrepacked(rep == 1, &pa, n, func(pc, jc, kb, nb int, bp []float32) {
			packB(tB, b, ldb, pc, jc, kb, nb, bp)
		}, beta, c4, ldc)
		for i := range c {
			if c[i] != c4[i] {
				t.Fatalf("prepacked and plain differ at %d: %g vs %g", i, c4[i], c[i])
			}
		}
	}
	naive(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
	for i := range c {
		if d := math.Abs(float64(c[i] - want[i])); d > 1e-4*math.Sqrt(float64(k)+1)*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("tA=%v tB=%v m=%d n=%d k=%d α=%g β=%g: element %d (row %d col %d) got %g want %g", tA, tB, m, n, k, alpha, beta, i, i/ldc, i%ldc, c[i], want[i])
		}
	}
}

func TestSgemmMatchesNaive(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {12, 32, 5}, {13, 33, 7}, {5, 70, 300}, {130, 31, 260}, {64, 1024, 288}, {3, 2, 0}, {128, 576, 1024}}
	for _, s := range shapes {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				check(t, tA, tB, s[0], s[1], s[2], 1, 0)
				check(t, tA, tB, s[0], s[1], s[2], 0.5, 1)
				check(t, tA, tB, s[0], s[1], s[2], -2, 0.25)
			}
		}
	}
}

func TestPortableKernel(t *testing.T) {
	if !hasAVX512 && !hasAVX2 {
		t.Skip("the portable kernel is already the one in use")
	}
	a512, a2 := hasAVX512, hasAVX2
	hasAVX512, hasAVX2 = false, false
	defer func() { hasAVX512, hasAVX2 = a512, a2 }()
	check(t, false, false, 37, 70, 300, 1, 0)
	check(t, true, true, 13, 33, 7, 0.5, 1)
}

func TestBetaZeroOverwritesNaN(t *testing.T) {
	c := []float32{float32(math.NaN()), 1}
	Sgemm(false, false, 1, 2, 1, 1, []float32{2}, 1, []float32{3, 4}, 2, 0, c, 2)
	if c[0] != 6 || c[1] != 8 {
		t.Fatalf("%v", c)
	}
}

func BenchmarkSgemm(b *testing.B) {
	for _, s := range [][3]int{{64, 1024, 576}, {256, 256, 256}, {1024, 1024, 1024}} {
		m, n, k := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 2))
		a, bb, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
		flops := 2 * float64(m*n*k)
		b.Run(fmt.Sprintf("rpo/%dx%dx%d", m, n, k), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				Sgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("gonum/%dx%dx%d", m, n, k), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, bb, n, 0, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestSplitIsBitIdentical: a product shared among workers (row parts or
// column parts, with A packed per part, prepacked, or B from a Packer)
// gives exactly the bits of the serial product: the parts start at
// micro-tile boundaries, so each element sees the same operations.
func TestSplitIsBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range [][3]int{{300, 70, 290}, {37, 700, 300}, {130, 200, 600}, {25, 1000, 27}} {
		m, n, k := s[0], s[1], s[2]
		a, b, c0 := randSlice(rng, m*k), randSlice(rng, k*n), randSlice(rng, m*n)
		pack := func(pc, jc, kb, nb int, bp []float32) { packB(false, b, n, pc, jc, kb, nb, bp) }
		var pa PackedA
		PackA(&pa, false, m, k, 0.5, a, k)
		ways := map[string]func(workers int, c []float32){
			"Sgemm":          func(w int, c []float32) { sgemm(w, false, false, m, n, k, 0.5, a, k, b, n, 0.75, c, n) },
			"SgemmPacked":    func(w int, c []float32) { run(w, false, m, n, k, 0.5, a, k, pack, 0.75, c, n) },
			"SgemmPrepacked": func(w int, c []float32) { SgemmPrepacked(w == 1, &pa, n, pack, 0.75, c, n) },
		}
		for name, f := range ways {
			serial := append([]float32(nil), c0...)
			f(1, serial)
			for _, w := range []int{2, 3, 4} {
				if name == "SgemmPrepacked" && w != 2 {
					continue // its workers are the cores
				}
				got := append([]float32(nil), c0...)
				f(w, got)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(serial[i]) {
						t.Fatalf("%s %v, %d workers: element %d is %g, serially %g", name, s, w, i, got[i], serial[i])
					}
				}
			}
		}
	}
}

// TestPackA12: whole A panels hold alpha·a[i·lda+p] at p·12+i for every
// column count (the vector part's multiples of 8 and the tail), offset and
// leading dimension, NaN and infinities included.
func TestPackA12(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kb := range []int{1, 7, 8, 9, 16, 23, 64, 77} {
		for _, alpha := range []float32{1, -0.37} {
			lda, off := kb+5, 3
			a := make([]float32, off+12*lda)
			for i := range a {
				a[i] = rng.Float32() - 0.5
			}
			a[off+2*lda+kb-1], a[off+11*lda] = float32(math.NaN()), float32(math.Inf(-1))
			panel := make([]float32, kb*mr+3)
			for i := range panel {
				panel[i] = 99
			}
			packA12(a, off, lda, kb, alpha, panel)
			for p := 0; p < kb; p++ {
				for i := 0; i < mr; i++ {
					got, want := panel[p*mr+i], alpha*a[off+i*lda+p]
					if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
						t.Fatalf("kb %d alpha %g: panel[%d·12+%d] = %g, want %g", kb, alpha, p, i, got, want)
					}
				}
			}
			if panel[kb*mr] != 99 {
				t.Fatalf("kb %d: wrote past the panel", kb)
			}
		}
	}
}
