//go:build !amd64 || purego

package nn

// The vector steps of GroupNorm's backward have no kernel on this build.

func normRowVec(dst, x []float32, mean, inv float64) int                { return 0 }
func siluGradVec(ga, gy, xh []float32, gam, bet float32) int            { return 0 }
func gnDxVec(dx, ga, xh []float32, mf, gam, sG, sGX, scale float32) int { return 0 }
func groupSums8Vec(x []float32, m int, means, sums *[8]float64) int     { return 0 }
