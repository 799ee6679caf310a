package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SwapAxes12 swaps axes 1 and 2 of a rank-3 or rank-4 tensor: (A,B,C) →
// (A,C,B) or (A,B,C,D) → (A,C,B,D). These are the two transposes of
// attention (tokens ↔ channels, heads ↔ positions); gorgonia's Transpose
// does them through its generic element iterator, ~10% of a sampling step
// (GORGONIA.md), while here rows of D elements move with one copy each.
// Its gradient is the same swap back.
func SwapAxes12(x *G.Node) (*G.Node, error) {
	xs := x.Shape().Clone()
	if xs.Dims() != 3 && xs.Dims() != 4 {
		return nil, fmt.Errorf("nn: swapaxes12: input %v is not rank 3 or 4", xs)
	}
	return SwapAxes12As(x, xs, swapped12(xs))
}

// SwapAxes12As is SwapAxes12 of x read as shape as (rank 3 or 4, x's
// size), its result shaped out (the same size): a reshape, the swap and a
// reshape in one copy instead of three (attention's head split and merge).
func SwapAxes12As(x *G.Node, as, out tensor.Shape) (*G.Node, error) {
	xs := x.Shape().Clone()
	if as.Dims() != 3 && as.Dims() != 4 {
		return nil, fmt.Errorf("nn: swapaxes12: %v is not rank 3 or 4", as)
	}
	if as.TotalSize() != xs.TotalSize() || out.TotalSize() != xs.TotalSize() {
		return nil, fmt.Errorf("nn: swapaxes12: input %v read as %v into %v: the sizes differ", xs, as, out)
	}
	op := &swapAxesOp{opBase{name: fmt.Sprintf("SwapAxes12%v→%v", as, out), inDims: []int{xs.Dims()}, outDim: out.Dims()}, xs, as.Clone(), out.Clone()}
	return G.ApplyOp(op, x)
}

// swapped12 is s with axes 1 and 2 exchanged.
func swapped12(s tensor.Shape) tensor.Shape {
	out := s.Clone()
	out[1], out[2] = s[2], s[1]
	return out
}

// swapAxesOp swaps axes 1 and 2 of its input read as x, writing a result
// of shape out; in is the input's own shape.
type swapAxesOp struct {
	opBase
	in, x, out tensor.Shape
}

func (o *swapAxesOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.out.Clone(), nil }

func (o *swapAxesOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.out...)
	switch in[0].Dtype() {
	case tensor.Float32:
		swapAxes12(o.x, contiguous[float32](in[0]), out.Data().([]float32))
	default:
		swapAxes12(o.x, contiguous[float64](in[0]), out.Data().([]float64))
	}
	return out, nil
}

// swapAxes12 writes y[a,c,b,:] = x[a,b,c,:] for x of shape s.
func swapAxes12[T Float](s tensor.Shape, x, y []T) {
	a, b, c, d := s[0], s[1], s[2], 1
	if len(s) == 4 {
		d = s[3]
	}
	swap := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xa, ya := x[i*b*c*d:(i+1)*b*c*d], y[i*b*c*d:(i+1)*b*c*d]
			for j := 0; j < b; j++ {
				for k := 0; k < c; k++ {
					if d == 1 {
						ya[k*b+j] = xa[j*c+k]
						continue
					}
					copy(ya[(k*b+j)*d:(k*b+j+1)*d], xa[(j*c+k)*d:(j*c+k+1)*d])
				}
			}
		}
	}
	if len(x) < parallelCopyMin || a < 2 {
		swap(0, a)
		return
	}
	parallelFor(a, func(_, lo, hi int) { swap(lo, hi) })
}

func (o *swapAxesOp) DiffWRT(int) []bool { return []bool{true} }

func (o *swapAxesOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g, err := SwapAxes12As(grad, swapped12(o.x), o.in)
	return G.Nodes{g}, err
}

// parallelCopyMin is the smallest tensor (values) whose rearranging is
// shared among the cores: below it waking the second core costs more than
// it saves. (Plain copies gain nothing either way: large ones are bound by
// memory.)
const parallelCopyMin = 1 << 16
