package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BatchedMatMul is op(A_i)·op(B_i) for every i of a (Bt, ·, ·) and b
// (Bt, ·, ·), op a transposition where transA or transB says: gorgonia's
// BatchedMatMul, which multiplies the items one after the other on one
// core (a tenth of a guided sampling step of the embedded U-Net, whose
// attention products are small). Here the items are shared among the
// cores, each one product as gorgonia makes it, so the bits are the same,
// and the gradients are gorgonia's products too:
//
//	Z = A·B:   ∂A = G·Bᵀ, ∂B = Aᵀ·G      Z = A·Bᵀ:  ∂A = G·B,   ∂B = Gᵀ·A
//	Z = Aᵀ·B:  ∂A = B·Gᵀ, ∂B = A·G       Z = Aᵀ·Bᵀ: ∂A = Bᵀ·Gᵀ, ∂B = Gᵀ·Aᵀ
func BatchedMatMul(a, b *G.Node, transA, transB bool) (*G.Node, error) {
	as, bs := a.Shape().Clone(), b.Shape().Clone()
	if as.Dims() != 3 || bs.Dims() != 3 || as[0] != bs[0] {
		return nil, fmt.Errorf("nn: batched matmul: %v and %v are not (B, ·, ·) of one batch", as, bs)
	}
	m, k := as[1], as[2]
	if transA {
		m, k = k, m
	}
	kb, n := bs[1], bs[2]
	if transB {
		kb, n = n, kb
	}
	if k != kb {
		return nil, fmt.Errorf("nn: batched matmul: %v%s and %v%s do not chain", as, transMark(transA), bs, transMark(transB))
	}
	op := &batchedMatMulOp{opBase{name: fmt.Sprintf("BatchedMatMul%v%s%v%s", as, transMark(transA), bs, transMark(transB)), inDims: []int{3, 3}, outDim: 3},
		as[0], m, n, k, as[2], bs[2], transA, transB}
	return G.ApplyOp(op, a, b)
}

func transMark(t bool) string {
	if t {
		return "ᵀ"
	}
	return ""
}

type batchedMatMulOp struct {
	opBase
	bt, m, n, k    int
	lda, ldb       int // the stored rows' lengths
	transA, transB bool
}

func (o *batchedMatMulOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.bt, o.m, o.n}, nil
}

func (o *batchedMatMulOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	out := o.output(in[0].Dtype(), false, o.bt, o.m, o.n)
	switch in[0].Dtype() {
	case tensor.Float32:
		batchedMatMul(o, contiguous[float32](in[0]), contiguous[float32](in[1]), out.Data().([]float32))
	default:
		batchedMatMul(o, contiguous[float64](in[0]), contiguous[float64](in[1]), out.Data().([]float64))
	}
	return out, nil
}

func batchedMatMul[T Float](o *batchedMatMulOp, a, b, c []T) {
	sa, sb, sc := o.m*o.k, o.k*o.n, o.m*o.n
	serial := workers(o.bt) > 1
	parallelFor(o.bt, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			gemm(serial, o.transA, o.transB, o.m, o.n, o.k, 1, a[i*sa:(i+1)*sa], o.lda, b[i*sb:(i+1)*sb], o.ldb, 0, c[i*sc:(i+1)*sc], o.n)
		}
	})
}

func (o *batchedMatMulOp) DiffWRT(n int) []bool { return []bool{true, true}[:n] }

func (o *batchedMatMulOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, y := inputs[0], inputs[1]
	var dx, dy *G.Node
	var err error
	switch {
	case !o.transA && !o.transB:
		if dx, err = BatchedMatMul(grad, y, false, true); err == nil {
			dy, err = BatchedMatMul(x, grad, true, false)
		}
	case !o.transA && o.transB:
		if dx, err = BatchedMatMul(grad, y, false, false); err == nil {
			dy, err = BatchedMatMul(grad, x, true, false)
		}
	case o.transA && !o.transB:
		if dx, err = BatchedMatMul(y, grad, false, true); err == nil {
			dy, err = BatchedMatMul(x, grad, false, false)
		}
	default:
		if dx, err = BatchedMatMul(y, grad, true, true); err == nil {
			dy, err = BatchedMatMul(grad, x, true, true)
		}
	}
	return G.Nodes{dx, dy}, err
}
