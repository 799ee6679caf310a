package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SiLU is x·σ(x) in one op (gorgonia's Sigmoid and a Hadamard product were
// two passes with a per-element call each):
//
//	y = x·σ(x),  ∂L/∂x = ∂L/∂y · σ(x)·(1 + x·(1 − σ(x)))
func SiLU(x *G.Node) (*G.Node, error) {
	xs := x.Shape().Clone()
	op := &siluOp{opBase{name: fmt.Sprintf("SiLU%v", xs), inDims: []int{xs.Dims()}, outDim: xs.Dims()}, xs, false}
	return G.ApplyOp(op, x)
}

// siluOp is SiLU, or with grad set its gradient from (x, ∂L/∂y).
type siluOp struct {
	opBase
	x    tensor.Shape
	grad bool
}

func (o *siluOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.x.Clone(), nil }

func (o *siluOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	if err := checkFloat(&o.opBase, in[0]); err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.x...)
	switch in[0].Dtype() {
	case tensor.Float32:
		var g []float32
		if o.grad {
			g = contiguous[float32](in[1])
		}
		silu32(contiguous[float32](in[0]), g, out.Data().([]float32))
	default:
		var g []float64
		if o.grad {
			g = contiguous[float64](in[1])
		}
		y := out.Data().([]float64)
		for i, v := range contiguous[float64](in[0]) {
			s := 1 / (1 + math.Exp(-v))
			if g != nil {
				y[i] = g[i] * s * (1 + v*(1-s))
			} else {
				y[i] = v * s
			}
		}
	}
	return out, nil
}

// silu32 writes x·σ(x) into y, or with g the gradient g·σ(x)·(1 + x·(1 −
// σ(x))), in chunks across the cores with the vector sigmoid.
func silu32(x, g, y []float32) {
	const chunk = 4096
	parallelFor((len(x)+chunk-1)/chunk, func(_, lo, hi int) {
		lo, hi = lo*chunk, min(hi*chunk, len(x))
		xs, ys := x[lo:hi], y[lo:hi]
		sigmoidVec(ys, xs)
		if g == nil {
			for i, s := range ys {
				ys[i] = xs[i] * s
			}
			return
		}
		gs := g[lo:hi]
		for i, s := range ys {
			ys[i] = gs[i] * s * (1 + xs[i]*(1-s))
		}
	})
}

func (o *siluOp) DiffWRT(n int) []bool { return []bool{!o.grad, false}[:n] }

func (o *siluOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if o.grad {
		return nil, fmt.Errorf("nn: %s is a gradient op and has no gradient of its own", o.name)
	}
	op := &siluOp{opBase{name: fmt.Sprintf("SiLUGrad%v", o.x), inDims: []int{o.x.Dims(), o.x.Dims()}, outDim: o.x.Dims()}, o.x, true}
	dx, err := G.ApplyOp(op, inputs[0], grad)
	return G.Nodes{dx}, err
}
