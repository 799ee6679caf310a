package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MatMulT is x·wᵀ for x (M, K) and w (N, K), PyTorch's Linear weight layout,
// in one GEMM with w read transposed. gorgonia's Mul(x, Transpose(w))
// materialised the transposed weight on every run: a fifth of Stable
// Diffusion's forward pass went to copying its weights.
//
//	y = x·wᵀ,  ∂L/∂x = g·w,  ∂L/∂w = gᵀ·x
func MatMulT(x, w *G.Node) (*G.Node, error) {
	xs, ws := x.Shape().Clone(), w.Shape().Clone()
	if xs.Dims() != 2 || ws.Dims() != 2 || xs[1] != ws[1] {
		return nil, fmt.Errorf("nn: matmul: x %v and weight %v are not (M, K) and (N, K)", xs, ws)
	}
	op := &matMulTOp{opBase{name: fmt.Sprintf("MatMulT%v%v", xs, ws), inDims: []int{2, 2}, outDim: 2}, xs[0], ws[0], xs[1], 0}
	return G.ApplyOp(op, x, w)
}

// matMulTOp computes, by mode: 0 x·wᵀ (M, N); 1 g·w (M, K) from (g, w);
// 2 gᵀ·x (N, K) from (g, x).
type matMulTOp struct {
	opBase
	m, n, k int
	mode    int
}

func (o *matMulTOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	switch o.mode {
	case 1:
		return tensor.Shape{o.m, o.k}, nil
	case 2:
		return tensor.Shape{o.n, o.k}, nil
	}
	return tensor.Shape{o.m, o.n}, nil
}

func (o *matMulTOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	s, _ := o.InferShape()
	out := o.output(in[0].Dtype(), false, s...)
	switch in[0].Dtype() {
	case tensor.Float32:
		matMulT(o, contiguous[float32](in[0]), contiguous[float32](in[1]), out.Data().([]float32))
	default:
		matMulT(o, contiguous[float64](in[0]), contiguous[float64](in[1]), out.Data().([]float64))
	}
	return out, nil
}

func matMulT[T Float](o *matMulTOp, a, b, c []T) {
	m, n, k := o.m, o.n, o.k
	switch o.mode {
	case 0: // x (m, k) · wᵀ, w (n, k)
		gemm(false, false, true, m, n, k, 1, a, k, b, k, 0, c, n)
	case 1: // g (m, n) · w (n, k)
		gemm(false, false, false, m, k, n, 1, a, n, b, k, 0, c, k)
	case 2: // gᵀ (n, m) · x (m, k)
		gemm(false, true, false, n, k, m, 1, a, n, b, k, 0, c, k)
	}
}

func (o *matMulTOp) DiffWRT(n int) []bool {
	if o.mode != 0 {
		return []bool{false, false}[:n]
	}
	return []bool{true, true}[:n]
}

func (o *matMulTOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if o.mode != 0 {
		return nil, fmt.Errorf("nn: %s is a gradient op and has no gradient of its own", o.name)
	}
	mk := func(mode int, name string) *matMulTOp {
		return &matMulTOp{opBase{name: fmt.Sprintf("%s%v", name, []int{o.m, o.n, o.k}), inDims: []int{2, 2}, outDim: 2}, o.m, o.n, o.k, mode}
	}
	dx, err := G.ApplyOp(mk(1, "MatMulTGradX"), grad, inputs[1])
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(mk(2, "MatMulTGradW"), grad, inputs[0])
	return G.Nodes{dx, dw}, err
}
