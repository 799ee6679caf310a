package nn

import (
	G "gorgonia.org/gorgonia"
)

// Layers of convolutional image encoders (EfficientNet, ALIGN's image
// tower), named as PyTorch names their parameters.

// ConvNoBias is a k×k convolution of x (N,C,H,W) to out channels without
// bias (followed by a BatchNorm).
func (b *Builder) ConvNoBias(name string, x *G.Node, out, k, stride, pad int) *G.Node {
	in := x.Shape()[1]
	w := b.Scope(name).Param("weight", []int{out, in, k, k}, KaimingUniform, in*k*k, out*k*k)
	return b.check(name)(Conv2d(x, w, nil, ConvGeom{Stride: stride, Pad: pad}))
}

// DepthwiseConv is a k×k convolution of every channel of x with its own
// filter ("weight", (C,1,k,k)), no bias.
func (b *Builder) DepthwiseConv(name string, x *G.Node, k, stride, pad int) *G.Node {
	c := x.Shape()[1]
	w := b.Scope(name).Param("weight", []int{c, 1, k, k}, KaimingUniform, k*k, k*k)
	return b.check(name)(DepthwiseConv2d(x, w, ConvGeom{Stride: stride, Pad: pad}))
}

// BatchNorm is inference-mode batch normalisation of x (N,C,...) with its
// running statistics: (x − running_mean)/√(running_var + ε)·weight + bias,
// computed as one per-channel scale and shift.
func (b *Builder) BatchNorm(name string, x *G.Node, eps float64) *G.Node {
	c := x.Shape()[1]
	s := b.Scope(name)
	gamma := s.Param("weight", []int{c}, Ones, c, c)
	beta := s.Param("bias", []int{c}, Zeros, c, c)
	mean := s.Param("running_mean", []int{c}, Zeros, c, c)
	variance := s.Param("running_var", []int{c}, Ones, c, c)
	chk := b.check(name)
	scale := chk(G.HadamardDiv(gamma, chk(G.Sqrt(chk(G.Add(variance, b.Scalar(eps)))))))
	shift := chk(G.Sub(beta, chk(G.HadamardProd(mean, scale))))
	return chk(AddChannel(chk(ScaleChannel(x, scale)), shift))
}

// MeanPositions averages x (N,C,H,W) over its positions, giving (N,C).
func (b *Builder) MeanPositions(x *G.Node) *G.Node {
	s := x.Shape()
	sum := b.check("mean-positions")(ChannelSum(x, true))
	return b.check("mean-positions")(G.Mul(sum, b.Scalar(1/float64(s[2]*s[3]))))
}

// PointwiseLinear applies a 1×1 convolution with bias ("weight"
// (out,in,1,1), "bias") to pooled features x (N, in).
func (b *Builder) PointwiseLinear(name string, x *G.Node, out int) *G.Node {
	in := x.Shape()[1]
	s := b.Scope(name)
	w := s.Param("weight", []int{out, in, 1, 1}, KaimingUniform, in, out)
	bv := s.Param("bias", []int{out}, KaimingUniform, in, out)
	chk := b.check(name)
	return chk(AddChannel(chk(MatMulT(x, b.Reshape(w, out, in))), bv))
}

// Sigmoid is the logistic function, element-wise.
func (b *Builder) Sigmoid(x *G.Node) *G.Node { return b.check("sigmoid")(G.Sigmoid(x)) }

// ScaleChannel multiplies x (N,C,H,W) per channel by s (C) or (N,C).
func (b *Builder) ScaleChannel(x, s *G.Node) *G.Node {
	return b.check("scale-channel")(ScaleChannel(x, s))
}
