package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LayerNorm normalises every row of x (M,D) over D and applies the learnt
// scale γ (D) and shift β (D), in one op (the composition from gorgonia's
// broadcasting ops copied x several times per call):
//
//	μ = mean_j x_j,  σ² = mean_j (x_j − μ)²,  x̂ = (x − μ)/√(σ² + eps)
//	y = γ ⊙ x̂ + β
//	∂L/∂x = (1/√(σ²+eps)) · (d − mean_j d_j − x̂ · mean_j d_j x̂_j),  d = γ ⊙ ∂L/∂y
//	∂L/∂γ = Σ_rows ∂L/∂y ⊙ x̂,  ∂L/∂β = Σ_rows ∂L/∂y
func LayerNorm(x, gamma, beta *G.Node, eps float64) (*G.Node, error) {
	xs := x.Shape().Clone()
	if xs.Dims() != 2 || !gamma.Shape().Eq(tensor.Shape{xs[1]}) || !beta.Shape().Eq(tensor.Shape{xs[1]}) {
		return nil, fmt.Errorf("nn: layer-norm: want x (M,D), γ and β (D); got %v, %v, %v", xs, gamma.Shape(), beta.Shape())
	}
	op := &layerNormOp{opBase{name: fmt.Sprintf("LayerNorm%v,eps=%g", xs, eps), inDims: []int{2, 1, 1}, outDim: 2}, xs, eps}
	return G.ApplyOp(op, x, gamma, beta)
}

type layerNormOp struct {
	opBase
	x   tensor.Shape
	eps float64
}

func (o *layerNormOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.x.Clone(), nil }

func (o *layerNormOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	if err := checkFloat(&o.opBase, in[0]); err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.x...)
	switch in[0].Dtype() {
	case tensor.Float32:
		layerNorm(contiguous[float32](in[0]), contiguous[float32](in[1]), contiguous[float32](in[2]), out.Data().([]float32), o.x[1], o.eps)
	default:
		layerNorm(contiguous[float64](in[0]), contiguous[float64](in[1]), contiguous[float64](in[2]), out.Data().([]float64), o.x[1], o.eps)
	}
	return out, nil
}

// rowStats returns the mean of row x and 1/√(σ² + eps), in float64.
func rowStats[T Float](x []T, eps float64) (mean, inv float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	var ss float64
	for _, v := range x {
		d := float64(v) - mean
		ss += d * d
	}
	return mean, 1 / math.Sqrt(ss/float64(len(x))+eps)
}

func layerNorm[T Float](x, gamma, beta, y []T, d int, eps float64) {
	parallelFor(len(x)/d, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
			mean, inv := rowStats(xr, eps)
			m, s := T(mean), T(inv)
			for j, v := range xr {
				yr[j] = (v-m)*s*gamma[j] + beta[j]
			}
		}
	})
}

func (o *layerNormOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (o *layerNormOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	mk := func(gamma bool) *layerNormGradOp {
		name, dims := "LayerNormGradX", []int{2, 1, 2}
		if gamma {
			name, dims = "LayerNormGradGamma", []int{2, 2}
		}
		return &layerNormGradOp{opBase{name: fmt.Sprintf("%s%v,eps=%g", name, o.x, o.eps), inDims: dims, outDim: len(dims) - 1}, o.x, o.eps, gamma}
	}
	dx, err := G.ApplyOp(mk(false), inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	dg, err := G.ApplyOp(mk(true), inputs[0], grad)
	if err != nil {
		return nil, err
	}
	db, err := ChannelSum(grad, false)
	return G.Nodes{dx, dg, db}, err
}

// layerNormGradOp is ∂L/∂x of LayerNorm from (x, γ, ∂L/∂y), or with gamma
// set ∂L/∂γ from (x, ∂L/∂y).
type layerNormGradOp struct {
	opBase
	x     tensor.Shape
	eps   float64
	gamma bool
}

func (o *layerNormGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if o.gamma {
		return tensor.Shape{o.x[1]}, nil
	}
	return o.x.Clone(), nil
}

func (o *layerNormGradOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	shape, _ := o.InferShape()
	out := o.output(in[0].Dtype(), true, shape...)
	g := in[len(in)-1]
	switch in[0].Dtype() {
	case tensor.Float32:
		if o.gamma {
			layerNormGradGamma(contiguous[float32](in[0]), contiguous[float32](g), out.Data().([]float32), o.x[1], o.eps)
		} else {
			layerNormGradX(contiguous[float32](in[0]), contiguous[float32](in[1]), contiguous[float32](g), out.Data().([]float32), o.x[1], o.eps)
		}
	default:
		if o.gamma {
			layerNormGradGamma(contiguous[float64](in[0]), contiguous[float64](g), out.Data().([]float64), o.x[1], o.eps)
		} else {
			layerNormGradX(contiguous[float64](in[0]), contiguous[float64](in[1]), contiguous[float64](g), out.Data().([]float64), o.x[1], o.eps)
		}
	}
	return out, nil
}

func layerNormGradX[T Float](x, gamma, g, dx []T, d int, eps float64) {
	parallelFor(len(x)/d, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, gr, dr := x[r*d:(r+1)*d], g[r*d:(r+1)*d], dx[r*d:(r+1)*d]
			mean, inv := rowStats(xr, eps)
			var md, mdx float64 // mean_j d_j, mean_j d_j x̂_j
			for j, v := range xr {
				dj := float64(gr[j]) * float64(gamma[j])
				md += dj
				mdx += dj * (float64(v) - mean) * inv
			}
			md, mdx = md/float64(d), mdx/float64(d)
			for j, v := range xr {
				xh := (float64(v) - mean) * inv
				dr[j] = T(inv * (float64(gr[j])*float64(gamma[j]) - md - xh*mdx))
			}
		}
	})
}

// layerNormGradGamma sums ∂L/∂y ⊙ x̂ over the rows: the rows' statistics
// first (rows shared among the cores), then the sums by columns (each
// column's sum over the rows in order, whatever the split).
func layerNormGradGamma[T Float](x, g, dg []T, d int, eps float64) {
	rows := len(x) / d
	if len(x) < parallelCopyMin {
		for r := 0; r < rows; r++ {
			xr, gr := x[r*d:(r+1)*d], g[r*d:(r+1)*d]
			mean, inv := rowStats(xr, eps)
			for j, v := range xr {
				dg[j] += gr[j] * T((float64(v)-mean)*inv)
			}
		}
		return
	}
	stats := make([]float64, 2*rows)
	parallelFor(rows, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			stats[2*r], stats[2*r+1] = rowStats(x[r*d:(r+1)*d], eps)
		}
	})
	parallelFor(d, func(_, lo, hi int) {
		for r := 0; r < rows; r++ {
			xr, gr := x[r*d:(r+1)*d], g[r*d:(r+1)*d]
			mean, inv := stats[2*r], stats[2*r+1]
			for j := lo; j < hi; j++ {
				dg[j] += gr[j] * T((float64(xr[j])-mean)*inv)
			}
		}
	})
}

func (o *layerNormGradOp) DiffWRT(n int) []bool { return make([]bool, n) }

func (o *layerNormGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("nn: %s is a gradient op and has no gradient of its own", o.name)
}
