package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AddChannel adds a per-channel value to x (N,C,...): b of shape (C) adds a
// bias to every image, b of shape (N,C) adds a per-image vector (the time
// embedding of a ResBlock).
func AddChannel(x, b *G.Node) (*G.Node, error) {
	xs, bs := x.Shape().Clone(), b.Shape().Clone()
	perImage, err := perChannel("add-channel", xs, bs)
	if err != nil {
		return nil, err
	}
	op := &addChannelOp{opBase{name: fmt.Sprintf("AddChannel%v+%v", xs, bs), inDims: []int{xs.Dims(), bs.Dims()}, outDim: xs.Dims()}, xs, perImage}
	return G.ApplyOp(op, x, b)
}

// perChannel checks the per-channel operand v of x (N,C,...): (C), the
// same for every image, or (N,C), one per image (perImage).
func perChannel(op string, xs, vs tensor.Shape) (perImage bool, err error) {
	switch {
	case xs.Dims() < 2:
		return false, fmt.Errorf("nn: %s: input %v has no channel axis", op, xs)
	case vs.Dims() == 1 && vs[0] == xs[1]:
		return false, nil
	case vs.Dims() == 2 && vs[0] == xs[0] && vs[1] == xs[1]:
		return true, nil
	}
	return false, fmt.Errorf("nn: %s: operand %v does not fit %v (want (C) or (N,C))", op, vs, xs)
}

type addChannelOp struct {
	opBase
	x        tensor.Shape
	perImage bool
}

func (o *addChannelOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.x.Clone(), nil }

func (o *addChannelOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.x...)
	switch in[0].Dtype() {
	case tensor.Float32:
		addChannel(o, contiguous[float32](in[0]), contiguous[float32](in[1]), out.Data().([]float32))
	default:
		addChannel(o, contiguous[float64](in[0]), contiguous[float64](in[1]), out.Data().([]float64))
	}
	return out, nil
}

func addChannel[T Float](o *addChannelOp, x, b, y []T) {
	n, c := o.x[0], o.x[1]
	s := len(x) / (n * c)
	parallelFor(n, func(_, lo, hi int) { addChannelImages(o.perImage, x, b, y, lo, hi, c, s) })
}

// addChannelImages is addChannel for images lo..hi−1.
func addChannelImages[T Float](perImage bool, x, b, y []T, lo, hi, c, s int) {
	if s == 1 && !perImage { // rows of a (N, C) matrix: a linear layer's bias, added along each row
		bs := b[:c]
		for i := lo; i < hi; i++ {
			src, dst := x[i*c:(i+1)*c], y[i*c:(i+1)*c]
			for j, v := range bs {
				dst[j] = src[j] + v
			}
		}
		return
	}
	for i := lo; i < hi; i++ {
		for j := 0; j < c; j++ {
			v := b[j]
			if perImage {
				v = b[i*c+j]
			}
			off := (i*c + j) * s
			src, dst := x[off:off+s], y[off:off+s]
			if s32, ok := any(src).([]float32); ok {
				addScalar(any(dst).([]float32), s32, float32(v))
				continue
			}
			for q, xv := range src {
				dst[q] = xv + v
			}
		}
	}
}

func (o *addChannelOp) DiffWRT(int) []bool { return []bool{true, true} }

func (o *addChannelOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	db, err := ChannelSum(grad, o.perImage)
	return G.Nodes{grad, db}, err
}

// ChannelSum sums x (N,C,...) over every axis but the channel axis, giving
// (C); with keepBatch it keeps the batch axis too, giving (N,C).
func ChannelSum(x *G.Node, keepBatch bool) (*G.Node, error) {
	xs := x.Shape().Clone()
	if xs.Dims() < 2 {
		return nil, fmt.Errorf("nn: channel-sum: input %v has no channel axis", xs)
	}
	out := tensor.Shape{xs[1]}
	if keepBatch {
		out = tensor.Shape{xs[0], xs[1]}
	}
	op := &channelSumOp{opBase{name: fmt.Sprintf("ChannelSum%v→%v", xs, out), inDims: []int{xs.Dims()}, outDim: out.Dims()}, xs, out}
	return G.ApplyOp(op, x)
}

type channelSumOp struct {
	opBase
	x, out tensor.Shape
}

func (o *channelSumOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.out.Clone(), nil }

func (o *channelSumOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), true, o.out...)
	switch in[0].Dtype() {
	case tensor.Float32:
		channelSum(o, contiguous[float32](in[0]), out.Data().([]float32))
	default:
		channelSum(o, contiguous[float64](in[0]), out.Data().([]float64))
	}
	return out, nil
}

