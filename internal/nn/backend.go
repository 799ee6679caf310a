package nn

import (
	G "gorgonia.org/gorgonia"
)

// Ops is the set of operators where the project and gorgonia differ. Layers
// call them through a Builder, so one model can be built either way and the
// two builds compared.
type Ops interface {
	Conv2d(x, w, b *G.Node, geom ConvGeom) (*G.Node, error)
	GroupNorm(x, gamma, beta *G.Node, groups int, eps float64, silu bool) (*G.Node, error)
	Upsample2x(x *G.Node) (*G.Node, error)
	AddChannel(x, b *G.Node) (*G.Node, error)
	ConcatChannels(a, b *G.Node) (*G.Node, error)
	LayerNorm(x, gamma, beta *G.Node, eps float64) (*G.Node, error)
	SiLU(x *G.Node) (*G.Node, error)
	MatMulT(x, w *G.Node) (*G.Node, error)
}

// Owned uses the project's operators (the default).
type Owned struct{}

func (Owned) Conv2d(x, w, b *G.Node, geom ConvGeom) (*G.Node, error) { return Conv2d(x, w, b, geom) }
func (Owned) GroupNorm(x, gamma, beta *G.Node, groups int, eps float64, silu bool) (*G.Node, error) {
	return GroupNorm(x, gamma, beta, groups, eps, silu)
}
func (Owned) Upsample2x(x *G.Node) (*G.Node, error)        { return Upsample2x(x) }
func (Owned) AddChannel(x, b *G.Node) (*G.Node, error)     { return AddChannel(x, b) }
func (Owned) ConcatChannels(a, b *G.Node) (*G.Node, error) { return ConcatChannels(a, b) }
func (Owned) SiLU(x *G.Node) (*G.Node, error)              { return SiLU(x) }
func (Owned) MatMulT(x, w *G.Node) (*G.Node, error)        { return MatMulT(x, w) }
func (Owned) LayerNorm(x, gamma, beta *G.Node, eps float64) (*G.Node, error) {
	return LayerNorm(x, gamma, beta, eps)
}

// Stock composes the same operators from gorgonia's own, with the fixes of
// GORGONIA.md: the copying Reshape instead of G.Reshape, GroupNorm composed
// from single-axis means instead of G.GroupNorm, Pow(·, −0.5) instead of
// InverseSqrt. It is slower and kept to cross-check gradients.
type Stock struct{}

// MatMulT is Mul(x, Transpose(w)).
func (Stock) MatMulT(x, w *G.Node) (*G.Node, error) {
	wt, err := G.Transpose(w)
	if err != nil {
		return nil, err
	}
	return G.Mul(x, wt)
}

func (Stock) Conv2d(x, w, b *G.Node, geom ConvGeom) (*G.Node, error) {
	ws := w.Shape()
	y, err := G.Conv2d(x, w, ws[2:].Clone(), []int{geom.Pad, geom.Pad}, []int{geom.Stride, geom.Stride}, []int{1, 1})
	if err != nil || b == nil {
		return y, err
	}
	return Stock{}.AddChannel(y, b)
}

func (Stock) GroupNorm(x, gamma, beta *G.Node, groups int, eps float64, silu bool) (*G.Node, error) {
	xs := x.Shape().Clone()
	n, c := xs[0], xs[1]
	rest := xs.TotalSize() / (n * c)
	xg, err := Reshape(x, n*groups, (c/groups)*rest)
	if err != nil {
		return nil, err
	}
	xh, err := stockNormalizeRows(xg, eps)
	if err != nil {
		return nil, err
	}
	xh3, err := Reshape(xh, n, c, rest)
	if err != nil {
		return nil, err
	}
	g3, err := Reshape(gamma, 1, c, 1)
	if err != nil {
		return nil, err
	}
	b3, err := Reshape(beta, 1, c, 1)
	if err != nil {
		return nil, err
	}
	y, err := G.BroadcastHadamardProd(xh3, g3, nil, []byte{0, 2})
	if err != nil {
		return nil, err
	}
	if y, err = G.BroadcastAdd(y, b3, nil, []byte{0, 2}); err != nil {
		return nil, err
	}
	if silu {
		if y, err = (Stock{}).SiLU(y); err != nil {
			return nil, err
		}
	}
	return Reshape(y, xs...)
}

func (Stock) Upsample2x(x *G.Node) (*G.Node, error) { return G.Upsample2D(x, 2) }

func (Stock) ConcatChannels(a, b *G.Node) (*G.Node, error) { return G.Concat(1, a, b) }

// stockNormalizeRows is (x − mean)/√(var + eps) of every row of x (M,D),
// from single-axis means and broadcasting ops.
func stockNormalizeRows(x *G.Node, eps float64) (*G.Node, error) {
	mean, err := G.Mean(x, 1)
	if err != nil {
		return nil, err
	}
	xc, err := G.BroadcastSub(x, mean, nil, []byte{1})
	if err != nil {
		return nil, err
	}
	sq, err := G.Square(xc)
	if err != nil {
		return nil, err
	}
	variance, err := G.Mean(sq, 1)
	if err != nil {
		return nil, err
	}
	epsN := G.NewConstant(castLike(x, eps))
	ve, err := G.Add(variance, epsN)
	if err != nil {
		return nil, err
	}
	inv, err := G.Pow(ve, G.NewConstant(castLike(x, -0.5)))
	if err != nil {
		return nil, err
	}
	return G.BroadcastHadamardProd(xc, inv, nil, []byte{1})
}

// LayerNorm is stockNormalizeRows with scale and shift.
func (Stock) LayerNorm(x, gamma, beta *G.Node, eps float64) (*G.Node, error) {
	d := x.Shape()[1]
	xh, err := stockNormalizeRows(x, eps)
	if err != nil {
		return nil, err
	}
	g2, err := Reshape(gamma, 1, d)
	if err != nil {
		return nil, err
	}
	y, err := G.BroadcastHadamardProd(xh, g2, nil, []byte{0})
	if err != nil {
		return nil, err
	}
	return Stock{}.AddChannel(y, beta)
}

func (Stock) AddChannel(x, b *G.Node) (*G.Node, error) {
	xs := x.Shape()
	shape := make([]int, xs.Dims())
	var pattern []byte
	for i := range shape {
		shape[i] = 1
	}
	shape[1] = xs[1]
	if b.Shape().Dims() == 2 {
		shape[0] = xs[0]
	} else {
		pattern = append(pattern, 0)
	}
	for i := 2; i < len(shape); i++ {
		pattern = append(pattern, byte(i))
	}
	br, err := Reshape(b, shape...)
	if err != nil {
		return nil, err
	}
	return G.BroadcastAdd(x, br, nil, pattern)
}

// SiLU is x·sigmoid(x) from gorgonia's Sigmoid and Hadamard product.
func (Stock) SiLU(x *G.Node) (*G.Node, error) {
	s, err := G.Sigmoid(x)
	if err != nil {
		return nil, err
	}
	return G.HadamardProd(x, s)
}

// castLike returns v as the Go type of x's dtype, for constants.
func castLike(x *G.Node, v float64) any {
	if x.Dtype().Name() == "float32" {
		return float32(v)
	}
	return v
}
