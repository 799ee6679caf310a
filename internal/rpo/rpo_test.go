package rpo

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Hand-checked: β = 1, ℓ_ref(ref) = 0.5, ℓ_θ(ref) = 0.3, ℓ_ref(gen) = 0.4,
// ℓ_θ(gen) = 0.6: Δ = (0.5−0.3) − (0.4−0.6) = 0.4.
func TestMarginAndLoss(t *testing.T) {
	d := Margin(1, 0.5, 0.3, 0.4, 0.6)
	if math.Abs(d-0.4) > 1e-15 {
		t.Fatalf("Δ = %g", d)
	}
	if got := Margin(2.5, 0.5, 0.3, 0.4, 0.6); math.Abs(got-1.0) > 1e-15 {
		t.Errorf("β = 2.5: Δ = %g", got)
	}
	// y = 1: −log σ(0.4) = log(1 + e^−0.4) = 0.513015...
	if got := PreferenceLoss(0.4, 1); math.Abs(got-math.Log(1+math.Exp(-0.4))) > 1e-15 {
		t.Errorf("y=1: %g", got)
	}
	// y = 0: −log σ(−0.4) = log(1 + e^0.4)
	if got := PreferenceLoss(0.4, 0); math.Abs(got-math.Log(1+math.Exp(0.4))) > 1e-15 {
		t.Errorf("y=0: %g", got)
	}
	// soft label y = 0.25 mixes them
	want := 0.25*math.Log(1+math.Exp(-0.4)) + 0.75*math.Log(1+math.Exp(0.4))
	if got := PreferenceLoss(0.4, 0.25); math.Abs(got-want) > 1e-15 {
		t.Errorf("y=0.25: %g want %g", got, want)
	}
	// no overflow at large margins
	if got := PreferenceLoss(1000, 0); math.Abs(got-1000) > 1e-9 || math.IsInf(PreferenceLoss(-1000, 1), 0) {
		t.Errorf("large Δ: %g", got)
	}
}

// TestLabelFrequencies: Bernoulli labels come out 1 with frequency p.
func TestLabelFrequencies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range []float64{0.1, 0.5, 0.83} {
		n, ones := 40000, 0.0
		for i := 0; i < n; i++ {
			ones += Label(rng, p, Bernoulli)
		}
		f := ones / float64(n)
		if se := math.Sqrt(p * (1 - p) / float64(n)); math.Abs(f-p) > 4*se {
			t.Errorf("p = %g: frequency %g", p, f)
		}
		if Label(rng, p, Expected) != p {
			t.Error("expected label is not p")
		}
	}
	if _, err := ParseLabelMode("soft"); err == nil {
		t.Error("unknown mode accepted")
	}
}

// TestPairsAreUniform: every (reference, negative) pair is drawn.
func TestPairsAreUniform(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	counts := map[[2]int]int{}
	for i := 0; i < 24000; i++ {
		r, g := DrawPair(rng, 4, 6)
		counts[[2]int{r, g}]++
	}
	if len(counts) != 24 {
		t.Fatalf("%d distinct pairs", len(counts))
	}
	for k, c := range counts {
		if c < 800 || c > 1200 {
			t.Errorf("pair %v drawn %d times of ~1000", k, c)
		}
	}
}

