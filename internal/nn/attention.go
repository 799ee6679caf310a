package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// FusedAttentionMin is the number of query·key pairs from which MultiHead
// uses the fused attention op instead of materialising the scores: Stable
// Diffusion's self-attention over a 64×64 latent has 4096² pairs per head,
// a gigabyte of scores per layer that the tape machine kept until the end
// of the pass. Smaller attentions (the embedded models') keep the
// three-op path, whose numbers their checkpoints were trained with.
var FusedAttentionMin = 1 << 14

// fusedBlock is the number of query rows whose scores are held at once.
const fusedBlock = 64

// Attention is softmax(scale·q·kᵀ)·v for q (BH, L, d), k and v (BH, Lc, d)
// in one op that holds the scores of fusedBlock query rows at a time
// (memory-efficient attention): the backward pass recomputes them.
//
//	P = softmax(s·Q·Kᵀ), O = P·V
//	dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dO ⊙ O)), dQ = s·dS·K, dK = s·dSᵀ·Q
func Attention(q, k, v *G.Node, scale float64) (*G.Node, error) {
	qs, ks, vs := q.Shape().Clone(), k.Shape().Clone(), v.Shape().Clone()
	if qs.Dims() != 3 || !ks.Eq(vs) || ks.Dims() != 3 || qs[0] != ks[0] || qs[2] != ks[2] {
		return nil, fmt.Errorf("nn: attention: q %v, k %v, v %v are not (BH, L, d), (BH, Lc, d), (BH, Lc, d)", qs, ks, vs)
	}
	op := &attnOp{opBase{name: fmt.Sprintf("Attention%v%v·%g", qs, ks, scale), inDims: []int{3, 3, 3}, outDim: 3}, qs[0], qs[1], ks[1], qs[2], scale, false}
	return G.ApplyOp(op, q, k, v)
}

// attnOp is Attention, or with grad its gradients from (q, k, v, o, dO),
// packed along axis 1 as [dQ; dK; dV] (BH, L+2·Lc, d).
type attnOp struct {
	opBase
	bh, l, lc, d int
	scale        float64
	grad         bool
}

func (o *attnOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if o.grad {
		return tensor.Shape{o.bh, o.l + 2*o.lc, o.d}, nil
	}
	return tensor.Shape{o.bh, o.l, o.d}, nil
}

func (o *attnOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	s, _ := o.InferShape()
	out := o.output(in[0].Dtype(), o.grad, s...) // the gradients accumulate
	switch in[0].Dtype() {
	case tensor.Float32:
		attention(o, in, out.Data().([]float32))
	default:
		attention(o, in, out.Data().([]float64))
	}
	return out, nil
}

func attention[T Float](o *attnOp, in []*tensor.Dense, out []T) {
	q, k, v := contiguous[T](in[0]), contiguous[T](in[1]), contiguous[T](in[2])
	var fo, dO []T
	if o.grad {
		fo, dO = contiguous[T](in[3]), contiguous[T](in[4])
	}
	l, lc, d := o.l, o.lc, o.d
	sc := T(o.scale)
	parallelFor(o.bh, func(_, lo, hi int) {
		p := make([]T, fusedBlock*lc)
		var dp []T
		if o.grad {
			dp = make([]T, fusedBlock*lc)
		}
		for h := lo; h < hi; h++ {
			qh, kh, vh := q[h*l*d:(h+1)*l*d], k[h*lc*d:(h+1)*lc*d], v[h*lc*d:(h+1)*lc*d]
			for i0 := 0; i0 < l; i0 += fusedBlock {
				if interrupted.Load() { // a long attention stops within a block; the run fails at the next operator
					return
				}
				nb := min(fusedBlock, l-i0)
				qb := qh[i0*d : (i0+nb)*d]
				pb := p[:nb*lc]
				gemm(true, false, true, nb, lc, d, sc, qb, d, kh, d, 0, pb, lc) // S = s·Q·Kᵀ
				for r := 0; r < nb; r++ {
					softmaxRow(pb[r*lc : (r+1)*lc])
				}
				if !o.grad {
					gemm(true, false, false, nb, d, lc, 1, pb, lc, vh, d, 0, out[(h*l+i0)*d:(h*l+i0+nb)*d], d) // O = P·V
					continue
				}
				base := h * (l + 2*lc) * d
				dq := out[base+i0*d : base+(i0+nb)*d]
				dk := out[base+l*d : base+(l+lc)*d]
				dv := out[base+(l+lc)*d : base+(l+2*lc)*d]
				gob, ob := dO[(h*l+i0)*d:(h*l+i0+nb)*d], fo[(h*l+i0)*d:(h*l+i0+nb)*d]
				gemm(true, true, false, lc, d, nb, 1, pb, lc, gob, d, 1, dv, d) // dV += Pᵀ·dO
				dpb := dp[:nb*lc]
				gemm(true, false, true, nb, lc, d, 1, gob, d, vh, d, 0, dpb, lc) // dP = dO·Vᵀ
				for r := 0; r < nb; r++ {
					var dsum T
					for j := 0; j < d; j++ {
						dsum += gob[r*d+j] * ob[r*d+j]
					}
					pr, gr := pb[r*lc:(r+1)*lc], dpb[r*lc:(r+1)*lc]
					for j := range pr {
						pr[j] *= gr[j] - dsum // dS, in place of P
					}
				}
				gemm(true, false, false, nb, d, lc, sc, pb, lc, kh, d, 0, dq, d) // dQ = s·dS·K
				gemm(true, true, false, lc, d, nb, sc, pb, lc, qb, d, 1, dk, d)  // dK += s·dSᵀ·Q
			}
		}
	})
}

