package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GroupNorm normalises x (N,C,...) over groups of C/groups channels, then
// scales by gamma (C) and shifts by beta (C):
//
//	y = γ·(x − μ_g)/√(σ²_g + ε) + β,   and y·sigmoid(y) (SiLU) when silu is set.
//
// Statistics are accumulated in float64 whatever the element type (gorgonia's
// GroupNorm is wrong once a group holds more than 256 elements, GORGONIA.md #4).
func GroupNorm(x, gamma, beta *G.Node, groups int, eps float64, silu bool) (*G.Node, error) {
	xs := x.Shape().Clone()
	if xs.Dims() < 2 || groups < 1 || xs[1]%groups != 0 {
		return nil, fmt.Errorf("nn: groupnorm: input %v cannot be split into %d groups of channels", xs, groups)
	}
	if gamma.Shape().TotalSize() != xs[1] || beta.Shape().TotalSize() != xs[1] {
		return nil, fmt.Errorf("nn: groupnorm: gamma %v and beta %v must have %d elements", gamma.Shape(), beta.Shape(), xs[1])
	}
	op := &groupNormOp{
		opBase: opBase{name: fmt.Sprintf("GroupNorm%v/g%d/eps%g/silu%v", xs, groups, eps, silu), inDims: []int{xs.Dims(), 1, 1}, outDim: xs.Dims()},
		x:      xs, groups: groups, eps: eps, silu: silu,
	}
	return G.ApplyOp(op, x, gamma, beta)
}

type groupNormOp struct {
	opBase
	x      tensor.Shape
	groups int
	eps    float64
	silu   bool
}

func (o *groupNormOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.x.Clone(), nil }

func (o *groupNormOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.x...)
	switch in[0].Dtype() {
	case tensor.Float32:
		groupNormForward(o, contiguous[float32](in[0]), contiguous[float32](in[1]), contiguous[float32](in[2]), out.Data().([]float32))
	default:
		groupNormForward(o, contiguous[float64](in[0]), contiguous[float64](in[1]), contiguous[float64](in[2]), out.Data().([]float64))
	}
	return out, nil
}

// layout returns batch, channels, channels per group and spatial size.
func (o *groupNormOp) layout() (n, c, cg, s int) {
	n, c = o.x[0], o.x[1]
	return n, c, c / o.groups, o.x.TotalSize() / (n * c)
}

// groupStats returns the mean and 1/√(σ²+ε) of the group x: two passes,
// each summed in float64 in the order of the elements.
func groupStats[T Float](x []T, eps float64) (mean, inv float64) {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mean = s / float64(len(x))
	var ss float64
	for _, v := range x {
		d := float64(v) - mean
		ss += d * d
	}
	return mean, 1 / math.Sqrt(ss/float64(len(x))+eps)
}

// groupStatsOf fills mean and inv with groupStats of the len(mean)
// consecutive groups of m values in x. Four groups share each loop: their
// sums are four independent chains of additions, so the loop is not bound
// by one chain's latency, and each group's sums keep their order (the bits
// of groupStats).
func groupStatsOf[T Float](x []T, m int, eps float64, mean, inv []float64) {
	g := 0
	if x32, ok := any(x).([]float32); ok {
		for ; g+8 <= len(mean) && groupStats8(x32[g*m:(g+8)*m], m, eps, mean[g:g+8], inv[g:g+8]); g += 8 {
		}
	}
	for ; g+4 <= len(mean); g += 4 {
		x0, x1, x2, x3 := x[g*m:(g+1)*m], x[(g+1)*m:(g+2)*m], x[(g+2)*m:(g+3)*m], x[(g+3)*m:(g+4)*m]
		var s0, s1, s2, s3 float64
		for q, v := range x0 {
			s0 += float64(v)
			s1 += float64(x1[q])
			s2 += float64(x2[q])
			s3 += float64(x3[q])
		}
		fm := float64(m)
		m0, m1, m2, m3 := s0/fm, s1/fm, s2/fm, s3/fm
		var q0, q1, q2, q3 float64
		for q, v := range x0 {
			d0, d1, d2, d3 := float64(v)-m0, float64(x1[q])-m1, float64(x2[q])-m2, float64(x3[q])-m3
			q0 += d0 * d0
			q1 += d1 * d1
			q2 += d2 * d2
			q3 += d3 * d3
		}
		mean[g], mean[g+1], mean[g+2], mean[g+3] = m0, m1, m2, m3
		inv[g], inv[g+1], inv[g+2], inv[g+3] = 1/math.Sqrt(q0/fm+eps), 1/math.Sqrt(q1/fm+eps), 1/math.Sqrt(q2/fm+eps), 1/math.Sqrt(q3/fm+eps)
	}
	for ; g < len(mean); g++ {
		mean[g], inv[g] = groupStats(x[g*m:(g+1)*m], eps)
	}
}

