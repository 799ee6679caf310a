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
	out := newDense(in[0].Dtype(), o.x...)
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

// stats returns the mean and 1/√(σ²+ε) of the group starting at x[0].
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

func sigmoid(a float64) float64 { return 1 / (1 + math.Exp(-a)) }

func groupNormForward[T Float](o *groupNormOp, x, gamma, beta, y []T) {
	n, c, cg, s := o.layout()
	m := cg * s
	for i := 0; i < n; i++ {
		for g := 0; g < o.groups; g++ {
			off := (i*c + g*cg) * s
			mean, inv := groupStats(x[off:off+m], o.eps)
			for cc := 0; cc < cg; cc++ {
				ch := g*cg + cc
				ga, be := float64(gamma[ch]), float64(beta[ch])
				base := off + cc*s
				for q := 0; q < s; q++ {
					a := ga*(float64(x[base+q])-mean)*inv + be
					if o.silu {
						a *= sigmoid(a)
					}
					y[base+q] = T(a)
				}
			}
		}
	}
}

func (o *groupNormOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (o *groupNormOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	res := make(G.Nodes, 3)
	for wrt, dims := range []int{o.x.Dims(), 1, 1} {
		op := &groupNormGradOp{opBase{name: fmt.Sprintf("GroupNormGrad%d/%s", wrt, o.name), inDims: []int{o.x.Dims(), 1, 1, o.x.Dims()}, outDim: dims}, o, wrt}
		g, err := G.ApplyOp(op, inputs[0], inputs[1], inputs[2], grad)
		if err != nil {
			return nil, err
		}
		res[wrt] = g
	}
	return res, nil
}

// groupNormGradOp computes the gradient of GroupNorm with respect to input
// wrt (0: x, 1: gamma, 2: beta) from x, gamma, beta and ∂L/∂y.
type groupNormGradOp struct {
	opBase
	fwd *groupNormOp
	wrt int
}

func (o *groupNormGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if o.wrt == 0 {
		return o.fwd.x.Clone(), nil
	}
	return tensor.Shape{o.fwd.x[1]}, nil
}

func (o *groupNormGradOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	shape, _ := o.InferShape()
	out := newDense(in[0].Dtype(), shape...)
	switch in[0].Dtype() {
	case tensor.Float32:
		groupNormBackward(o, contiguous[float32](in[0]), contiguous[float32](in[1]), contiguous[float32](in[2]), contiguous[float32](in[3]), out.Data().([]float32))
	default:
		groupNormBackward(o, contiguous[float64](in[0]), contiguous[float64](in[1]), contiguous[float64](in[2]), contiguous[float64](in[3]), out.Data().([]float64))
	}
	return out, nil
}

func groupNormBackward[T Float](o *groupNormGradOp, x, gamma, beta, gy, out []T) {
	f := o.fwd
	n, c, cg, s := f.layout()
	m := cg * s
	ga := make([]float64, m) // ∂L/∂a, a = γ·x̂ + β (before SiLU)
	xh := make([]float64, m) // x̂
	for i := 0; i < n; i++ {
		for g := 0; g < f.groups; g++ {
			off := (i*c + g*cg) * s
			mean, inv := groupStats(x[off:off+m], f.eps)
			var sumG, sumGX float64 // Σ ∂L/∂x̂ and Σ ∂L/∂x̂ · x̂ over the group
			for cc := 0; cc < cg; cc++ {
				ch := g*cg + cc
				gam, bet := float64(gamma[ch]), float64(beta[ch])
				var dGamma, dBeta float64
				for q := 0; q < s; q++ {
					k := cc*s + q
					xh[k] = (float64(x[off+k]) - mean) * inv
					d := float64(gy[off+k])
					if f.silu {
						a := gam*xh[k] + bet
						sg := sigmoid(a)
						d *= sg * (1 + a*(1-sg))
					}
					ga[k] = d
					dGamma += d * xh[k]
					dBeta += d
					sumG += d * gam
					sumGX += d * gam * xh[k]
				}
				switch o.wrt {
				case 1:
					out[ch] += T(dGamma)
				case 2:
					out[ch] += T(dBeta)
				}
			}
			if o.wrt != 0 {
				continue
			}
			mf := float64(m)
			for cc := 0; cc < cg; cc++ {
				gam := float64(gamma[g*cg+cc])
				for q := 0; q < s; q++ {
					k := cc*s + q
					out[off+k] = T(inv / mf * (mf*ga[k]*gam - sumG - xh[k]*sumGX))
				}
			}
		}
	}
}

func (o *groupNormGradOp) DiffWRT(int) []bool { return []bool{false, false, false, false} }

func (o *groupNormGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("nn: %s is a gradient op and has no gradient of its own", o.name)
}
