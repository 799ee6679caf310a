package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// PadBottomRight pads x (N, C, H, W) with one row of zeros at the bottom and
// one column at the right: the asymmetric padding of diffusers' VAE
// downsampler (F.pad(x, (0, 1, 0, 1)) before a stride-2 convolution).
// Its gradient crops it off again.
func PadBottomRight(x *G.Node) (*G.Node, error) {
	xs := x.Shape().Clone()
	if xs.Dims() != 4 {
		return nil, fmt.Errorf("nn: pad: input %v is not (N, C, H, W)", xs)
	}
	op := &padOp{opBase{name: fmt.Sprintf("PadBR%v", xs), inDims: []int{4}, outDim: 4}, xs, false}
	return G.ApplyOp(op, x)
}

// padOp pads (or, with crop, removes) the last row and column.
type padOp struct {
	opBase
	x    tensor.Shape // the unpadded shape
	crop bool
}

func (o *padOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if o.crop {
		return o.x.Clone(), nil
	}
	return tensor.Shape{o.x[0], o.x[1], o.x[2] + 1, o.x[3] + 1}, nil
}

func (o *padOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	s, _ := o.InferShape()
	out := o.output(in[0].Dtype(), !o.crop, s...)
	switch in[0].Dtype() {
	case tensor.Float32:
		padCopy(contiguous[float32](in[0]), out.Data().([]float32), o.x, o.crop)
	default:
		padCopy(contiguous[float64](in[0]), out.Data().([]float64), o.x, o.crop)
	}
	return out, nil
}

func padCopy[T Float](src, dst []T, x tensor.Shape, crop bool) {
	h, w := x[2], x[3]
	for p := 0; p < x[0]*x[1]; p++ {
		for r := 0; r < h; r++ {
			small := src[p*h*w+r*w:]
			big := (p*(h+1) + r) * (w + 1)
			if crop {
				copy(dst[p*h*w+r*w:p*h*w+(r+1)*w], src[big:big+w])
			} else {
				copy(dst[big:big+w], small[:w])
			}
		}
	}
}

func (o *padOp) DiffWRT(n int) []bool { return []bool{true}[:n] }

func (o *padOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if o.crop {
		return nil, fmt.Errorf("nn: %s has no gradient of its own", o.name)
	}
	op := &padOp{opBase{name: fmt.Sprintf("CropBR%v", o.x), inDims: []int{4}, outDim: 4}, o.x, true}
	dx, err := G.ApplyOp(op, grad)
	return G.Nodes{dx}, err
}
