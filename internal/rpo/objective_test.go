package rpo

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/nn"
)

// TestObjectiveHandComputed: the graph's L_sim, Δ, L_pref and L equal the
// plain formulas on known per-image errors, for each loss configuration.
func TestObjectiveHandComputed(t *testing.T) {
	pred := []float64{1, 2, 3, 0, 0, 1}    // two images of 3 elements
	target := []float64{1, 1, 1, 1, 0, -1} // errors: (0+1+4)/3, (1+0+4)/3
	thRef, thGen := (0.0+1+4)/3, (1.0+0+4)/3
	for _, name := range []string{"rpo", "sim", "pref"} {
		w, _ := ParseLoss(name)
		b := nn.NewBuilder(nn.NewStore(tensor.Float64, 1), nil)
		p := b.Constant("pred", pred, 2, 3)
		tg := b.Constant("target", target, 2, 3)
		var o *Objective
		if err := nn.Build(func() { o = BuildObjective(b, p, tg, w) }); err != nil {
			t.Fatal(err)
		}
		var ls, lp, d G.Value
		G.Read(o.LSim, &ls)
		G.Read(o.LPref, &lp)
		G.Read(o.Delta, &d)
		prog, err := nn.Compile(b, o.Loss, false)
		if err != nil {
			t.Fatal(err)
		}
		o.Set(2.0, 1.5, 0.25, 2)
		loss, err := prog.Run()
		if err != nil {
			t.Fatal(err)
		}
		delta := Margin(2, 2.0, thRef, 1.5, thGen)
		lpref := PreferenceLoss(delta, 0.25)
		want := w.Sim*thRef + w.Pref*lpref
		if math.Abs(d.Data().(float64)-delta) > 1e-12 || math.Abs(ls.Data().(float64)-thRef) > 1e-12 ||
			math.Abs(lp.Data().(float64)-lpref) > 1e-12 || math.Abs(loss-want) > 1e-12 {
			t.Errorf("%s: Δ %v (want %g), L_sim %v, L_pref %v (want %g), L %g (want %g)", name, d, delta, ls, lp, lpref, loss, want)
		}
		prog.Close()
	}
	if _, err := ParseLoss("dpo"); err == nil {
		t.Error("unknown loss accepted")
	}
}

// TestObjectiveGradient: numeric vs symbolic gradient of L with respect to
// the policy's predictions.
func TestObjectiveGradient(t *testing.T) {
	pred := nn.RandN(tensor.Float64, 1, 2, 2, 3)
	res, err := nn.GradCheck(nil, []*tensor.Dense{pred}, 1e-6, func(b *nn.Builder, xs G.Nodes) *G.Node {
		tg := b.Constant("target", nn.Float64s(nn.RandN(tensor.Float64, 2, 2, 2, 3)), 2, 2, 3)
		o := BuildObjective(b, xs[0], tg, LossWeights{Sim: 1, Pref: 1})
		o.Set(0.9, 1.3, 0.7, 1.5)
		return o.Loss
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRelErr > 1e-6 {
		t.Fatalf("gradient %.3g at %s", res.MaxRelErr, res.Where)
	}
}

// TestObjectiveWithPrior: a third (class) image adds w.Prior·ℓ_θ(x_class)
// and leaves L_sim, Δ and L_pref as they were.
func TestObjectiveWithPrior(t *testing.T) {
	pred := []float64{1, 2, 3, 0, 0, 1, 2, 2, 2}
	target := []float64{1, 1, 1, 1, 0, -1, 0, 0, 0} // errors 5/3, 5/3, 4
	b := nn.NewBuilder(nn.NewStore(tensor.Float64, 1), nil)
	p := b.Constant("pred", pred, 3, 3)
	tg := b.Constant("target", target, 3, 3)
	var o *Objective
	if err := nn.Build(func() { o = BuildObjective(b, p, tg, LossWeights{Sim: 1, Prior: 0.5}) }); err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(b, o.Loss, false)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	o.Set(2.0, 1.5, 1, 1)
	loss, err := prog.Run()
	if err != nil {
		t.Fatal(err)
	}
	if want := 5.0/3 + 0.5*4; math.Abs(loss-want) > 1e-12 {
		t.Errorf("L = %g, want %g", loss, want)
	}
}
