package rpo

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/nn"
)

// LossWeights choose the terms of L = Sim·L_sim + Pref·L_pref: the paper's
// ablation rows are configuration, not code paths.
type LossWeights struct{ Sim, Pref float64 }

// ParseLoss reads --loss: rpo (L_sim + L_pref), sim (pure L_sim, i.e.
// DreamBooth without prior preservation) or pref (L_pref alone).
func ParseLoss(s string) (LossWeights, error) {
	switch s {
	case "rpo":
		return LossWeights{1, 1}, nil
	case "sim":
		return LossWeights{1, 0}, nil
	case "pref":
		return LossWeights{0, 1}, nil
	}
	return LossWeights{}, fmt.Errorf("rpo: --loss %q is not rpo, sim or pref", s)
}

// Objective is the RPO loss of one (reference, negative) pair, built on
// the policy U-Net's predictions for the two images: row 0 the reference
// image x_ref noised under the instance prompt c_inst, row 1 the negative
// x_gen noised under its own prompt c_gen. The frozen reference U-Net's
// errors, the label y and β are inputs set before each run.
type Objective struct {
	Loss, LSim, LPref, Delta *G.Node
	PolicyErr                *G.Node // ℓ_θ per image (2)
	lsimVal, lprefVal        G.Value // read after each run
	deltaVal                 G.Value
	RefErr                   *tensor.Dense // [ℓ_ref(x_ref, c_inst), ℓ_ref(x_gen, c_gen)]
	Y, Beta                  *tensor.Dense // one element each
}

// PerSampleMSE is ℓ(x) = mean over the elements of one image of
// (pred − target)²: (B, ...) → (B).
func PerSampleMSE(b *nn.Builder, pred, target *G.Node) *G.Node {
	n := pred.Shape()[0]
	d := must(G.Sub(pred, target))
	sq := b.Reshape(must(G.Square(d)), n, pred.Shape().TotalSize()/n)
	return must(G.Mean(sq, 1))
}

// BuildObjective builds
//
//	ℓ_θ = PerSampleMSE(pred, target)
//	L_sim = ℓ_θ(x_ref, c_inst)
//	Δ = β·[(ℓ_ref(x_ref) − ℓ_θ(x_ref)) − (ℓ_ref(x_gen) − ℓ_θ(x_gen))]
//	L_pref = y·softplus(−Δ) + (1−y)·softplus(Δ) = −[y log σ(Δ) + (1−y) log σ(−Δ)]
//	L = w.Sim·L_sim + w.Pref·L_pref
func BuildObjective(b *nn.Builder, pred, target *G.Node, w LossWeights) *Objective {
	if pred.Shape()[0] != 2 {
		panic(nn.BuildError{Err: fmt.Errorf("rpo: the objective takes 2 images (reference, negative), got %v", pred.Shape())})
	}
	o := &Objective{}
	var refErr, y, beta *G.Node
	refErr, o.RefErr = b.InputData("rpo_ref_err", 2)
	y, o.Y = b.InputData("rpo_label", 1)
	beta, o.Beta = b.InputData("rpo_beta", 1)
	o.PolicyErr = PerSampleMSE(b, pred, target)
	first := b.Constant("rpo_first", []float64{1, 0}, 2)
	diff := b.Constant("rpo_diff", []float64{1, -1}, 2)
	dot := func(a, c *G.Node) *G.Node { return must(G.Sum(must(G.HadamardProd(a, c)))) }
	o.LSim = dot(o.PolicyErr, first)
	gap := must(G.Sub(dot(refErr, diff), dot(o.PolicyErr, diff)))
	ys, bs := must(G.Sum(y)), must(G.Sum(beta))
	o.Delta = must(G.Mul(bs, gap))
	pos := must(G.Mul(ys, must(G.Softplus(must(G.Neg(o.Delta))))))
	neg := must(G.Mul(must(G.Sub(b.Scalar(1), ys)), must(G.Softplus(o.Delta))))
	o.LPref = b.Add(pos, neg)
	o.Loss = b.Add(must(G.Mul(o.LSim, b.Scalar(w.Sim))), must(G.Mul(o.LPref, b.Scalar(w.Pref))))
	G.Read(o.LSim, &o.lsimVal)
	G.Read(o.LPref, &o.lprefVal)
	G.Read(o.Delta, &o.deltaVal)
	return o
}

// Set writes the inputs of a step.
func (o *Objective) Set(refOnRef, refOnGen, y, beta float64) {
	switch d := o.RefErr.Data().(type) {
	case []float32:
		d[0], d[1] = float32(refOnRef), float32(refOnGen)
		o.Y.Data().([]float32)[0] = float32(y)
		o.Beta.Data().([]float32)[0] = float32(beta)
	case []float64:
		d[0], d[1] = refOnRef, refOnGen
		o.Y.Data().([]float64)[0] = y
		o.Beta.Data().([]float64)[0] = beta
	}
}

func must(n *G.Node, err error) *G.Node {
	if err != nil {
		panic(nn.BuildError{Err: err})
	}
	return n
}
