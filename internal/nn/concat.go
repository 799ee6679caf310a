package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ConcatChannels joins a (N,Ca,...) and b (N,Cb,...) along the channel
// axis: the U-Net's skip connection. gorgonia's Concat walks iterators and
// its gradient materialises views; this is two copies per image.
func ConcatChannels(a, b *G.Node) (*G.Node, error) {
	as, bs := a.Shape().Clone(), b.Shape().Clone()
	if as.Dims() < 2 || as.Dims() != bs.Dims() || as[0] != bs[0] || as.TotalSize()/as[1] != bs.TotalSize()/bs[1] {
		return nil, fmt.Errorf("nn: concat-channels: %v and %v differ outside the channel axis", as, bs)
	}
	out := as.Clone()
	out[1] = as[1] + bs[1]
	op := &concatOp{opBase{name: fmt.Sprintf("ConcatChannels%v+%v", as, bs), inDims: []int{as.Dims(), bs.Dims()}, outDim: as.Dims()}, as, bs, out}
	return G.ApplyOp(op, a, b)
}

type concatOp struct {
	opBase
	a, b, out tensor.Shape
}

func (o *concatOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.out.Clone(), nil }

func (o *concatOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.out...)
	switch d := out.Data().(type) {
	case []float32:
		concatChannels(contiguous[float32](in[0]), contiguous[float32](in[1]), d, o.a[0])
	case []float64:
		concatChannels(contiguous[float64](in[0]), contiguous[float64](in[1]), d, o.a[0])
	}
	return out, nil
}

func concatChannels[T Float](a, b, y []T, n int) {
	sa, sb := len(a)/n, len(b)/n
	for i := 0; i < n; i++ {
		copy(y[i*(sa+sb):], a[i*sa:(i+1)*sa])
		copy(y[i*(sa+sb)+sa:], b[i*sb:(i+1)*sb])
	}
}

func (o *concatOp) DiffWRT(int) []bool { return []bool{true, true} }

func (o *concatOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	ga, err := G.ApplyOp(&channelSliceOp{opBase{name: fmt.Sprintf("ChannelSlice%v[:%d]", o.out, o.a[1]), inDims: []int{o.out.Dims()}, outDim: o.out.Dims()}, o.out, o.a, 0}, grad)
	if err != nil {
		return nil, err
	}
	gb, err := G.ApplyOp(&channelSliceOp{opBase{name: fmt.Sprintf("ChannelSlice%v[%d:]", o.out, o.a[1]), inDims: []int{o.out.Dims()}, outDim: o.out.Dims()}, o.out, o.b, o.a[1]}, grad)
	return G.Nodes{ga, gb}, err
}

// channelSliceOp copies channels [from, from+out[1]) of x.
type channelSliceOp struct {
	opBase
	x, out tensor.Shape
	from   int
}

func (o *channelSliceOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.out.Clone(), nil }

func (o *channelSliceOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.out...)
	n := o.x[0]
	plane := o.x.TotalSize() / (n * o.x[1])
	switch d := out.Data().(type) {
	case []float32:
		channelSlice(contiguous[float32](in[0]), d, n, o.x[1]*plane, o.from*plane, o.out[1]*plane)
	case []float64:
		channelSlice(contiguous[float64](in[0]), d, n, o.x[1]*plane, o.from*plane, o.out[1]*plane)
	}
	return out, nil
}

func channelSlice[T Float](x, y []T, n, stride, off, size int) {
	for i := 0; i < n; i++ {
		copy(y[i*size:(i+1)*size], x[i*stride+off:i*stride+off+size])
	}
}

func (o *channelSliceOp) DiffWRT(int) []bool { return []bool{false} }

func (o *channelSliceOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("nn: %s is a gradient op and has no gradient of its own", o.name)
}