// softmaxRow replaces x by softmax(x).
func softmaxRow[T Float](x []T) {
	m := T(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	inv := 1 / expShifted(x, x, 1, m) // 1·v is v: the same bits as e^(v − m)
	for i := range x {
		x[i] *= inv
	}
}

func (o *attnOp) DiffWRT(n int) []bool {
	if o.grad {
		return make([]bool, n)
	}
	return []bool{true, true, true}[:n]
}

func (o *attnOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if o.grad {
		return nil, fmt.Errorf("nn: %s is a gradient op and has no gradient of its own", o.name)
	}
	g := &attnOp{opBase{name: "Grad" + o.name, inDims: []int{3, 3, 3, 3, 3}, outDim: 3}, o.bh, o.l, o.lc, o.d, o.scale, true}
	packed, err := G.ApplyOp(g, inputs[0], inputs[1], inputs[2], output, grad)
	if err != nil {
		return nil, err
	}
	var out G.Nodes
	for _, r := range [][2]int{{0, o.l}, {o.l, o.l + o.lc}, {o.l + o.lc, o.l + 2*o.lc}} {
		s, err := sliceAxis1(packed, r[0], r[1])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// sliceAxis1 copies rows [a, b) of axis 1 of a 3-D tensor (no gradient:
// it unpacks the gradients of Attention).
func sliceAxis1(x *G.Node, a, b int) (*G.Node, error) {
	xs := x.Shape().Clone()
	op := &sliceOp{opBase{name: fmt.Sprintf("Slice1%v[%d:%d]", xs, a, b), inDims: []int{3}, outDim: 3}, xs, a, b}
	return G.ApplyOp(op, x)
}

type sliceOp struct {
	opBase
	x    tensor.Shape
	a, b int
}

func (o *sliceOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.x[0], o.b - o.a, o.x[2]}, nil
}

func (o *sliceOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := dense(&o.opBase, vals)
	if err != nil {
		return nil, err
	}
	s, _ := o.InferShape()
	out := o.output(in[0].Dtype(), false, s...)
	switch in[0].Dtype() {
	case tensor.Float32:
		sliceRows(contiguous[float32](in[0]), out.Data().([]float32), o.x, o.a, o.b)
	default:
		sliceRows(contiguous[float64](in[0]), out.Data().([]float64), o.x, o.a, o.b)
	}
	return out, nil
}

func sliceRows[T Float](src, dst []T, x tensor.Shape, a, b int) {
	n, d := x[1], x[2]
	for i := 0; i < x[0]; i++ {
		copy(dst[i*(b-a)*d:(i+1)*(b-a)*d], src[(i*n+a)*d:(i*n+b)*d])
	}
}

func (o *sliceOp) DiffWRT(n int) []bool { return make([]bool, n) }

func (o *sliceOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("nn: %s has no gradient", o.name)
}
