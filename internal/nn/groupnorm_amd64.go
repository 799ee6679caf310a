//go:build amd64 && !purego

package nn

//go:noescape
func normRowAVX2(dst, x *float32, n int, mean, inv float64)

//go:noescape
func siluGradAVX2(ga, gy, xh *float32, n int, gam, bet float32)

//go:noescape
func groupSums8AVX2(x *float32, m, n int, sums *[8]float64)

//go:noescape
func groupSqSums8AVX2(x *float32, m, n int, means, sums *[8]float64)

//go:noescape
func gnDxAVX2(dx, ga, xh *float32, n int, mf, gam, sG, sGX, scale float32)

// The vector steps of GroupNorm's backward (groupNormBackward's loops, the
// same bits): each handles the leading multiple of 8 of its row with AVX2
// and returns how many values it wrote (0 without AVX2).

// normRowVec: dst[i] = float32((float64(x[i]) − mean)·inv).
func normRowVec(dst, x []float32, mean, inv float64) int {
	n := len(x) &^ 7
	if !hasAVX2 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	normRowAVX2(&dst[0], &x[0], n, mean, inv)
	return n
}

// siluGradVec: ga[i] = gy[i]·(σ(a)·(1 + a·(1 − σ(a)))), a = gam·xh[i] + bet.
func siluGradVec(ga, gy, xh []float32, gam, bet float32) int {
	n := len(xh) &^ 7
	if !hasAVX2 || n == 0 {
		return 0
	}
	_, _ = ga[n-1], gy[n-1]
	siluGradAVX2(&ga[0], &gy[0], &xh[0], n, gam, bet)
	return n
}

// gnDxVec: dx[i] = scale·(mf·ga[i]·gam − sG − xh[i]·sGX).
func gnDxVec(dx, ga, xh []float32, mf, gam, sG, sGX, scale float32) int {
	n := len(xh) &^ 7
	if !hasAVX2 || n == 0 {
		return 0
	}
	_, _ = dx[n-1], ga[n-1]
	gnDxAVX2(&dx[0], &ga[0], &xh[0], n, mf, gam, sG, sGX, scale)
	return n
}

// groupSums8Vec adds, for the 8 groups of m values at the start of x, the
// float64 sums of their first n&^3 values in order into sums (and with
// means, the sums of squared deviations), and returns how many values of
// each group it summed (0 without AVX2).
func groupSums8Vec(x []float32, m int, means, sums *[8]float64) int {
	n := m &^ 3
	if !hasAVX2 || n == 0 {
		return 0
	}
	_ = x[8*m-1]
	if means == nil {
		groupSums8AVX2(&x[0], m, n, sums)
	} else {
		groupSqSums8AVX2(&x[0], m, n, means, sums)
	}
	return n
}
