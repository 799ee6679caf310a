package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// DepthwiseConv2d convolves every channel of x (N,C,H,W) with its own
// filter w (C,1,k,k) (a convolution with groups = C, EfficientNet's
// depthwise layer), square stride and symmetric zero padding geom, no bias.
// Asymmetric "same" padding is PadBottomRight before it.
func DepthwiseConv2d(x, w *G.Node, geom ConvGeom) (*G.Node, error) {
	xs, ws := x.Shape(), w.Shape()
	if xs.Dims() != 4 || ws.Dims() != 4 || ws[0] != xs[1] || ws[1] != 1 {
		return nil, fmt.Errorf("nn: depthwise-conv2d: input %v and filter %v do not match (want N,C,H,W and C,1,kh,kw)", xs, ws)
	}
	if geom.Stride < 1 || geom.Pad < 0 {
		return nil, fmt.Errorf("nn: depthwise-conv2d: stride %d, padding %d", geom.Stride, geom.Pad)
	}
	ho, wo := geom.outSize(xs[2], xs[3], ws[2], ws[3])
	if ho < 1 || wo < 1 {
		return nil, fmt.Errorf("nn: depthwise-conv2d: input %v too small for filter %v", xs, ws)
	}
	op := &dwConvOp{
		opBase: opBase{name: fmt.Sprintf("DWConv2d%v*%v/s%dp%d", xs, ws, geom.Stride, geom.Pad), inDims: []int{4, 4}, outDim: 4},
		geom:   geom, x: xs.Clone(), w: ws.Clone(), out: tensor.Shape{xs[0], xs[1], ho, wo},
	}
	return G.ApplyOp(op, x, w)
}

type dwConvOp struct {
	opBase
	geom      ConvGeom
	x, w, out tensor.Shape
}

func (o *dwConvOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.out.Clone(), nil }

func (o *dwConvOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), true, o.out...)
	switch in[0].Dtype() {
	case tensor.Float32:
		dwForward(o, contiguous[float32](in[0]), contiguous[float32](in[1]), out.Data().([]float32))
	default:
		dwForward(o, contiguous[float64](in[0]), contiguous[float64](in[1]), out.Data().([]float64))
	}
	return out, nil
}

// dwForward: y[n,c,i,j] = Σ_ab w[c,a,b]·x[n,c,i·s−p+a, j·s−p+b], one plane per task.
func dwForward[T Float](o *dwConvOp, x, w, y []T) {
	c, h, wd := o.x[1], o.x[2], o.x[3]
	kh, kw := o.w[2], o.w[3]
	ho, wo := o.out[2], o.out[3]
	s, p := o.geom.Stride, o.geom.Pad
	parallelFor(o.x[0]*c, func(_, lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xp, yp, wp := x[pl*h*wd:(pl+1)*h*wd], y[pl*ho*wo:(pl+1)*ho*wo], w[(pl%c)*kh*kw:(pl%c+1)*kh*kw]
			for i := 0; i < ho; i++ {
				yr := yp[i*wo : (i+1)*wo]
				for a := 0; a < kh; a++ {
					ih := i*s - p + a
					if ih < 0 || ih >= h {
						continue
					}
					xr := xp[ih*wd : (ih+1)*wd]
					wr := wp[a*kw : (a+1)*kw]
					// the columns whose every tap is inside the row: all taps
					// at once, one store per output; the edges tap by tap
					in0, in1 := validRange(wd, wo, 0, o.geom)
					e0, e1 := validRange(wd, wo, kw-1, o.geom)
					in0, in1 = max(in0, e0), min(in1, e1)
					for j := in0; j < in1; j++ {
						xs := xr[j*s-p : j*s-p+kw]
						acc := yr[j]
						for b, wv := range wr {
							acc += wv * xs[b]
						}
						yr[j] = acc
					}
					for b := 0; b < kw; b++ {
						wv := wr[b]
						j0, j1 := validRange(wd, wo, b, o.geom)
						for j := j0; j < min(j1, in0); j++ {
							yr[j] += wv * xr[j*s-p+b]
						}
						for j := max(j0, in1, in0); j < j1; j++ {
							yr[j] += wv * xr[j*s-p+b]
						}
					}
				}
			}
		}
	})
}