func channelSum[T Float](o *channelSumOp, x, y []T) {
	n, c := o.x[0], o.x[1]
	s := len(x) / (n * c)
	// channels [lo, hi): each channel's sum in the same order whatever the split
	sum := func(lo, hi int) {
		if s == 1 && len(o.out) == 1 { // a linear layer's bias gradient: the rows of (N, C) summed, in the same order
			ys := y[lo:hi]
			for i := 0; i < n; i++ {
				for j, v := range x[i*c+lo : i*c+hi] {
					ys[j] += v // T(float64(v)) == v: the general path's bits
				}
			}
			return
		}
		for i := 0; i < n; i++ {
			for j := lo; j < hi; j++ {
				var acc float64
				for _, v := range x[(i*c+j)*s : (i*c+j+1)*s] {
					acc += float64(v)
				}
				if len(o.out) == 2 {
					y[i*c+j] = T(acc)
				} else {
					y[j] += T(acc)
				}
			}
		}
	}
	if len(x) < parallelCopyMin || c < 2 {
		sum(0, c)
		return
	}
	parallelFor(c, func(_, lo, hi int) { sum(lo, hi) })
}

func (o *channelSumOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff spreads ∂L/∂y back over the summed axes.
func (o *channelSumOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	op := &expandChannelOp{opBase{name: fmt.Sprintf("ExpandChannel%v→%v", o.out, o.x), inDims: []int{o.out.Dims()}, outDim: o.x.Dims()}, o.x, len(o.out) == 2}
	dx, err := G.ApplyOp(op, grad)
	return G.Nodes{dx}, err
}

// expandChannelOp repeats a (C) or (N,C) value over every other axis of
// shape x: the adjoint of ChannelSum.
type expandChannelOp struct {
	opBase
	x        tensor.Shape
	perImage bool
}

func (o *expandChannelOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.x.Clone(), nil }

func (o *expandChannelOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), true, o.x...)
	switch in[0].Dtype() {
	case tensor.Float32:
		y := out.Data().([]float32)
		addChannelImages(o.perImage, y, contiguous[float32](in[0]), y, 0, o.x[0], o.x[1], len(y)/(o.x[0]*o.x[1]))
	default:
		y := out.Data().([]float64)
		addChannelImages(o.perImage, y, contiguous[float64](in[0]), y, 0, o.x[0], o.x[1], len(y)/(o.x[0]*o.x[1]))
	}
	return out, nil
}

func (o *expandChannelOp) DiffWRT(int) []bool { return []bool{true} }

func (o *expandChannelOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	d, err := ChannelSum(grad, o.perImage)
	return G.Nodes{d}, err
}

// ScaleChannel multiplies x (N,C,...) per channel: s of shape (C) scales
// every image alike (an inference BatchNorm), s of shape (N,C) per image
// (EfficientNet's squeeze-and-excitation gate).
func ScaleChannel(x, s *G.Node) (*G.Node, error) {
	xs, ss := x.Shape().Clone(), s.Shape().Clone()
	perImage, err := perChannel("scale-channel", xs, ss)
	if err != nil {
		return nil, err
	}
	op := &scaleChannelOp{opBase{name: fmt.Sprintf("ScaleChannel%v*%v", xs, ss), inDims: []int{xs.Dims(), ss.Dims()}, outDim: xs.Dims()}, xs, perImage}
	return G.ApplyOp(op, x, s)
}

type scaleChannelOp struct {
	opBase
	x        tensor.Shape
	perImage bool
}

func (o *scaleChannelOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.x.Clone(), nil }

func (o *scaleChannelOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.x...)
	switch in[0].Dtype() {
	case tensor.Float32:
		scaleChannel(o, contiguous[float32](in[0]), contiguous[float32](in[1]), out.Data().([]float32))
	default:
		scaleChannel(o, contiguous[float64](in[0]), contiguous[float64](in[1]), out.Data().([]float64))
	}
	return out, nil
}

func scaleChannel[T Float](o *scaleChannelOp, x, s, y []T) {
	n, c := o.x[0], o.x[1]
	per := len(x) / (n * c)
	parallelFor(n*c, func(_, lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			v := s[pl%c]
			if o.perImage {
				v = s[pl]
			}
			for q, xv := range x[pl*per : (pl+1)*per] {
				y[pl*per+q] = xv * v
			}
		}
	})
}

func (o *scaleChannelOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff: ∂x = ∂y scaled by s; ∂s = Σ ∂y⊙x over the axes s was broadcast along.
func (o *scaleChannelOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := ScaleChannel(grad, inputs[1])
	if err != nil {
		return nil, err
	}
	prod, err := G.HadamardProd(grad, inputs[0])
	if err != nil {
		return nil, err
	}
	ds, err := ChannelSum(prod, o.perImage)
	return G.Nodes{dx, ds}, err
}
