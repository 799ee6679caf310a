package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ConvGeom is the geometry of a 2-D convolution: square stride and padding,
// kernel size taken from the filter, no dilation.
type ConvGeom struct {
	Stride, Pad int
}

func (c ConvGeom) outSize(h, w, kh, kw int) (int, int) {
	return (h+2*c.Pad-kh)/c.Stride + 1, (w+2*c.Pad-kw)/c.Stride + 1
}

// Conv2d convolves x (N,C,H,W) with filter w (O,C,kh,kw) and adds bias b (O)
// when b is not nil: im2col per image and one GEMM through gorgonia's BLAS.
func Conv2d(x, w, b *G.Node, geom ConvGeom) (*G.Node, error) {
	xs, ws := x.Shape(), w.Shape()
	if xs.Dims() != 4 || ws.Dims() != 4 || xs[1] != ws[1] {
		return nil, fmt.Errorf("nn: conv2d: input %v and filter %v do not match (want N,C,H,W and O,C,kh,kw)", xs, ws)
	}
	if geom.Stride < 1 || geom.Pad < 0 {
		return nil, fmt.Errorf("nn: conv2d: stride %d, padding %d", geom.Stride, geom.Pad)
	}
	ho, wo := geom.outSize(xs[2], xs[3], ws[2], ws[3])
	if ho < 1 || wo < 1 {
		return nil, fmt.Errorf("nn: conv2d: input %v too small for filter %v", xs, ws)
	}
	inDims := []int{4, 4}
	children := G.Nodes{x, w}
	if b != nil {
		if b.Shape().TotalSize() != ws[0] || b.Shape().Dims() != 1 {
			return nil, fmt.Errorf("nn: conv2d: bias %v, want (%d)", b.Shape(), ws[0])
		}
		inDims = append(inDims, 1)
		children = append(children, b)
	}
	op := &conv2dOp{
		opBase: opBase{name: fmt.Sprintf("Conv2d%v*%v/s%dp%db%v", xs, ws, geom.Stride, geom.Pad, b != nil), inDims: inDims, outDim: 4},
		geom:   geom, x: xs.Clone(), w: ws.Clone(), out: tensor.Shape{xs[0], ws[0], ho, wo},
	}
	return G.ApplyOp(op, children...)
}

type conv2dOp struct {
	opBase
	geom ConvGeom
	x, w tensor.Shape
	out  tensor.Shape
}

func (o *conv2dOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.out.Clone(), nil }

func (o *conv2dOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.out...)
	switch in[0].Dtype() {
	case tensor.Float32:
		if implicitConv {
			var b []float32
			if len(in) == 3 {
				b = contiguous[float32](in[2])
			}
			convForwardImplicit(o, contiguous[float32](in[0]), contiguous[float32](in[1]), b, out.Data().([]float32))
			break
		}
		convForward[float32](o, in, out)
	default:
		convForward[float64](o, in, out)
	}
	return out, nil
}

func convForward[T Float](o *conv2dOp, in []*tensor.Dense, out *tensor.Dense) {
	x, w, y := contiguous[T](in[0]), contiguous[T](in[1]), out.Data().([]T)
	n, c, h, wd := o.x[0], o.x[1], o.x[2], o.x[3]
	oc, kh, kw := o.w[0], o.w[2], o.w[3]
	ho, wo := o.out[2], o.out[3]
	k, p := c*kh*kw, ho*wo
	var b []T
	if len(in) == 3 {
		b = contiguous[T](in[2])
	}
	serial := workers(n) > 1
	parallelFor(n, func(_, lo, hi int) {
		col := make([]T, k*p)
		for i := lo; i < hi; i++ {
			im2col(x[i*c*h*wd:(i+1)*c*h*wd], c, h, wd, kh, kw, o.geom, ho, wo, col)
			yi := y[i*oc*p : (i+1)*oc*p]
			gemm(serial, false, false, oc, p, k, 1, w, k, col, p, 0, yi, p)
			if b != nil {
				for j := 0; j < oc; j++ {
					row := yi[j*p : (j+1)*p]
					for q := range row {
						row[q] += b[j]
					}
				}
			}
		}
	})
}

// validRange returns the output columns [lo, hi) whose input column
// ox·stride − pad + kj lies inside [0, w).
func validRange(w, wo, kj int, g ConvGeom) (int, int) {
	lo, hi := 0, wo
	for lo < wo && lo*g.Stride-g.Pad+kj < 0 {
		lo++
	}
	for hi > lo && (hi-1)*g.Stride-g.Pad+kj >= w {
		hi--
	}
	return lo, hi
}

// im2col writes the (C·kh·kw) × (Ho·Wo) patch matrix of one image x (C,H,W).
func im2col[T Float](x []T, c, h, w, kh, kw int, g ConvGeom, ho, wo int, col []T) {
	p := ho * wo
	for ci := 0; ci < c; ci++ {
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				row := col[((ci*kh+ki)*kw+kj)*p:]
				lo, hi := validRange(w, wo, kj, g)
				for oy := 0; oy < ho; oy++ {
					iy := oy*g.Stride - g.Pad + ki
					dst := row[oy*wo : (oy+1)*wo]
					if iy < 0 || iy >= h {
						clear(dst)
						continue
					}
					clear(dst[:lo])
					clear(dst[hi:])
					src := x[(ci*h+iy)*w:]
					if g.Stride == 1 {
						off := -g.Pad + kj
						copy(dst[lo:hi], src[lo+off:hi+off])
						continue
					}
					for ox := lo; ox < hi; ox++ {
						dst[ox] = src[ox*g.Stride-g.Pad+kj]
					}
				}
			}
		}
	}
}