func (o *dwConvOp) DiffWRT(int) []bool { return []bool{true, true} }

func (o *dwConvOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&dwGradOp{opBase{name: "DWConv2dGradX/" + o.name, inDims: []int{4, 4}, outDim: 4}, o, false}, inputs[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(&dwGradOp{opBase{name: "DWConv2dGradW/" + o.name, inDims: []int{4, 4}, outDim: 4}, o, true}, inputs[0], grad)
	return G.Nodes{dx, dw}, err
}

// dwGradOp computes ∂L/∂x from (w, ∂L/∂y), or with filter ∂L/∂w from (x, ∂L/∂y).
type dwGradOp struct {
	opBase
	fwd    *dwConvOp
	filter bool
}

func (o *dwGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if o.filter {
		return o.fwd.w.Clone(), nil
	}
	return o.fwd.x.Clone(), nil
}

func (o *dwGradOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	s, _ := o.InferShape()
	out := o.output(in[0].Dtype(), true, s...)
	switch in[0].Dtype() {
	case tensor.Float32:
		dwBackward(o.fwd, o.filter, contiguous[float32](in[0]), contiguous[float32](in[1]), out.Data().([]float32))
	default:
		dwBackward(o.fwd, o.filter, contiguous[float64](in[0]), contiguous[float64](in[1]), out.Data().([]float64))
	}
	return out, nil
}

// dwBackward accumulates dx[n,c,ih,iw] += w[c,a,b]·gy[n,c,i,j] (one plane
// per task), or with filter dw[c,a,b] += x[n,c,ih,iw]·gy[n,c,i,j] (one
// channel per task, every image in it), so no two tasks write one element.
func dwBackward[T Float](o *dwConvOp, filter bool, a0, gy, dst []T) {
	n, c, h, wd := o.x[0], o.x[1], o.x[2], o.x[3]
	kh, kw := o.w[2], o.w[3]
	ho, wo := o.out[2], o.out[3]
	s, p := o.geom.Stride, o.geom.Pad
	plane := func(pl int, xp, dxp, wp, dwp []T) {
		gp := gy[pl*ho*wo : (pl+1)*ho*wo]
		for i := 0; i < ho; i++ {
			gr := gp[i*wo : (i+1)*wo]
			for a := 0; a < kh; a++ {
				ih := i*s - p + a
				if ih < 0 || ih >= h {
					continue
				}
				for b := 0; b < kw; b++ {
					j0, j1 := validRange(wd, wo, b, o.geom)
					if filter {
						xr := xp[ih*wd : (ih+1)*wd]
						var acc T
						for j := j0; j < j1; j++ {
							acc += gr[j] * xr[j*s-p+b]
						}
						dwp[a*kw+b] += acc
						continue
					}
					wv := wp[a*kw+b]
					dr := dxp[ih*wd : (ih+1)*wd]
					for j := j0; j < j1; j++ {
						dr[j*s-p+b] += wv * gr[j]
					}
				}
			}
		}
	}
	if filter {
		parallelFor(c, func(_, lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				for img := 0; img < n; img++ {
					pl := img*c + ch
					plane(pl, a0[pl*h*wd:(pl+1)*h*wd], nil, nil, dst[ch*kh*kw:(ch+1)*kh*kw])
				}
			}
		})
		return
	}
	parallelFor(n*c, func(_, lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			ch := pl % c
			plane(pl, nil, dst[pl*h*wd:(pl+1)*h*wd], a0[ch*kh*kw:(ch+1)*kh*kw], nil)
		}
	})
}

func (o *dwGradOp) DiffWRT(int) []bool { return []bool{false, false} }

func (o *dwGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("nn: %s has no gradient of its own", o.name)
}
