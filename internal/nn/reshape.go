package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reshapeOp is a reshape that copies. gorgonia's Reshape aliases its input,
// and a later in-place op can then overwrite the tensor that was reshaped
// (GORGONIA.md #1); this one always allocates its output.
type reshapeOp struct {
	opBase
	from, to tensor.Shape
}

// Reshape returns a copy of x with shape to (same number of elements).
func Reshape(x *G.Node, to ...int) (*G.Node, error) {
	from := x.Shape().Clone()
	if from.TotalSize() != tensor.Shape(to).TotalSize() {
		return nil, fmt.Errorf("nn: reshape %v to %v: element counts differ", from, to)
	}
	op := &reshapeOp{
		opBase: opBase{name: fmt.Sprintf("Reshape%v→%v", from, to), inDims: []int{from.Dims()}, outDim: len(to)},
		from:   from, to: tensor.Shape(to).Clone(),
	}
	return G.ApplyOp(op, x)
}

func (o *reshapeOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.to.Clone(), nil }

func (o *reshapeOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.to...)
	switch d := out.Data().(type) {
	case []float32:
		copy(d, contiguous[float32](in[0]))
	case []float64:
		copy(d, contiguous[float64](in[0]))
	}
	return out, nil
}

func (o *reshapeOp) DiffWRT(int) []bool { return []bool{true} }

func (o *reshapeOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g, err := Reshape(grad, o.from...)
	return G.Nodes{g}, err
}
