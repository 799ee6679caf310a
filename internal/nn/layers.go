package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Layers are Builder methods. A shape mismatch while building a graph is a
// programming error: the methods panic with a message naming the layer, and
// Build turns such a panic back into an error at the model's boundary.

// BuildError is the panic value of a layer that could not be built.
type BuildError struct{ Err error }

func (e BuildError) Error() string { return e.Err.Error() }

// Build runs f, returning a layer's BuildError panic as an error.
func Build(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			be, ok := r.(BuildError)
			if !ok {
				panic(r)
			}
			err = be.Err
		}
	}()
	f()
	return nil
}

// check returns a function that passes a node through and panics with a
// BuildError naming the layer when err is not nil.
func (b *Builder) check(layer string) func(*G.Node, error) *G.Node {
	return func(n *G.Node, err error) *G.Node {
		if err != nil {
			panic(BuildError{fmt.Errorf("nn: %s%s: %w", b.prefix, layer, err)})
		}
		return n
	}
}

// Linear maps x (M, in) to x·Wᵀ + b, W (out, in) as in PyTorch.
func (b *Builder) Linear(name string, x *G.Node, out int, bias bool) *G.Node {
	in := x.Shape()[x.Dims()-1]
	if x.Dims() != 2 {
		panic(BuildError{fmt.Errorf("nn: %s%s: linear input %v is not (M, in)", b.prefix, name, x.Shape())})
	}
	s := b.Scope(name)
	w := s.Param("weight", []int{out, in}, KaimingUniform, in, out)
	y := b.check(name)(b.Ops.MatMulT(x, w))
	if b.LoRA.Adapts(b.prefix + name) {
		y = b.check(name)(G.Add(y, b.loraDelta(s, x, in, out)))
	}
	if bias {
		bv := s.Param("bias", []int{out}, KaimingUniform, in, out)
		y = b.check(name)(b.Ops.AddChannel(y, bv))
	}
	return y
}

// Conv is a k×k convolution of x (N,C,H,W) to out channels, with bias.
func (b *Builder) Conv(name string, x *G.Node, out, k, stride, pad int) *G.Node {
	in := x.Shape()[1]
	s := b.Scope(name)
	w := s.Param("weight", []int{out, in, k, k}, KaimingUniform, in*k*k, out*k*k)
	bv := s.Param("bias", []int{out}, KaimingUniform, in*k*k, out*k*k)
	return b.check(name)(b.Ops.Conv2d(x, w, bv, ConvGeom{Stride: stride, Pad: pad}))
}

// GroupNorm normalises x (N,C,...) in groups, with learnt scale ("weight")
// and shift ("bias"), followed by SiLU when silu is set.
func (b *Builder) GroupNorm(name string, x *G.Node, groups int, silu bool) *G.Node {
	c := x.Shape()[1]
	s := b.Scope(name)
	gamma := s.Param("weight", []int{c}, Ones, c, c)
	beta := s.Param("bias", []int{c}, Zeros, c, c)
	return b.check(name)(b.Ops.GroupNorm(x, gamma, beta, groups, 1e-5, silu))
}

// LayerNorm normalises each row of x (M, D) over D, with learnt scale and
// shift.
func (b *Builder) LayerNorm(name string, x *G.Node) *G.Node {
	d := x.Shape()[1]
	s := b.Scope(name)
	gamma := s.Param("weight", []int{d}, Ones, d, d)
	beta := s.Param("bias", []int{d}, Zeros, d, d)
	return b.check(name)(b.Ops.LayerNorm(x, gamma, beta, 1e-5))
}

// SiLU is x·sigmoid(x).
func (b *Builder) SiLU(x *G.Node) *G.Node { return b.check("silu")(b.Ops.SiLU(x)) }

// Add is x + y (same shape, or scalars).
func (b *Builder) Add(x, y *G.Node) *G.Node { return b.check("add")(Add(x, y)) }

// Reshape is the copying reshape.
func (b *Builder) Reshape(x *G.Node, shape ...int) *G.Node {
	return b.check("reshape")(Reshape(x, shape...))
}

// Upsample2x is nearest 2× upsampling.
func (b *Builder) Upsample2x(x *G.Node) *G.Node { return b.check("upsample")(b.Ops.Upsample2x(x)) }

// ConcatChannels joins two feature maps along the channel axis.
func (b *Builder) ConcatChannels(x, y *G.Node) *G.Node {
	return b.check("concat")(b.Ops.ConcatChannels(x, y))
}

