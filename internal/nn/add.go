package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Add is x + y for tensors of one shape (residual connections), shared
// among the cores; gorgonia's Add ran on one. Element by element, so the
// bits are gorgonia's. Scalars (losses) go to gorgonia's Add.
//
//	∂L/∂x = ∂L/∂y_out,  ∂L/∂y = ∂L/∂y_out
func Add(x, y *G.Node) (*G.Node, error) {
	if x.IsScalar() || y.IsScalar() {
		return G.Add(x, y)
	}
	xs, ys := x.Shape().Clone(), y.Shape().Clone()
	if !xs.Eq(ys) {
		return nil, fmt.Errorf("nn: add: shapes %v and %v differ", xs, ys)
	}
	op := &addOp{opBase{name: fmt.Sprintf("Add%v", xs), inDims: []int{xs.Dims(), xs.Dims()}, outDim: xs.Dims()}, xs}
	return G.ApplyOp(op, x, y)
}

type addOp struct {
	opBase
	shape tensor.Shape
}

func (o *addOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }

func (o *addOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.shape...)
	switch in[0].Dtype() {
	case tensor.Float32:
		addVec(contiguous[float32](in[0]), contiguous[float32](in[1]), out.Data().([]float32))
	default:
		addVec(contiguous[float64](in[0]), contiguous[float64](in[1]), out.Data().([]float64))
	}
	return out, nil
}

// addVec writes x + y into z, in chunks across the cores when it is large
// enough to pay for waking them.
func addVec[T Float](x, y, z []T) {
	const chunk = 1 << 14
	if len(x) < 2*chunk {
		addRange(x, y, z)
		return
	}
	parallelFor((len(x)+chunk-1)/chunk, func(_, lo, hi int) {
		lo, hi = lo*chunk, min(hi*chunk, len(x))
		addRange(x[lo:hi], y[lo:hi], z[lo:hi])
	})
}

func addRange[T Float](x, y, z []T) {
	y, z = y[:len(x)], z[:len(x)]
	for i, v := range x {
		z[i] = v + y[i]
	}
}

func (o *addOp) DiffWRT(n int) []bool { return []bool{true, true}[:n] }

func (o *addOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{grad, grad}, nil
}
