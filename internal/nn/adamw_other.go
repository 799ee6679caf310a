//go:build !amd64 || purego

package nn

// adamwVec has no vector kernel on this build.
func adamwVec(c adamwStep, d, g []float32, m, v []float64) int { return 0 }