// DoubleBatch is x (B, …) twice along the batch axis: (2B, …), rows
// B…2B−1 a copy of rows 0…B−1.
func (b *Builder) DoubleBatch(x *G.Node) *G.Node {
	return b.check("double batch")(G.Concat(0, x, x))
}

// Attention is multi-head scaled dot-product attention of x (B, L, D) over
// ctx (B, Lc, Dc); ctx nil means self-attention. Projections to_q, to_k,
// to_v (no bias) and to_out (bias), as in diffusers.
func (b *Builder) Attention(name string, x, ctx *G.Node, heads int) *G.Node {
	xs := x.Shape()
	bs, l, d := xs[0], xs[1], xs[2]
	if d%heads != 0 {
		panic(BuildError{fmt.Errorf("nn: %s%s: width %d not divisible by %d heads", b.prefix, name, d, heads)})
	}
	if ctx == nil {
		ctx = x
	}
	cs := ctx.Shape()
	lc, dc := cs[1], cs[2]
	s := b.Scope(name)
	q := s.Linear("to_q", s.Reshape(x, bs*l, d), d, false)
	c2 := s.Reshape(ctx, bs*lc, dc)
	k := s.Linear("to_k", c2, d, false)
	v := s.Linear("to_v", c2, d, false)
	o := s.MultiHead(q, k, v, bs, l, lc, heads, nil)
	o = s.Linear("to_out", o, d, true)
	return s.Reshape(o, bs, l, d)
}

// MultiHead is scaled dot-product attention of projected queries q
// (B·L, D) over keys k and values v (B·Lc, D) in heads of D/heads: softmax
// of q·kᵀ/√(D/heads) (plus mask (B·heads, L, Lc), added before the
// softmax, when not nil) times v, heads merged back to (B·L, D).
func (b *Builder) MultiHead(q, k, v *G.Node, bs, l, lc, heads int, mask *G.Node) *G.Node {
	d := q.Shape()[1]
	if d%heads != 0 {
		panic(BuildError{fmt.Errorf("nn: %sattention: width %d not divisible by %d heads", b.prefix, d, heads)})
	}
	dh := d / heads
	split := func(t *G.Node, n int) *G.Node { // (B·n, D) as (B, n, H, dh) → (B·H, n, dh)
		return b.check("split-heads")(SwapAxes12As(t, tensor.Shape{bs, n, heads, dh}, tensor.Shape{bs * heads, n, dh}))
	}
	var o *G.Node
	if mask == nil && l*lc >= FusedAttentionMin {
		o = b.check("attention")(Attention(split(q, l), split(k, lc), split(v, lc), 1/math.Sqrt(float64(dh))))
	} else {
		scores := b.check("scores")(BatchedMatMul(split(q, l), split(k, lc), false, true))
		if mask != nil {
			scores = b.check("mask")(G.Add(scores, mask))
		}
		attn := b.check("softmax")(Softmax(scores, 1/math.Sqrt(float64(dh))))
		o = b.check("mix")(BatchedMatMul(attn, split(v, lc), false, false))
	}
	return b.check("merge-heads")(SwapAxes12As(o, tensor.Shape{bs, heads, l, dh}, tensor.Shape{bs * l, d})) // (B·H, l, dh) as (B, H, l, dh) → (B·l, D)
}

// GroupNormEps is GroupNorm with normaliser ε eps.
func (b *Builder) GroupNormEps(name string, x *G.Node, groups int, eps float64, silu bool) *G.Node {
	c := x.Shape()[1]
	s := b.Scope(name)
	gamma := s.Param("weight", []int{c}, Ones, c, c)
	beta := s.Param("bias", []int{c}, Zeros, c, c)
	return b.check(name)(b.Ops.GroupNorm(x, gamma, beta, groups, eps, silu))
}

// LayerNormEps is LayerNorm with normaliser ε eps.
func (b *Builder) LayerNormEps(name string, x *G.Node, eps float64) *G.Node {
	d := x.Shape()[1]
	s := b.Scope(name)
	gamma := s.Param("weight", []int{d}, Ones, d, d)
	beta := s.Param("bias", []int{d}, Zeros, d, d)
	return b.check(name)(b.Ops.LayerNorm(x, gamma, beta, eps))
}

// Activate applies a transformer activation (gelu, quick_gelu, geglu) to x (M, N).
func (b *Builder) Activate(x *G.Node, kind Activation) *G.Node {
	return b.check(string(kind))(Activate(x, kind))
}

// AddChannel adds a per-channel value v (N, C) to x (N, C, H, W).
func (b *Builder) AddChannel(x, v *G.Node) *G.Node {
	return b.check("add-channel")(b.Ops.AddChannel(x, v))
}

