package nn

import "math"

// Float32 row kernels of GroupNorm+SiLU with the exponential written out,
// so the hot loops make no calls. They compute what the generic code
// computes, with exp32's arithmetic.

// siluAffine32 writes dst[q] = silu(src[q]·scale + shift); tmp is scratch
// of len(src).
func siluAffine32(src, dst, tmp []float32, scale, shift float32) {
	dst, tmp = dst[:len(src)], tmp[:len(src)]
	if n := siluAffineVec(dst, src, scale, shift); n > 0 { // one pass, eight at a time
		src, dst, tmp = src[n:], dst[n:], tmp[n:]
	}
	for q, v := range src {
		dst[q] = v*scale + shift
	}
	sigmoidVec(tmp, dst)
	for q, sg := range tmp {
		dst[q] *= sg
	}
}

// sigmoid32 is 1/(1+e^−a) with exp32's polynomial.
func sigmoid32(a float32) float32 {
	x := -a
	if x > 88.72 {
		return 0
	}
	if x < -87.3 {
		return 1
	}
	k := (x*1.4426950408889634 + 12582912) - 12582912
	r := x - k*0.693145751953125 - k*1.428606765330187e-06
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	ki := int32(k)
	if ki > 127 {
		p *= 2
		ki--
	}
	return 1 / (1 + p*math.Float32frombits(uint32(ki+127)<<23))
}
