package dreambench

import (
	"math"
	"testing"
)

func TestMetricsOnHandMadeEmbeddings(t *testing.T) {
	refs := [][]float64{{1, 0}, {0, 1}}
	gens := [][]float64{{1, 1}, {1, 0}}
	// pairs: (1,0)·(1,1) = 1/√2, (1,0)·(1,0) = 1, (0,1)·(1,1) = 1/√2, (0,1)·(1,0) = 0
	if got, want := MeanPairCosine(refs, gens), (2/math.Sqrt2+1)/4; math.Abs(got-want) > 1e-12 {
		t.Errorf("DINO %g want %g", got, want)
	}
	if got, want := MeanTextCosine([]float64{0, 2}, gens), (1/math.Sqrt2+0)/2; math.Abs(got-want) > 1e-12 {
		t.Errorf("CLIP-T %g want %g", got, want)
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{1, 2, 3, 4})
	// mean 2.5, sample std √(5/3), t_{0.975,3} = 3.182446
	if s.Mean != 2.5 || math.Abs(s.Std-math.Sqrt(5.0/3)) > 1e-12 || math.Abs(s.CI95-3.182446305*math.Sqrt(5.0/3)/2) > 1e-6 || s.N != 4 {
		t.Errorf("%+v", s)
	}
	if one := Summarize([]float64{7}); one.Mean != 7 || one.CI95 != 0 {
		t.Errorf("%+v", one)
	}
}