// groupStats8 is groupStatsOf for 8 groups of float32 with the AVX2 sums
// (each group a lane of a chain, in the order of its values; the tails in
// Go, continuing the chains) and reports false, writing nothing, where the
// CPU has none.
func groupStats8(x []float32, m int, eps float64, mean, inv []float64) bool {
	var sums, sq, mu [8]float64
	n := groupSums8Vec(x, m, nil, &sums)
	if n == 0 {
		return false
	}
	fm := float64(m)
	for g := range 8 {
		for _, v := range x[g*m+n : (g+1)*m] {
			sums[g] += float64(v)
		}
		mu[g] = sums[g] / fm
	}
	groupSums8Vec(x, m, &mu, &sq)
	for g := range 8 {
		for _, v := range x[g*m+n : (g+1)*m] {
			d := float64(v) - mu[g]
			sq[g] += d * d
		}
		mean[g], inv[g] = mu[g], 1/math.Sqrt(sq[g]/fm+eps)
	}
	return true
}

func groupNormForward[T Float](o *groupNormOp, x, gamma, beta, y []T) {
	n, _, cg, s := o.layout()
	m := cg * s
	parallelFor(n*o.groups, func(_, lo, hi int) {
		var tmp []float32
		if _, ok := any(x).([]float32); ok && o.silu {
			tmp = make([]float32, s)
		}
		means, invs := make([]float64, hi-lo), make([]float64, hi-lo)
		groupStatsOf(x[lo*m:hi*m], m, o.eps, means, invs) // group u starts at u·m
		for u := lo; u < hi; u++ {
			g := u % o.groups
			off := u * m
			mean, inv := means[u-lo], invs[u-lo]
			for cc := 0; cc < cg; cc++ {
				ch := g*cg + cc
				scale := T(float64(gamma[ch]) * inv)
				shift := beta[ch] - T(mean)*scale
				src, dst := x[off+cc*s:off+(cc+1)*s], y[off+cc*s:off+(cc+1)*s]
				if o.silu {
					if s32, ok := any(src).([]float32); ok {
						siluAffine32(s32, any(dst).([]float32), tmp, float32(scale), float32(shift))
						continue
					}
					for q, v := range src {
						a := v*scale + shift
						dst[q] = a * sigmoidT(a)
					}
				} else {
					for q, v := range src {
						dst[q] = v*scale + shift
					}
				}
			}
		}
	})
}

func (o *groupNormOp) DiffWRT(int) []bool { return []bool{true, true, true} }

// SymDiff computes ∂L/∂x, ∂L/∂γ and ∂L/∂β in one pass (groupNormGradOp,
// packed into one flat tensor) and copies the three parts out.
func (o *groupNormOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	op := &groupNormGradOp{opBase{name: "GroupNormGrad/" + o.name, inDims: []int{o.x.Dims(), 1, 1, o.x.Dims()}, outDim: 1}, o}
	packed, err := G.ApplyOp(op, inputs[0], inputs[1], inputs[2], grad)
	if err != nil {
		return nil, err
	}
	n := o.x.TotalSize()
	c := o.x[1]
	dx, err := sliceCopy(packed, 0, o.x)
	if err != nil {
		return nil, err
	}
	dg, err := sliceCopy(packed, n, tensor.Shape{c})
	if err != nil {
		return nil, err
	}
	db, err := sliceCopy(packed, n+c, tensor.Shape{c})
	return G.Nodes{dx, dg, db}, err
}

// groupNormGradOp computes, from x, γ, β and ∂L/∂y, the flat tensor
// [∂L/∂x (all elements) | ∂L/∂γ (C) | ∂L/∂β (C)].
type groupNormGradOp struct {
	opBase
	fwd *groupNormOp
}

func (o *groupNormGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.fwd.x.TotalSize() + 2*o.fwd.x[1]}, nil
}

