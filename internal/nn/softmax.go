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
	op := &softmaxOp{opBase{name: fmt.Sprintf("Softmax%v·%g", xs, scale), inDims: []int{xs.Dims()}, outDim: xs.Dims()}, xs, scale, false}
	return G.ApplyOp(op, x)
}

// softmaxOp is Softmax, or with grad set its gradient from (y, ∂L/∂y).
type softmaxOp struct {
	opBase
	x     tensor.Shape
	scale float64
	grad  bool
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
	switch {
	case o.grad && in[0].Dtype() == tensor.Float32:
		softmaxGrad(contiguous[float32](in[0]), contiguous[float32](in[1]), out.Data().([]float32), n, float32(o.scale))
	case o.grad:
		softmaxGrad(contiguous[float64](in[0]), contiguous[float64](in[1]), out.Data().([]float64), n, o.scale)
	case in[0].Dtype() == tensor.Float32:
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
			sum := expShifted(xr, yr, scale, m)
			inv := 1 / sum
			for i := range yr {
				yr[i] *= inv
			}
		}
	})
}

func (o *softmaxOp) DiffWRT(n int) []bool { return []bool{!o.grad, false}[:n] }

func (o *softmaxOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if o.grad {
		return nil, fmt.Errorf("nn: %s is a gradient op and has no gradient of its own", o.name)
	}
	op := &softmaxOp{opBase{name: fmt.Sprintf("SoftmaxGrad%v·%g", o.x, o.scale), inDims: []int{o.x.Dims(), o.x.Dims()}, outDim: o.x.Dims()}, o.x, o.scale, true}
	dx, err := G.ApplyOp(op, output, grad)
	return G.Nodes{dx}, err
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

// expShifted writes y[i] = e^(scale·x[i] − m) and returns their sum, in
// index order; y may be x. In float32 the exponentials are exp32's, eight
// at a time where the CPU has AVX2 (the same bits).
func expShifted[T Float](x, y []T, scale, m T) T {
	var sum T
	if y32, ok := any(y).([]float32); ok {
		for i, v := range x {
			y[i] = scale*v - m
		}
		expVec(y32, y32)
		for _, e := range y {
			sum += e
		}
		return sum
	}
	for i, v := range x {
		e := expT(scale*v - m)
		y[i] = e
		sum += e
	}
	return sum
}
