package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Upsample2x repeats every pixel of x (N,C,H,W) into a 2×2 block, giving
// (N,C,2H,2W): nearest-neighbour upsampling.
func Upsample2x(x *G.Node) (*G.Node, error) {
	xs := x.Shape().Clone()
	if xs.Dims() != 4 {
		return nil, fmt.Errorf("nn: upsample2x: input %v is not N,C,H,W", xs)
	}
	op := &resize2xOp{opBase{name: fmt.Sprintf("Upsample2x%v", xs), inDims: []int{4}, outDim: 4}, xs, tensor.Shape{xs[0], xs[1], 2 * xs[2], 2 * xs[3]}, true}
	return G.ApplyOp(op, x)
}

// resize2xOp is nearest 2× upsampling (up) or its adjoint, the sum over each
// 2×2 block (down), which is upsampling's gradient.
type resize2xOp struct {
	opBase
	x, out tensor.Shape
	up     bool
}

func (o *resize2xOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.out.Clone(), nil }

func (o *resize2xOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.out...)
	switch in[0].Dtype() {
	case tensor.Float32:
		resize2x(o, contiguous[float32](in[0]), out.Data().([]float32))
	default:
		resize2x(o, contiguous[float64](in[0]), out.Data().([]float64))
	}
	return out, nil
}

func resize2x[T Float](o *resize2xOp, x, y []T) {
	small := o.x // the low-resolution side
	if !o.up {
		small = o.out
	}
	planes, h, w := small[0]*small[1], small[2], small[3]
	for p := 0; p < planes; p++ {
		lo := p * h * w
		hi := p * 4 * h * w
		for i := 0; i < h; i++ {
			r0 := hi + (2*i)*2*w
			r1 := r0 + 2*w
			for j := 0; j < w; j++ {
				if o.up {
					v := x[lo+i*w+j]
					y[r0+2*j], y[r0+2*j+1], y[r1+2*j], y[r1+2*j+1] = v, v, v, v
				} else {
					y[lo+i*w+j] = x[r0+2*j] + x[r0+2*j+1] + x[r1+2*j] + x[r1+2*j+1]
				}
			}
		}
	}
}

func (o *resize2xOp) DiffWRT(int) []bool { return []bool{o.up} }

func (o *resize2xOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if !o.up {
		return nil, fmt.Errorf("nn: %s is a gradient op and has no gradient of its own", o.name)
	}
	op := &resize2xOp{opBase{name: fmt.Sprintf("BlockSum2x%v", o.out), inDims: []int{4}, outDim: 4}, o.out, o.x, false}
	g, err := G.ApplyOp(op, grad)
	return G.Nodes{g}, err
}
