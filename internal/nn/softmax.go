package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Softmax returns softmax(scale·x) over the last axis of x: attention's
// scaled scores in one op. gorgonia's SoftMax plus the scaling Mul were
// 7% of a sampling step, serial, with a float32 Exp slower than exp32.
//
//	y_i = exp(s·x_i − max_j s·x_j) / Σ_j exp(s·x_j − max_j s·x_j)
//	∂L/∂x_i = s · y_i · (g_i − Σ_j g_j y_j)
func Softmax(x *G.Node, scale float64) (*G.Node, error) {
	xs := x.Shape().Clone()
	if xs.Dims() < 1 {
		return nil, fmt.Errorf("nn: softmax: input %v has no axis", xs)
	}
	op := &softmaxOp{opBase{name: fmt.Sprintf("Softmax%v·%g", xs, scale), inDims: []int{xs.Dims()}, outDim: xs.Dims()}, xs, scale}
	return G.ApplyOp(op, x)
}

type softmaxOp struct {
	opBase
	x     tensor.Shape
	scale float64
}

func (o *softmaxOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.x.Clone(), nil }

func (o *softmaxOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	if err := checkFloat(&o.opBase, in[0]); err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.x...)
	n := o.x[o.x.Dims()-1]
	switch in[0].Dtype() {
	case tensor.Float32:
		softmaxRows(contiguous[float32](in[0]), out.Data().([]float32), n, float32(o.scale))
	default:
		softmaxRows(contiguous[float64](in[0]), out.Data().([]float64), n, o.scale)
	}
	return out, nil
}

// softmaxRows writes softmax(scale·x) of every row of n values, rows split
// across the cores.
func softmaxRows[T Float](x, y []T, n int, scale T) {
	rows := len(x) / n
	parallelFor(rows, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := x[r*n:(r+1)*n], y[r*n:(r+1)*n]
			m := T(math.Inf(-1))
			for _, v := range xr {
				m = max(m, scale*v)
			}
			var sum T
			for i, v := range xr {
				e := expT(scale*v - m)
				yr[i] = e
				sum += e
			}
			inv := 1 / sum
			for i := range yr {
				yr[i] *= inv
			}
		}
	})
}

func (o *softmaxOp) DiffWRT(int) []bool { return []bool{true} }

func (o *softmaxOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	op := &softmaxGradOp{opBase{name: fmt.Sprintf("SoftmaxGrad%v·%g", o.x, o.scale), inDims: []int{o.x.Dims(), o.x.Dims()}, outDim: o.x.Dims()}, o.x, o.scale}
	dx, err := G.ApplyOp(op, output, grad)
	return G.Nodes{dx}, err
}

// softmaxGradOp is ∂L/∂x of Softmax from its output y and ∂L/∂y.
type softmaxGradOp struct {
	opBase
	x     tensor.Shape
	scale float64
}

func (o *softmaxGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.x.Clone(), nil }

func (o *softmaxGradOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.x...)
	n := o.x[o.x.Dims()-1]
	switch in[0].Dtype() {
	case tensor.Float32:
		softmaxGrad(contiguous[float32](in[0]), contiguous[float32](in[1]), out.Data().([]float32), n, float32(o.scale))
	default:
		softmaxGrad(contiguous[float64](in[0]), contiguous[float64](in[1]), out.Data().([]float64), n, o.scale)
	}
	return out, nil
}

func softmaxGrad[T Float](y, g, dx []T, n int, scale T) {
	parallelFor(len(y)/n, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			yr, gr, dr := y[r*n:(r+1)*n], g[r*n:(r+1)*n], dx[r*n:(r+1)*n]
			var dot T
			for i, v := range yr {
				dot += v * gr[i]
			}
			for i, v := range yr {
				dr[i] = scale * v * (gr[i] - dot)
			}
		}
	})
}

func (o *softmaxGradOp) DiffWRT(int) []bool { return []bool{false, false} }

func (o *softmaxGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("nn: %s has no second derivative", o.name)
}
