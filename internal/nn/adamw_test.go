package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

func scalarStore(vals map[string]float64) *Store {
	s := NewStore(tensor.Float64, 1)
	for n, v := range vals {
		s.Set(n, FromFloat64(tensor.Float64, []float64{v}, 1))
	}
	return s
}

func grad1(v float64) *tensor.Dense { return FromFloat64(tensor.Float64, []float64{v}, 1) }

// TestAdamWHandChecked: θ=1, g=0.5, lr=0.1, wd=0.01, no clipping.
// decay: 1 − 0.1·0.01·1 = 0.999; m̂ = 0.5, v̂ = 0.25; θ = 0.999 − 0.1·0.5/(0.5+1e-8).
func TestAdamWHandChecked(t *testing.T) {
	s := scalarStore(map[string]float64{"p": 1})
	o := NewAdamW(0.1)
	norm, err := o.Update(s, map[string]*tensor.Dense{"p": grad1(0.5)})
	if err != nil {
		t.Fatal(err)
	}
	want := 0.999 - 0.1*0.5/(0.5+1e-8)
	if got := Float64s(s.Lookup("p"))[0]; math.Abs(got-want) > 1e-15 || norm != 0.5 {
		t.Fatalf("θ = %.17g, want %.17g (norm %g)", got, want, norm)
	}
	// Second step, g = −0.25: m = 0.9·0.05 − 0.025 = 0.02, v = 0.999·0.00025 + 0.001·0.0625
	m, v := 0.9*0.05+0.1*-0.25, 0.999*0.00025+0.001*0.0625
	want2 := want*(1-0.001) - 0.1*(m/(1-0.81))/(math.Sqrt(v/(1-0.999*0.999))+1e-8)
	o.Update(s, map[string]*tensor.Dense{"p": grad1(-0.25)})
	if got := Float64s(s.Lookup("p"))[0]; math.Abs(got-want2) > 1e-15 {
		t.Fatalf("step 2: θ = %.17g, want %.17g", got, want2)
	}
}

// TestAdamWDecoupledDecay: with a zero gradient the parameter only decays,
// by exactly (1 − lr·wd); coupled L2 (gorgonia's Adam) would move it by ≈ lr.
func TestAdamWDecoupledDecay(t *testing.T) {
	s := scalarStore(map[string]float64{"p": 2})
	o := NewAdamW(0.1)
	o.Update(s, map[string]*tensor.Dense{"p": grad1(0)})
	if got := Float64s(s.Lookup("p"))[0]; got != 2*(1-0.1*0.01) {
		t.Fatalf("θ = %.17g, want %.17g", got, 2*(1-0.001))
	}
}

// TestAdamWGlobalNormClip: gradients (3, 4) have norm 5; with clip 1 the
// first moments are 0.1·(3, 4)/(5+1e-6): the direction is kept (per-element
// clamping would give (1, 1)).
func TestAdamWGlobalNormClip(t *testing.T) {
	s := scalarStore(map[string]float64{"a": 0, "b": 0})
	o := NewAdamW(0.1)
	norm, _ := o.Update(s, map[string]*tensor.Dense{"a": grad1(3), "b": grad1(4)})
	if norm != 5 {
		t.Fatalf("norm %g", norm)
	}
	c := 1 / (5 + 1e-6)
	if ma, mb := o.M["a"][0], o.M["b"][0]; math.Abs(ma-0.1*3*c) > 1e-15 || math.Abs(mb-0.1*4*c) > 1e-15 {
		t.Fatalf("moments %g %g", ma, mb)
	}
	if _, err := o.Update(s, map[string]*tensor.Dense{"a": grad1(math.NaN())}); err == nil {
		t.Fatal("NaN gradient: no error")
	}
}

// TestAdamWMinimisesQuadratic: the gradient from a compiled float64 graph
// drives AdamW to the minimum of ‖x − c‖².
func TestAdamWMinimisesQuadratic(t *testing.T) {
	s := NewStore(tensor.Float64, 3)
	b := NewBuilder(s, nil)
	target := b.Constant("c", []float64{1, -2, 3}, 3)
	x := b.Param("x", []int{3}, Zeros, 1, 1)
	loss := b.MSE(x, target)
	p, err := Compile(b, loss, true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	o := NewAdamW(0.1)
	o.WeightDecay = 0
	first, _ := p.Run()
	var last float64
	for i := 0; i < 300; i++ {
		last, _ = p.Run()
		if _, err := o.Update(s, p.Grads()); err != nil {
			t.Fatal(err)
		}
	}
	if last > first*1e-4 {
		t.Fatalf("loss %g → %g", first, last)
	}
}

// TestGlobalNormDeterministic: the norm of the same gradients has the same
// bits every time (it sums in the order of the names, not of a map's
// iteration, which Go randomises).
func TestGlobalNormDeterministic(t *testing.T) {
	grads := map[string]*tensor.Dense{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 64; i++ {
		v := make([]float64, 257)
		for k := range v {
			v[k] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-6))
		}
		grads[fmt.Sprintf("p%02d.weight", i)] = tensor.New(tensor.WithBacking(v), tensor.WithShape(len(v)))
	}
	first := GlobalNorm(grads)
	for i := 0; i < 50; i++ {
		if n := GlobalNorm(grads); math.Float64bits(n) != math.Float64bits(first) {
			t.Fatalf("run %d: %.17g, first %.17g", i, n, first)
		}
	}
}