func (o *groupNormGradOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	shape, _ := o.InferShape()
	out := o.output(in[0].Dtype(), true, shape...)
	switch in[0].Dtype() {
	case tensor.Float32:
		groupNormBackward(o.fwd, contiguous[float32](in[0]), contiguous[float32](in[1]), contiguous[float32](in[2]), contiguous[float32](in[3]), out.Data().([]float32))
	default:
		groupNormBackward(o.fwd, contiguous[float64](in[0]), contiguous[float64](in[1]), contiguous[float64](in[2]), contiguous[float64](in[3]), out.Data().([]float64))
	}
	return out, nil
}

// groupNormBackward writes ∂L/∂x, ∂L/∂γ, ∂L/∂β into out. With a = γ·x̂ + β
// and y = a (or a·σ(a) with SiLU):
//
//	∂L/∂a = ∂L/∂y (· σ(a)(1 + a(1 − σ(a))) with SiLU)
//	∂L/∂β_c = Σ ∂L/∂a,  ∂L/∂γ_c = Σ ∂L/∂a · x̂
//	∂L/∂x = (1/σ)/M · (M·g − Σg − x̂·Σ(g·x̂)),  g = γ·∂L/∂a, sums over the group.
//
// Samples run in parallel in reductionParts parts; each part sums its own
// ∂L/∂γ, ∂L/∂β (the same parts on every machine). For float32 the
// element-wise steps (x̂, the SiLU's ∂L/∂a, ∂L/∂x) run as AVX2 passes with
// the Go expressions' operations in order, so the bits do not depend on it.
func groupNormBackward[T Float](f *groupNormOp, x, gamma, beta, gy, out []T) {
	n, c, cg, s := f.layout()
	m := cg * s
	total := len(x)
	dx := out[:total]
	_, is32 := any(x).([]float32)
	partial := make([][]float64, reductionParts(n)) // per part: dγ (C), dβ (C)
	parallelParts(n, func(part, lo, hi int) {
		acc := make([]float64, 2*c)
		partial[part] = acc
		ga := make([]T, m)   // ∂L/∂a of one group
		xh := make([]T, m)   // x̂ of one group
		arow := make([]T, s) // a = γ·x̂ + β of one channel
		srow := make([]T, s) // σ(a)
		means, invs := make([]float64, f.groups), make([]float64, f.groups)
		dGammas, dBetas := make([]float64, cg), make([]float64, cg) // Σ∂L/∂a·x̂, Σ∂L/∂a per channel of a group
		for i := lo; i < hi; i++ {
			groupStatsOf(x[i*c*s:(i+1)*c*s], m, f.eps, means, invs)
			for g := 0; g < f.groups; g++ {
				off := (i*c + g*cg) * s
				mean, inv := means[g], invs[g]
				// ∂L/∂a and x̂ of the group, element by element
				for cc := 0; cc < cg; cc++ {
					ch := g*cg + cc
					gam, bet := gamma[ch], beta[ch]
					xr, xhr := x[off+cc*s:off+(cc+1)*s], xh[cc*s:(cc+1)*s]
					gar, gyr := ga[cc*s:(cc+1)*s], gy[off+cc*s:off+(cc+1)*s]
					v0 := 0 // the values the vector steps wrote
					if is32 {
						v0 = normRowVec(any(xhr).([]float32), any(xr).([]float32), mean, inv)
					}
					for q := v0; q < s; q++ {
						xhr[q] = T((float64(xr[q]) - mean) * inv)
					}
					if !f.silu {
						copy(gar, gyr)
						continue
					}
					v0 = 0
					if is32 {
						v0 = siluGradVec(any(gar).([]float32), any(gyr).([]float32), any(xhr).([]float32), float32(gam), float32(bet))
					}
					if v0 == s {
						continue
					}
					a, sg := arow[v0:], srow[v0:]
					for q, v := range xhr[v0:] {
						a[q] = gam*v + bet
					}
					if is32 {
						sigmoidVec(any(sg).([]float32), any(a).([]float32))
					} else {
						for q, v := range a {
							sg[q] = sigmoidT(v)
						}
					}
					for q, d := range gyr[v0:] {
						d *= sg[q] * (1 + a[q]*(1-sg[q]))
						gar[v0+q] = d
					}
				}
				// each channel's sums in the order of its elements, four
				// channels' chains side by side
				for cc := 0; cc < cg; cc += 4 {
					channelSums(ga[cc*s:], xh[cc*s:], s, dGammas[cc:min(cc+4, cg)], dBetas[cc:min(cc+4, cg)])
				}
				var sumG, sumGX float64
				for cc := 0; cc < cg; cc++ {
					ch := g*cg + cc
					gam := float64(gamma[ch])
					dG, dB := dGammas[cc], dBetas[cc]
					acc[ch] += dG
					acc[c+ch] += dB
					sumG += dB * gam
					sumGX += dG * gam
				}
				mf := T(m)
				scale := T(inv) / mf
				sG, sGX := T(sumG), T(sumGX)
				for cc := 0; cc < cg; cc++ {
					gam := gamma[g*cg+cc]
					d := dx[off+cc*s : off+(cc+1)*s]
					v0 := 0
					if is32 {
						v0 = gnDxVec(any(d).([]float32), any(ga[cc*s:(cc+1)*s]).([]float32), any(xh[cc*s:(cc+1)*s]).([]float32),
							float32(mf), float32(gam), float32(sG), float32(sGX), float32(scale))
					}
					for q := v0; q < s; q++ {
						k := cc*s + q
						d[q] = scale * (mf*ga[k]*gam - sG - xh[k]*sGX)
					}
				}
			}
		}
	})
	for _, acc := range partial {
		for j := 0; j < 2*c; j++ {
			out[total+j] += T(acc[j])
		}
	}
}

