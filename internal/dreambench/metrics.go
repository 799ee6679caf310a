package dreambench

import (
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/rpo-dev/rpo/internal/reward"
)

// MeanPairCosine is the DINO (or CLIP-I) metric of DreamBench: the mean
// cosine similarity over all (reference, generated) pairs of embeddings.
func MeanPairCosine(refs, gens [][]float64) float64 {
	var s float64
	for _, r := range refs {
		for _, g := range gens {
			s += reward.Cosine(r, g)
		}
	}
	return s / float64(len(refs)*len(gens))
}

// MeanTextCosine is CLIP-T: the mean cosine between the prompt's text
// embedding (token removed, class kept) and each generated image's.
func MeanTextCosine(txt []float64, gens [][]float64) float64 {
	var s float64
	for _, g := range gens {
		s += reward.Cosine(txt, g)
	}
	return s / float64(len(gens))
}

// Summary is a mean with its spread over n values.
type Summary struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`  // sample standard deviation
	CI95 float64 `json:"ci95"` // half-width of the 95% interval of the mean (Student's t)
	N    int     `json:"n"`
}

// Summarize returns the mean, standard deviation and the half-width of the
// 95% confidence interval of the mean, t_{0.975, n−1}·s/√n.
func Summarize(v []float64) Summary {
	s := Summary{N: len(v)}
	if len(v) == 0 {
		return s
	}
	s.Mean = stat.Mean(v, nil)
	if len(v) > 1 {
		s.Std = stat.StdDev(v, nil)
		t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(v) - 1)}.Quantile(0.975)
		s.CI95 = t * s.Std / math.Sqrt(float64(len(v)))
	}
	return s
}