// SwapAxes12 swaps axes 1 and 2 of a 3- or 4-D tensor (copying).
func (b *Builder) SwapAxes12(x *G.Node) *G.Node { return b.check("swap-axes")(SwapAxes12(x)) }

// PadBottomRight adds a zero row and column at the bottom and right.
func (b *Builder) PadBottomRight(x *G.Node) *G.Node { return b.check("pad")(PadBottomRight(x)) }

// ResBlock is the U-Net residual block with time embedding:
//
//	h = conv1(SiLU(GN(x))) + Linear(SiLU(temb)) per channel
//	out = skip(x) + conv2(SiLU(GN(h)))
//
// skip is a 1×1 conv when the channel count changes.
func (b *Builder) ResBlock(name string, x, temb *G.Node, out, groups int) *G.Node {
	s := b.Scope(name)
	in := x.Shape()[1]
	h := s.GroupNorm("norm1", x, groups, true)
	h = s.Conv("conv1", h, out, 3, 1, 1)
	if temb != nil {
		t := s.Linear("time_emb_proj", s.SiLU(temb), out, true)
		h = s.check("time-add")(s.Ops.AddChannel(h, t))
	}
	h = s.GroupNorm("norm2", h, groups, true)
	h = s.Conv("conv2", h, out, 3, 1, 1)
	skip := x
	if in != out {
		skip = s.Conv("skip", x, out, 1, 1, 0)
	}
	return s.Add(skip, h)
}

// AttnBlock is the U-Net's transformer block at one resolution: GroupNorm,
// tokens, self-attention and (when ctx is not nil) cross-attention to the
// text tokens, each pre-LayerNorm and residual, back to a feature map,
// a 1×1 output projection and a residual around the whole block.
func (b *Builder) AttnBlock(name string, x, ctx *G.Node, heads, groups int) *G.Node {
	s := b.Scope(name)
	xs := x.Shape()
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	t := s.GroupNorm("norm", x, groups, false)
	t = s.Reshape(t, n, c, h*w)
	t = s.check("to-tokens")(SwapAxes12(t))
	t = s.Reshape(t, n*h*w, c)
	ln := func(name string, t *G.Node) *G.Node { return s.Reshape(s.LayerNorm(name, t), n, h*w, c) }
	t3 := s.Reshape(t, n, h*w, c)
	t3 = s.Add(t3, s.Attention("attn1", ln("norm1", t), nil, heads))
	if ctx != nil {
		t3 = s.Add(t3, s.Attention("attn2", ln("norm2", s.Reshape(t3, n*h*w, c)), ctx, heads))
	}
	t = s.check("to-map")(SwapAxes12(t3))
	t = s.Reshape(t, n, c, h, w)
	return s.Add(x, s.Conv("proj_out", t, c, 1, 1, 0))
}

// TimestepEmbedding is the sinusoidal embedding of Stable Diffusion
// (flip_sin_to_cos, no shift): for t and i < dim/2,
// e[i] = cos(t·ω_i), e[dim/2+i] = sin(t·ω_i), ω_i = 10000^(−i/(dim/2)).
// It returns len(ts)·dim values, row-major.
func TimestepEmbedding(ts []float64, dim int) []float64 {
	half := dim / 2
	out := make([]float64, len(ts)*dim)
	for r, t := range ts {
		for i := 0; i < half; i++ {
			w := math.Exp(-math.Log(10000) * float64(i) / float64(half))
			out[r*dim+i] = math.Cos(t * w)
			out[r*dim+half+i] = math.Sin(t * w)
		}
	}
	return out
}

// WeightedMSE is the mean of w ⊙ (a − y)² over all elements (per-element
// weights of the loss: Min-SNR-γ gives each sample one weight, repeated over
// its elements; w has the shape of a), and beside it the plain MSE, from the
// same squared errors.
func (b *Builder) WeightedMSE(a, y, w *G.Node) (weighted, plain *G.Node) {
	sq := b.squaredError(a, y)
	return b.meanAll(b.check("weighted mse")(G.HadamardProd(sq, w))), b.meanAll(sq)
}

// MSE is the mean of (a − b)² over all elements.
func (b *Builder) MSE(a, y *G.Node) *G.Node { return b.meanAll(b.squaredError(a, y)) }

func (b *Builder) squaredError(a, y *G.Node) *G.Node {
	return b.check("mse")(G.Square(b.check("mse")(G.Sub(a, y))))
}

// meanAll is the mean over all elements.
func (b *Builder) meanAll(x *G.Node) *G.Node {
	return b.check("mean")(G.Mean(b.Reshape(x, x.Shape().TotalSize())))
}
