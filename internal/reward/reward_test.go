package reward

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// Hand-checked values: refs (1,0) and (0,1), x = (1,1)/… :
// cos = 1/√2 each, ALIGN-I = (1/√2 + 1)/2 = 0.853553390593…
func TestAlignScores(t *testing.T) {
	refs := [][]float64{{1, 0}, {0, 1}}
	if got := AlignI(refs, []float64{3, 3}); !near(got, (1/math.Sqrt2+1)/2) {
		t.Errorf("ALIGN-I = %.15f", got)
	}
	if got := AlignI(refs, []float64{-1, 0}); !near(got, (-0.5+1)/2) { // cos −1 and 0
		t.Errorf("ALIGN-I = %.15f", got)
	}
	if got := AlignT([]float64{1, 2}, []float64{-2, -4}); !near(got, 0) {
		t.Errorf("ALIGN-T of opposite vectors = %g", got)
	}
	if got := AlignT([]float64{1, 0}, []float64{0, 5}); !near(got, 0.5) {
		t.Errorf("ALIGN-T of orthogonal vectors = %g", got)
	}
	if Cosine([]float64{0, 0}, []float64{1, 1}) != 0 {
		t.Error("cosine with a zero vector")
	}
}

func TestHarmonic(t *testing.T) {
	// λ = 0 gives ALIGN-T, λ = 1 gives ALIGN-I (to the guard's precision)
	if got := Harmonic(0, 0.9, 0.3); math.Abs(got-0.3) > 1e-8 {
		t.Errorf("λ=0: %g", got)
	}
	if got := Harmonic(1, 0.9, 0.3); math.Abs(got-0.9) > 1e-8 {
		t.Errorf("λ=1: %g", got)
	}
	// λ = 0.5, I = 0.8, T = 0.4: 1/(0.5/0.8 + 0.5/0.4) = 1/1.875 = 0.533…
	if got := Harmonic(0.5, 0.8, 0.4); math.Abs(got-1/1.875) > 3e-8 { // the guard shifts it by ~1e-8
		t.Errorf("λ=0.5: %.12f", got)
	}
	// the guard: a zero score gives ~0, not a division by zero
	if got := Harmonic(0.5, 0, 0.7); got <= 0 || got > 3e-8 || math.IsNaN(got) {
		t.Errorf("zero score: %g", got)
	}
	// harmonic ≤ arithmetic everywhere (up to the guard)
	for l := 0.0; l <= 1; l += 0.1 {
		for i := 0.05; i <= 1; i += 0.15 {
			for tt := 0.05; tt <= 1; tt += 0.15 {
				if h, a := Harmonic(l, i, tt), Arithmetic(l, i, tt); h > a+2*Guard {
					t.Fatalf("λ=%g I=%g T=%g: harmonic %g > arithmetic %g", l, i, tt, h, a)
				}
			}
		}
	}
	if got := Arithmetic(0.3, 0.8, 0.4); !near(got, 0.3*0.8+0.7*0.4) {
		t.Errorf("arithmetic %g", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("λ = 1.5 accepted")
		}
	}()
	Harmonic(1.5, 0.5, 0.5)
}

func TestPreferenceProbability(t *testing.T) {
	if p := PreferenceProbability(0.7, 0.7); p != 0.5 {
		t.Errorf("equal rewards: %g", p)
	}
	if p := PreferenceProbability(1, 0); !near(p, 1/(1+math.Exp(-1))) {
		t.Errorf("σ(1) = %g", p)
	}
	for _, d := range [][2]float64{{0.9, 0.2}, {0.1, 0.6}, {800, -800}} {
		p, q := PreferenceProbability(d[0], d[1]), PreferenceProbability(d[1], d[0])
		if !near(p+q, 1) || math.IsNaN(p) {
			t.Errorf("p(%g,%g) + p(%g,%g) = %g", d[0], d[1], d[1], d[0], p+q)
		}
	}
}

func TestRemoveToken(t *testing.T) {
	for in, want := range map[string]string{
		"a sks dog on the beach":   "a dog on the beach",
		"a red sks backpack":       "a red backpack",
		"a photo of SKS cat":       "a photo of cat",
		"a dog  wearing a sks hat": "a dog wearing a hat",
		"a sksdog stays":           "a sksdog stays",
	} {
		if got := RemoveToken(in, "sks"); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}
