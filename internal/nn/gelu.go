package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Activation is a pointwise activation of the transformer models:
//
//	"gelu":       y = x·Φ(x) = ½x(1 + erf(x/√2))            (exact, PyTorch's default)
//	"quick_gelu": y = x·σ(1.702x)                            (openai CLIP)
//	"geglu":      x = [a | g] on the last axis, y = a·gelu(g) (diffusers' GEGLU; halves the last axis)
type Activation string

// The activations.
const (
	GELU      Activation = "gelu"
	QuickGELU Activation = "quick_gelu"
	GEGLU     Activation = "geglu"
)

// Activate applies an activation to x (M, N): gelu and quick_gelu keep the
// shape, geglu maps (M, 2N) to (M, N).
func Activate(x *G.Node, kind Activation) (*G.Node, error) {
	xs := x.Shape().Clone()
	if xs.Dims() != 2 {
		return nil, fmt.Errorf("nn: %s: input %v is not (M, N)", kind, xs)
	}
	switch kind {
	case GELU, QuickGELU:
	case GEGLU:
		if xs[1]%2 != 0 {
			return nil, fmt.Errorf("nn: geglu: last axis %d is odd", xs[1])
		}
	default:
		return nil, fmt.Errorf("nn: unknown activation %q", kind)
	}
	op := &actOp{opBase{name: fmt.Sprintf("%s%v", kind, xs), inDims: []int{2}, outDim: 2}, xs, kind, false}
	return G.ApplyOp(op, x)
}

// actOp is an activation, or with grad set its gradient from (x, ∂L/∂y).
type actOp struct {
	opBase
	x    tensor.Shape
	kind Activation
	grad bool
}

func (o *actOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if o.kind == GEGLU && !o.grad {
		return tensor.Shape{o.x[0], o.x[1] / 2}, nil
	}
	return o.x.Clone(), nil
}

func (o *actOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	s, _ := o.InferShape()
	out := o.output(in[0].Dtype(), false, s...)
	switch in[0].Dtype() {
	case tensor.Float32:
		var g []float32
		if o.grad {
			g = contiguous[float32](in[1])
		}
		activate(o.kind, contiguous[float32](in[0]), g, out.Data().([]float32), o.x[1])
	default:
		var g []float64
		if o.grad {
			g = contiguous[float64](in[1])
		}
		activate(o.kind, contiguous[float64](in[0]), g, out.Data().([]float64), o.x[1])
	}
	return out, nil
}

// gelu returns gelu(x) and its derivative Φ(x) + x·φ(x).
func gelu(x float64) (y, dy float64) {
	cdf := 0.5 * (1 + math.Erf(x/math.Sqrt2))
	return x * cdf, cdf + x*math.Exp(-0.5*x*x)/math.Sqrt(2*math.Pi)
}

// geluValue is gelu(x) alone (the forward pass needs no derivative).
func geluValue(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

// activate writes the activation of x (rows of n) into y, or with g its
// gradient, rows split across the cores.
func activate[T Float](kind Activation, x, g, y []T, n int) {
	rows := len(x) / n
	parallelFor(rows, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := x[r*n : (r+1)*n]
			switch kind {
			case GEGLU:
				h := n / 2
				a, gate := xr[:h], xr[h:]
				if g == nil {
					yr := y[r*h : (r+1)*h]
					for i := range yr {
						yr[i] = a[i] * T(geluValue(float64(gate[i])))
					}
					continue
				}
				gr, yr := g[r*h:(r+1)*h], y[r*n:(r+1)*n]
				for i := 0; i < h; i++ {
					v, dv := gelu(float64(gate[i]))
					yr[i] = gr[i] * T(v)
					yr[h+i] = gr[i] * a[i] * T(dv)
				}
			case GELU:
				yr := y[r*n : (r+1)*n]
				for i, v := range xr {
					if g != nil {
						_, df := gelu(float64(v))
						yr[i] = g[r*n+i] * T(df)
					} else {
						yr[i] = T(geluValue(float64(v)))
					}
				}
			case QuickGELU:
				yr := y[r*n : (r+1)*n]
				for i, v := range xr {
					s := 1 / (1 + math.Exp(-1.702*float64(v)))
					if g != nil {
						yr[i] = g[r*n+i] * T(s*(1+1.702*float64(v)*(1-s)))
					} else {
						yr[i] = T(float64(v) * s)
					}
				}
			}
		}
	})
}

func (o *actOp) DiffWRT(n int) []bool { return []bool{!o.grad, false}[:n] }

func (o *actOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if o.grad {
		return nil, fmt.Errorf("nn: %s is a gradient op and has no gradient of its own", o.name)
	}
	op := &actOp{opBase{name: fmt.Sprintf("%sGrad%v", o.kind, o.x), inDims: []int{2, 2}, outDim: 2}, o.x, o.kind, true}
	dx, err := G.ApplyOp(op, inputs[0], grad)
	return G.Nodes{dx}, err
}
