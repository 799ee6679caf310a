//go:build amd64 && !purego

package nn

//go:noescape
func adamwAVX512(d, gr *float32, m, v *float64, n int, k *[10]float64)

//go:noescape
func adamwAVX2(d, gr *float32, m, v *float64, n int, k *[10]float64)

// adamwVec updates the leading elements of d (float32 parameters, float32
// gradients g) with AVX-512 (multiples of 8) or AVX2 (of 4), the bits of
// adamwRange, and returns how many it updated (0 without either).
func adamwVec(c adamwStep, d, g []float32, m, v []float64) int {
	var n int
	switch {
	case hasAVX512:
		n = len(d) &^ 7
	case hasAVX2:
		n = len(d) &^ 3
	}
	if n == 0 {
		return 0
	}
	_, _, _ = g[n-1], m[n-1], v[n-1]
	k := c.constants()
	if hasAVX512 {
		adamwAVX512(&d[0], &g[0], &m[0], &v[0], n, &k)
	} else {
		adamwAVX2(&d[0], &g[0], &m[0], &v[0], n, &k)
	}
	return n
}