// col2im adds the patch matrix col back into the image dx (C,H,W).
func col2im[T Float](col []T, c, h, w, kh, kw int, g ConvGeom, ho, wo int, dx []T) {
	p := ho * wo
	for ci := 0; ci < c; ci++ {
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				row := col[((ci*kh+ki)*kw+kj)*p:]
				lo, hi := validRange(w, wo, kj, g)
				for oy := 0; oy < ho; oy++ {
					iy := oy*g.Stride - g.Pad + ki
					if iy < 0 || iy >= h {
						continue
					}
					dst := dx[(ci*h+iy)*w:]
					src := row[oy*wo : (oy+1)*wo]
					if g.Stride == 1 {
						off := -g.Pad + kj
						d := dst[lo+off : hi+off]
						for q, v := range src[lo:hi] {
							d[q] += v
						}
						continue
					}
					for ox := lo; ox < hi; ox++ {
						dst[ox*g.Stride-g.Pad+kj] += src[ox]
					}
				}
			}
		}
	}
}

func (o *conv2dOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

func (o *conv2dOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&convDataGradOp{opBase{name: "Conv2dGradX/" + o.name, inDims: []int{4, 4}, outDim: 4}, o}, inputs[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(&convFilterGradOp{opBase{name: "Conv2dGradW/" + o.name, inDims: []int{4, 4}, outDim: 4}, o}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	if len(inputs) == 2 {
		return G.Nodes{dx, dw}, nil
	}
	db, err := ChannelSum(grad, false)
	return G.Nodes{dx, dw, db}, err
}

// convDataGradOp computes ∂L/∂x from the filter and ∂L/∂y.
type convDataGradOp struct {
	opBase
	fwd *conv2dOp
}

func (o *convDataGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.fwd.x.Clone(), nil }

func (o *convDataGradOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), true, o.fwd.x...)
	switch in[0].Dtype() {
	case tensor.Float32:
		if implicitConv && o.fwd.geom.Stride == 1 {
			convGradXImplicit(o.fwd, contiguous[float32](in[0]), contiguous[float32](in[1]), out.Data().([]float32))
			break
		}
		convGradX[float32](o.fwd, contiguous[float32](in[0]), contiguous[float32](in[1]), out.Data().([]float32))
	default:
		convGradX[float64](o.fwd, contiguous[float64](in[0]), contiguous[float64](in[1]), out.Data().([]float64))
	}
	return out, nil
}

func convGradX[T Float](o *conv2dOp, w, gy, dx []T) {
	n, c, h, wd := o.x[0], o.x[1], o.x[2], o.x[3]
	oc, kh, kw := o.w[0], o.w[2], o.w[3]
	ho, wo := o.out[2], o.out[3]
	k, p := c*kh*kw, ho*wo
	// Wᵀ once, so the per-image GEMM is NoTrans·NoTrans
	wt := make([]T, k*oc)
	for r := 0; r < oc; r++ {
		for q := 0; q < k; q++ {
			wt[q*oc+r] = w[r*k+q]
		}
	}
	serial := workers(n) > 1
	parallelFor(n, func(_, lo, hi int) {
		col := make([]T, k*p)
		for i := lo; i < hi; i++ {
			gemm(serial, false, false, k, p, oc, 1, wt, oc, gy[i*oc*p:(i+1)*oc*p], p, 0, col, p)
			col2im(col, c, h, wd, kh, kw, o.geom, ho, wo, dx[i*c*h*wd:(i+1)*c*h*wd])
		}
	})
}

// convFilterGradOp computes ∂L/∂w from the input and ∂L/∂y.
type convFilterGradOp struct {
	opBase
	fwd *conv2dOp
}

func (o *convFilterGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return o.fwd.w.Clone(), nil
}

func (o *convFilterGradOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), true, o.fwd.w...)
	switch in[0].Dtype() {
	case tensor.Float32:
		if implicitConv {
			convGradWImplicit(o.fwd, contiguous[float32](in[0]), contiguous[float32](in[1]), out.Data().([]float32))
			break
		}
		convGradW[float32](o.fwd, contiguous[float32](in[0]), contiguous[float32](in[1]), out.Data().([]float32))
	default:
		convGradW[float64](o.fwd, contiguous[float64](in[0]), contiguous[float64](in[1]), out.Data().([]float64))
	}
	return out, nil
}

func convGradW[T Float](o *conv2dOp, x, gy, dw []T) {
	n, c, h, wd := o.x[0], o.x[1], o.x[2], o.x[3]
	oc, kh, kw := o.w[0], o.w[2], o.w[3]
	ho, wo := o.out[2], o.out[3]
	k, p := c*kh*kw, ho*wo
	partial := make([][]T, reductionParts(n)) // part 0 accumulates into dw itself
	partial[0] = dw
	serial := partsFillCores(n)
	parallelParts(n, func(part, lo, hi int) {
		acc := partial[part]
		if acc == nil {
			acc = make([]T, len(dw))
			partial[part] = acc
		}
		col := make([]T, k*p)
		for i := lo; i < hi; i++ {
			im2col(x[i*c*h*wd:(i+1)*c*h*wd], c, h, wd, kh, kw, o.geom, ho, wo, col)
			gemm(serial, false, true, oc, k, p, 1, gy[i*oc*p:(i+1)*oc*p], p, col, p, 1, acc, k)
		}
	})
	for _, acc := range partial[1:] {
		for i, v := range acc {
			dw[i] += v
		}
	}
}
