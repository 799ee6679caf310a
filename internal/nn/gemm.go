package nn

import (
	"math"
	"runtime"

	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"

	"github.com/rpo-dev/rpo/internal/par"
)

// gemm computes C = alpha·op(A)·op(B) + beta·C on row-major slices: op(A)
// is m×k, op(B) k×n, C m×n. float32 goes through sgemm32 (internal/gemm, or
// OpenBLAS with the openblas tag); float64 through gorgonia's BLAS. serial
// says the caller already spreads its work over the cores.
func gemm[T Float](serial, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		sgemm32(serial, transA, transB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		ta, tb := blas.NoTrans, blas.NoTrans
		if transA {
			ta = blas.Trans
		}
		if transB {
			tb = blas.Trans
		}
		G.WhichBLAS().Dgemm(ta, tb, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// parallelFor splits [0, n) into contiguous chunks, one per core (at most
// n), and runs f(worker, lo, hi) on each, the first on the caller.
func parallelFor(n int, f func(worker, lo, hi int)) {
	if n > 0 {
		runParts(min(runtime.GOMAXPROCS(0), n), n, true, f)
	}
}

// runParts runs f(i, i·n/w, (i+1)·n/w) for i < w, side by side on every
// core when concurrent (par.Run: each part once, by whichever core is
// free), else one after the other.
func runParts(w, n int, concurrent bool, f func(part, lo, hi int)) {
	if !concurrent || w <= 1 {
		for i := 0; i < w; i++ {
			f(i, i*n/w, (i+1)*n/w)
		}
		return
	}
	par.Run(w, func(i int) { f(i, i*n/w, (i+1)*n/w) })
}

// workers is how many chunks parallelFor makes of n.
func workers(n int) int { return max(1, min(runtime.GOMAXPROCS(0), n)) }

// reductionParts is how many partial sums a sum over the batch (a filter's
// or a norm's gradient) makes of n samples: at most 2 whatever the number of
// cores, so that training computes the same bits on every machine (2: the
// parts the 2-core machines always made).
func reductionParts(n int) int { return max(1, min(2, n)) }

// parallelParts runs f(part, lo, hi) on the reductionParts(n) contiguous
// parts of [0, n), side by side when there are cores for it.
func parallelParts(n int, f func(part, lo, hi int)) {
	if n > 0 {
		runParts(reductionParts(n), n, runtime.GOMAXPROCS(0) > 1, f)
	}
}

// partsFillCores says whether parallelParts's parts of n keep every core
// busy, so that the products inside them should run serially (their bits
// are the same either way).
func partsFillCores(n int) bool {
	return reductionParts(n) > 1 && runtime.GOMAXPROCS(0) <= reductionParts(n)
}

// expT is e^x: a fast float32 exponential for float32, math.Exp otherwise.
func expT[T Float](x T) T {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return T(exp32(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

// exp32 is e^x in float32 with relative error below 3e-7: x = k·ln2 + r
// (Cody–Waite), a degree-6 Taylor polynomial for e^r, |r| ≤ ln2/2, and k
// put into the exponent.
func exp32(x float32) float32 {
	switch {
	case x > 88.72:
		return float32(math.Inf(1))
	case x < -87.3:
		return 0
	case x != x:
		return x
	}
	// round to nearest by adding and removing 1.5·2²³
	k := (x*1.4426950408889634 + 12582912) - 12582912
	r := x - k*0.693145751953125 - k*1.428606765330187e-06
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	if k > 127 { // 2^128 overflows the exponent field: take one factor 2 into p
		p *= 2
		k--
	}
	return p * math.Float32frombits(uint32(int32(k)+127)<<23)
}

// sigmoidT is 1/(1+e^−x).
func sigmoidT[T Float](x T) T { return 1 / (1 + expT(-x)) }
