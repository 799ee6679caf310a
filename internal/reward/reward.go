// Package reward is the λ-Harmonic reward of RPO (Miao et al., NeurIPS
// 2024, §3 and ../shared/design/RPO.md §1–2) and the Bradley–Terry
// preference probability, in plain float64 Go over embeddings that a reward
// model (the paper: ALIGN; rpo: align-mini) has already computed.
package reward

import (
	"fmt"
	"math"
	"strings"
)

// Guard is the 1e-8 added to each score in the harmonic mean.
const Guard = 1e-8

// Cosine is ⟨a, b⟩ / (‖a‖·‖b‖); 0 when either vector is zero.
func Cosine(a, b []float64) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("reward: cosine of vectors of lengths %d and %d", len(a), len(b)))
	}
	var dot, na, nb float64
	for i := range a {
		dot += a[i] * b[i]
		na += a[i] * a[i]
		nb += b[i] * b[i]
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// AlignI is the image–image score of an image x against the references
// x_1..x_N, from their image embeddings E_img:
//
//	ALIGN-I(x) = ( mean_n cos(E_img(x_n), E_img(x)) + 1 ) / 2   ∈ [0, 1].
func AlignI(refs [][]float64, x []float64) float64 {
	if len(refs) == 0 {
		panic("reward: ALIGN-I needs at least one reference")
	}
	var s float64
	for _, r := range refs {
		s += Cosine(r, x)
	}
	return (s/float64(len(refs)) + 1) / 2
}

// AlignT is the image–text score of image x under prompt c, from the text
// embedding E_txt(c) and the image embedding E_img(x):
//
//	ALIGN-T(x, c) = ( cos(E_txt(c), E_img(x)) + 1 ) / 2   ∈ [0, 1].
func AlignT(txt, x []float64) float64 { return (Cosine(txt, x) + 1) / 2 }

// Harmonic is the λ-Harmonic reward
//
//	r_λ = 1 / ( λ/(ALIGN-I + 1e-8) + (1−λ)/(ALIGN-T + 1e-8) ),  λ ∈ [0, 1],
//
// which is ALIGN-T at λ = 0 and ALIGN-I at λ = 1 (up to the guard), and
// punishes an image that is good on only one of the two scores.
func Harmonic(lambda, alignI, alignT float64) float64 {
	checkLambda(lambda)
	return 1 / (lambda/(alignI+Guard) + (1-lambda)/(alignT+Guard))
}

// Arithmetic is λ·ALIGN-I + (1−λ)·ALIGN-T, the paper's ablation of the
// harmonic mean.
func Arithmetic(lambda, alignI, alignT float64) float64 {
	checkLambda(lambda)
	return lambda*alignI + (1-lambda)*alignT
}

func checkLambda(l float64) {
	if l < 0 || l > 1 || math.IsNaN(l) {
		panic(fmt.Sprintf("reward: λ = %g is outside [0, 1]", l))
	}
}

// PreferenceProbability is the Bradley–Terry probability that the reference
// image is preferred to the generated one:
//
//	p = σ( r(x_ref; c_gen) − r(x_gen; c_gen) ),  σ(z) = 1/(1+e^−z),
//
// with no temperature; p(a, b) = 1 − p(b, a).
func PreferenceProbability(rRef, rGen float64) float64 {
	z := rRef - rGen
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// RemoveToken deletes the unique identifier from a prompt ("a sks dog on
// the beach" → "a dog on the beach"), as every prompt is cleaned before it
// reaches a reward or metric model: the token is a whole word, matched
// case-insensitively, and the spaces around it collapse.
func RemoveToken(prompt, token string) string {
	if token == "" {
		return strings.Join(strings.Fields(prompt), " ")
	}
	var keep []string
	for _, w := range strings.Fields(prompt) {
		if !strings.EqualFold(w, token) {
			keep = append(keep, w)
		}
	}
	return strings.Join(keep, " ")
}
