package rpo

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/nn"
)

// LossWeights choose the terms of L = Sim·L_sim + Pref·L_pref (+ Prior·L_prior,
// DreamBooth's prior preservation, for the baseline): the paper's ablation
// rows are configuration, not code paths.
type LossWeights struct{ Sim, Pref, Prior float64 }

// ParseLoss reads --loss: rpo (L_sim + L_pref), sim (pure L_sim, i.e.
// DreamBooth without prior preservation) or pref (L_pref alone).
func ParseLoss(s string) (LossWeights, error) {
	switch s {
	case "rpo":
		return LossWeights{Sim: 1, Pref: 1}, nil
	case "sim":
		return LossWeights{Sim: 1}, nil
	case "pref":
		return LossWeights{Pref: 1}, nil
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
	LPrior                   *G.Node // nil without a class image
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
//
// With a third image (a class image under "a photo of <class>", DreamBooth's
// prior preservation) L_prior = ℓ_θ(x_class) is added with weight w.Prior.
func BuildObjective(b *nn.Builder, pred, target *G.Node, w LossWeights) *Objective {
	n := pred.Shape()[0]
	if n != 2 && n != 3 {
		panic(nn.BuildError{Err: fmt.Errorf("rpo: the objective takes 2 images (reference, negative) or 3 (and a class image), got %v", pred.Shape())})
	}
	o := &Objective{}
	var refErr, y, beta *G.Node
	refErr, o.RefErr = b.InputData("rpo_ref_err", n)
	y, o.Y = b.InputData("rpo_label", 1)
	beta, o.Beta = b.InputData("rpo_beta", 1)
	o.PolicyErr = PerSampleMSE(b, pred, target)
	pick := func(name string, v ...float64) *G.Node { return b.Constant(name, append(v, 0)[:n], n) }
	first := pick("rpo_first", 1, 0)
	diff := pick("rpo_diff", 1, -1)
	dot := func(a, c *G.Node) *G.Node { return must(G.Sum(must(G.HadamardProd(a, c)))) }
	o.LSim = dot(o.PolicyErr, first)
	gap := must(G.Sub(dot(refErr, diff), dot(o.PolicyErr, diff)))
	ys, bs := must(G.Sum(y)), must(G.Sum(beta))
	o.Delta = must(G.Mul(bs, gap))
	pos := must(G.Mul(ys, must(G.Softplus(must(G.Neg(o.Delta))))))
	neg := must(G.Mul(must(G.Sub(b.Scalar(1), ys)), must(G.Softplus(o.Delta))))
	o.LPref = b.Add(pos, neg)
	o.Loss = b.Add(must(G.Mul(o.LSim, b.Scalar(w.Sim))), must(G.Mul(o.LPref, b.Scalar(w.Pref))))
	if n == 3 {
		o.LPrior = dot(o.PolicyErr, b.Constant("rpo_prior", []float64{0, 0, 1}, 3))
		o.Loss = b.Add(o.Loss, must(G.Mul(o.LPrior, b.Scalar(w.Prior))))
	}
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
