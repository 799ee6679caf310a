package diffusion

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestScaledLinearHandChecked(t *testing.T) {
	s := SD()
	if s.T() != 1000 || math.Abs(s.Betas[0]-0.00085) > 1e-15 || math.Abs(s.Betas[999]-0.012) > 1e-15 {
		t.Fatalf("β_0 %g β_999 %g", s.Betas[0], s.Betas[999])
	}
	if s.AlphaBars[0] != 1-0.00085 || math.Abs(s.AlphaBars[1]-(1-0.00085)*(1-s.Betas[1])) > 1e-15 {
		t.Fatalf("ᾱ_0 %g ᾱ_1 %g", s.AlphaBars[0], s.AlphaBars[1])
	}
	mid := math.Sqrt(0.00085) + (math.Sqrt(0.012)-math.Sqrt(0.00085))*500/999
	if math.Abs(s.Betas[500]-mid*mid) > 1e-15 {
		t.Fatalf("β_500 %g", s.Betas[500])
	}
	// ᾱ_999 of SD's schedule is 0.0047 (diffusers: 0.00466).
	if math.Abs(s.AlphaBars[999]-0.00466) > 2e-5 {
		t.Fatalf("ᾱ_999 %g", s.AlphaBars[999])
	}
}

func TestAddNoiseAndTargets(t *testing.T) {
	s := SD()
	x0, eps := []float32{1, -2}, []float32{0.5, 0.25}
	xt := make([]float32, 2)
	s.AddNoise(xt, x0, eps, 300)
	a, b := math.Sqrt(s.AlphaBars[300]), math.Sqrt(1-s.AlphaBars[300])
	if math.Abs(float64(xt[0])-(a*1+b*0.5)) > 1e-6 {
		t.Fatalf("x_t %v", xt)
	}
	for _, p := range []Prediction{Epsilon, V} {
		target := make([]float32, 2)
		if err := s.Target(p, target, x0, eps, 300); err != nil {
			t.Fatal(err)
		}
		// a perfect prediction splits back into x0 and ε
		gx0, geps := make([]float64, 2), make([]float64, 2)
		s.Split(p, target, xt, 300, gx0, geps)
		for i := range x0 {
			if math.Abs(gx0[i]-float64(x0[i])) > 1e-5 || math.Abs(geps[i]-float64(eps[i])) > 1e-5 {
				t.Fatalf("%s: x0 %v ε %v", p, gx0, geps)
			}
		}
	}
	if err := s.Target("x0", make([]float32, 2), x0, eps, 3); err == nil {
		t.Error("unknown prediction type accepted")
	}
}

func TestGuidanceOneIsConditional(t *testing.T) {
	cond, uncond := []float32{1, 2}, []float32{5, -1}
	if g := Guide(cond, uncond, 1); &g[0] != &cond[0] {
		t.Error("w = 1 did not return the conditional prediction")
	}
	if g := Guide(cond, uncond, 3); g[0] != 5+3*(1-5) || g[1] != -1+3*(2+1) {
		t.Errorf("w = 3: %v", g)
	}
}

func TestTimesteps(t *testing.T) {
	ts := Sampler{Schedule: SD(), Steps: 50}.Timesteps()
	if len(ts) != 50 || ts[0] != 981 || ts[49] != 1 || ts[1] != 961 {
		t.Fatalf("%v", ts)
	}
}

// oracle returns, for any x_t, the exact ε (or v) that points at x0.
func oracle(s *Schedule, p Prediction, x0 []float32) Denoiser {
	return func(x []float32, t int) ([]float32, []float32, error) {
		a, b := math.Sqrt(s.AlphaBars[t]), math.Sqrt(1-s.AlphaBars[t])
		out := make([]float32, len(x))
		for i := range x {
			eps := (float64(x[i]) - a*float64(x0[i])) / b
			if p == V {
				out[i] = float32(a*eps - b*float64(x0[i]))
			} else {
				out[i] = float32(eps)
			}
		}
		return out, out, nil
	}
}

// TestSamplersReachTheData: with a denoiser that knows x0, DDIM (η = 0 and
// η = 1) and DDPM end at x0, for ε- and v-prediction.
func TestSamplersReachTheData(t *testing.T) {
	x0 := []float32{0.7, -1.2, 0.05, 2}
	for _, p := range []Prediction{Epsilon, V} {
		for _, smp := range []Sampler{
			{Steps: 50, Guidance: 7.5},
			{Steps: 20, Guidance: 1, Eta: 1},
			{Steps: 1000, Guidance: 1, Ancestral: true},
		} {
			smp.Schedule, smp.Prediction = SD(), p
			x, err := smp.Sample(Noise(3, 4), rand.New(rand.NewPCG(1, 2)), oracle(smp.Schedule, p, x0))
			if err != nil {
				t.Fatal(err)
			}
			for i := range x {
				if math.Abs(float64(x[i]-x0[i])) > 1e-3 {
					t.Fatalf("%s %+v: got %v, want %v", p, smp, x, x0)
				}
			}
		}
	}
}

// TestSamplingIsSeeded: the same seed gives the same latents; another seed
// other ones.
func TestSamplingIsSeeded(t *testing.T) {
	model := func(x []float32, _ int) ([]float32, []float32, error) {
		out := make([]float32, len(x))
		for i := range x {
			out[i] = 0.3 * x[i]
		}
		return out, nil, nil
	}
	run := func(seed uint64) []float32 {
		s := Sampler{Schedule: SD(), Prediction: Epsilon, Steps: 10, Guidance: 1, Eta: 0.5}
		x, err := s.Sample(Noise(seed, 6), rand.New(rand.NewPCG(seed, 9)), model)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	a, b, c := run(1), run(1), run(2)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different latents")
		}
	}
	if a[0] == c[0] {
		t.Error("different seeds, same latents")
	}
}

func TestMinSNRWeightHandChecked(t *testing.T) {
	s := &Schedule{Betas: []float64{0.1, 0.4444}, AlphaBars: []float64{0.9, 0.5}} // SNR 9 and 1
	cases := []struct {
		p     Prediction
		t     int
		gamma float64
		want  float64
	}{
		{Epsilon, 0, 5, 5.0 / 9}, // capped: min(9, 5)/9
		{Epsilon, 1, 5, 1},       // below γ: SNR/SNR
		{V, 0, 5, 5.0 / 10},      // min(9, 5)/(9+1)
		{V, 1, 5, 1.0 / 2},       // 1/(1+1)
		{Epsilon, 0, 0, 1},       // off
		{V, 0, -1, 1},            // off
	}
	for _, c := range cases {
		if got := s.MinSNRWeight(c.p, c.t, c.gamma); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s t=%d γ=%g: got %g want %g", c.p, c.t, c.gamma, got, c.want)
		}
	}
	if got := s.SNR(0); math.Abs(got-9) > 1e-12 {
		t.Errorf("SNR(0) = %g, want 9", got)
	}
}