// channelSums sums Σ float64(ga·xh) into dGamma and Σ float64(ga) into
// dBeta for the len(dGamma) ≤ 4 channels of s elements starting at ga and
// xh, each channel in the order of its elements (as one loop per channel
// would); four channels at once keep eight independent chains in flight.
func channelSums[T Float](ga, xh []T, s int, dGamma, dBeta []float64) {
	if len(dGamma) < 4 {
		for j := range dGamma {
			var dG, dB float64
			for q, d := range ga[j*s : (j+1)*s] {
				dG += float64(d * xh[j*s+q])
				dB += float64(d)
			}
			dGamma[j], dBeta[j] = dG, dB
		}
		return
	}
	g0, g1, g2, g3 := ga[:s], ga[s:2*s], ga[2*s:3*s], ga[3*s:4*s]
	x0, x1, x2, x3 := xh[:s], xh[s:2*s], xh[2*s:3*s], xh[3*s:4*s]
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	for q := range g0 {
		d0, d1, d2, d3 := g0[q], g1[q], g2[q], g3[q]
		a0 += float64(d0 * x0[q])
		a1 += float64(d1 * x1[q])
		a2 += float64(d2 * x2[q])
		a3 += float64(d3 * x3[q])
		b0 += float64(d0)
		b1 += float64(d1)
		b2 += float64(d2)
		b3 += float64(d3)
	}
	dGamma[0], dGamma[1], dGamma[2], dGamma[3] = a0, a1, a2, a3
	dBeta[0], dBeta[1], dBeta[2], dBeta[3] = b0, b1, b2, b3
}

func (o *groupNormGradOp) DiffWRT(int) []bool { return []bool{false, false, false, false} }

func (o *groupNormGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("nn: %s is a gradient op and has no gradient of its own", o.name)
}

// sliceCopy copies the elements [off, off+|shape|) of a flat tensor into a
// new tensor of the given shape.
func sliceCopy(x *G.Node, off int, shape tensor.Shape) (*G.Node, error) {
	op := &sliceCopyOp{opBase{name: fmt.Sprintf("SliceCopy%v[%d:]→%v", x.Shape(), off, shape), inDims: []int{1}, outDim: shape.Dims()}, off, shape.Clone()}
	return G.ApplyOp(op, x)
}

type sliceCopyOp struct {
	opBase
	off   int
	shape tensor.Shape
}

func (o *sliceCopyOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }

func (o *sliceCopyOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.shape...)
	n := o.shape.TotalSize()
	switch d := out.Data().(type) {
	case []float32:
		copy(d, contiguous[float32](in[0])[o.off:o.off+n])
	case []float64:
		copy(d, contiguous[float64](in[0])[o.off:o.off+n])
	}
	return out, nil
}

func (o *sliceCopyOp) DiffWRT(int) []bool { return []bool{false} }

func (o *sliceCopyOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("nn: %s is a gradient op and has no gradient of its own", o.name)
}