func TestRulesAndSelector(t *testing.T) {
	rules, err := ParseRules("best@0.3, best@0.5,best,last,best@0.5", 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 3 || rules[0].Name() != "best@0.3" || rules[1].Name() != "best@0.5" || rules[2].Name() != "last" {
		t.Fatalf("%+v", rules)
	}
	for _, bad := range []string{"best@2", "first", "best@x", ""} {
		if _, err := ParseRules(bad, 0.5); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	s := NewSelector(rules)
	names := func(rs []Rule) string {
		out := ""
		for _, r := range rs {
			out += r.Name() + " "
		}
		return out
	}
	if got := names(s.Observe(40, map[string]float64{"0.3": 0.6, "0.5": 0.7})); got != "best@0.3 best@0.5 last " {
		t.Errorf("step 40: %s", got)
	}
	if got := names(s.Observe(80, map[string]float64{"0.3": 0.65, "0.5": 0.69})); got != "best@0.3 last " {
		t.Errorf("step 80: %s", got)
	}
	if s.Step["best@0.5"] != 40 || s.Step["best@0.3"] != 80 || s.Step["last"] != 80 {
		t.Errorf("%v", s.Step)
	}
	// the base model as a baseline: recorded, never kept, even when no
	// fine-tuned weights score higher
	s = NewSelector(rules)
	s.ObserveBase(map[string]float64{"0.3": 0.9, "0.5": 0.8})
	if len(s.Best) != 0 || len(s.Step) != 0 || s.Base["best@0.3"] != 0.9 || s.Base["best@0.5"] != 0.8 || len(s.Base) != 2 {
		t.Errorf("after the base: best %v, step %v, base %v", s.Best, s.Step, s.Base)
	}
	if got := names(s.Observe(40, map[string]float64{"0.3": 0.6, "0.5": 0.7})); got != "best@0.3 best@0.5 last " {
		t.Errorf("step 40 below the base: %s", got)
	}
	if s.Step["best@0.5"] != 40 || s.Best["best@0.5"] != 0.7 {
		t.Errorf("%v %v", s.Step, s.Best)
	}
}

// TestArithmeticRule: best-mean@λ selects on λ·ALIGN-I + (1−λ)·ALIGN-T,
// recorded under its own key beside the harmonic r_λ of the same λ.
func TestArithmeticRule(t *testing.T) {
	rules, err := ParseRules("best-mean@0.5,best@0.5,best-mean", 0.3)
	if err != nil || len(rules) != 3 || rules[0].Name() != "best-mean@0.5" || rules[0].Key() != "mean@0.5" || rules[1].Key() != "0.5" || rules[2].Name() != "best-mean@0.3" {
		t.Fatalf("%+v %v", rules, err)
	}
	if _, err := ParseRules("best-mean@1.5", 0.5); err == nil {
		t.Error("best-mean@1.5 accepted")
	}
	s := NewSelector(rules[:2])
	s.Observe(1, map[string]float64{"mean@0.5": 0.6, "0.5": 0.6})
	kept := s.Observe(2, map[string]float64{"mean@0.5": 0.7, "0.5": 0.5}) // the two means disagree
	if len(kept) != 1 || kept[0].Name() != "best-mean@0.5" || s.Step["best@0.5"] != 1 || s.Step["best-mean@0.5"] != 2 {
		t.Errorf("kept %v, steps %v", kept, s.Step)
	}
	// in a run: the validation records both, and the rule keeps its weights
	o := tinyRun(t, t.TempDir(), 3)
	o.Rules = rules[:2]
	var vals []ValidationEvent
	if _, err := Train(context.Background(), o, nil, func(v ValidationEvent) { vals = append(vals, v) }); err != nil {
		t.Fatal(err)
	}
	v := vals[len(vals)-1]
	var ai, at float64
	for p := range v.AlignI {
		ai += v.AlignI[p] / float64(len(v.AlignI))
		at += v.AlignT[p] / float64(len(v.AlignT))
	}
	if got, want := v.Reward["mean@0.5"], 0.5*ai+0.5*at; math.Abs(got-want) > 1e-12 || v.Reward["0.5"] >= got {
		t.Errorf("mean@0.5 = %v, from the per-prompt means %v; harmonic %v (at most the arithmetic)", got, want, v.Reward["0.5"])
	}
	if _, err := os.Stat(filepath.Join(o.Out, "best-mean@0.5", "model.yaml")); err != nil {
		t.Error(err)
	}
}

func TestEarlyStopper(t *testing.T) {
	var never EarlyStopper
	for i := 0; i < 100; i++ {
		if never.Update(0.5) {
			t.Fatal("the zero value stopped")
		}
	}
	e := EarlyStopper{Patience: 2, MinDelta: 0.01}
	for i, c := range []struct {
		r    float64
		stop bool
	}{{0.50, false}, {0.505, false}, {0.52, false}, {0.525, false}, {0.51, true}} {
		if got := e.Update(c.r); got != c.stop {
			t.Fatalf("validation %d (r=%g): stop=%v", i, c.r, got)
		}
	}
}
