package rpo

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// LabelMode is how a training label is made from the Bradley–Terry
// probability p that the reference is preferred.
type LabelMode string

// The label modes.
const (
	Bernoulli LabelMode = "bernoulli" // y ~ Bernoulli(p), drawn afresh every time a pair is used (the paper)
	Expected  LabelMode = "expected"  // y = p, a soft label
)

// ParseLabelMode checks a label mode's name.
func ParseLabelMode(s string) (LabelMode, error) {
	switch LabelMode(s) {
	case Bernoulli, Expected:
		return LabelMode(s), nil
	}
	return "", fmt.Errorf("rpo: label mode %q is not bernoulli or expected", s)
}

// Label returns y for probability p: 1 with probability p (Bernoulli), or
// p itself (Expected).
func Label(rng *rand.Rand, p float64, mode LabelMode) float64 {
	if mode == Expected {
		return p
	}
	if rng.Float64() < p {
		return 1
	}
	return 0
}

// DrawPair draws a (reference, negative) pair uniformly from all
// nRef × nNeg pairs (rpo's decision; the reference code's single-GPU path
// only ever used a few fixed pairs).
func DrawPair(rng *rand.Rand, nRef, nNeg int) (ref, neg int) {
	k := rng.IntN(nRef * nNeg)
	return k / nNeg, k % nNeg
}

// Margin is Δ = β·[ (ℓ_ref(x_ref, c_inst) − ℓ_θ(x_ref, c_inst)) − (ℓ_ref(x_gen, c_gen) − ℓ_θ(x_gen, c_gen)) ]:
// how much more the policy θ improved on the reference image than on the
// negative, relative to the frozen reference model.
func Margin(beta, refOnRef, thetaOnRef, refOnGen, thetaOnGen float64) float64 {
	return beta * ((refOnRef - thetaOnRef) - (refOnGen - thetaOnGen))
}

// PreferenceLoss is L_pref = −[ y·log σ(Δ) + (1−y)·log σ(−Δ) ], computed
// stably as y·softplus(−Δ) + (1−y)·softplus(Δ).
func PreferenceLoss(delta, y float64) float64 {
	return y*softplus(-delta) + (1-y)*softplus(delta)
}

// softplus is log(1 + e^x) without overflow.
func softplus(x float64) float64 {
	if x > 30 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
