// Package diffusion is the math of denoising diffusion: the noise schedule,
// the forward process q(x_t | x_0), training targets for ε- and
// v-prediction, and the DDIM and DDPM ancestral samplers with
// classifier-free guidance. It knows nothing of networks: a sampler calls a
// Denoiser.
package diffusion

import (
	"fmt"
	"math"
)

// Prediction is what a network predicts.
type Prediction string

// The predictions.
const (
	Epsilon Prediction = "epsilon"      // ε (Stable Diffusion 1.x)
	V       Prediction = "v_prediction" // v = √ᾱ_t·ε − √(1−ᾱ_t)·x_0 (SD 2.x)
)

// Schedule is a discrete noise schedule of T steps.
type Schedule struct {
	Betas     []float64 // β_t
	AlphaBars []float64 // ᾱ_t = Π_{s≤t} (1 − β_s)
}

// ScaledLinear is Stable Diffusion's schedule: β_t linear in √β from
// √betaStart to √betaEnd over T steps (SD: 0.00085, 0.012, 1000).
func ScaledLinear(T int, betaStart, betaEnd float64) *Schedule {
	s := &Schedule{Betas: make([]float64, T), AlphaBars: make([]float64, T)}
	a, b := math.Sqrt(betaStart), math.Sqrt(betaEnd)
	prod := 1.0
	for t := 0; t < T; t++ {
		r := a
		if T > 1 {
			r = a + (b-a)*float64(t)/float64(T-1)
		}
		s.Betas[t] = r * r
		prod *= 1 - s.Betas[t]
		s.AlphaBars[t] = prod
	}
	return s
}

// SD is ScaledLinear(1000, 0.00085, 0.012).
func SD() *Schedule { return ScaledLinear(1000, 0.00085, 0.012) }

// T is the number of training timesteps.
func (s *Schedule) T() int { return len(s.Betas) }

// AddNoise writes x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε into xt.
func (s *Schedule) AddNoise(xt, x0, eps []float32, t int) {
	a, b := math.Sqrt(s.AlphaBars[t]), math.Sqrt(1-s.AlphaBars[t])
	for i := range xt {
		xt[i] = float32(a*float64(x0[i]) + b*float64(eps[i]))
	}
}

// Target writes the training target of a prediction type into dst:
// ε, or v = √ᾱ_t·ε − √(1−ᾱ_t)·x0.
func (s *Schedule) Target(p Prediction, dst, x0, eps []float32, t int) error {
	switch p {
	case Epsilon:
		copy(dst, eps)
	case V:
		a, b := math.Sqrt(s.AlphaBars[t]), math.Sqrt(1-s.AlphaBars[t])
		for i := range dst {
			dst[i] = float32(a*float64(eps[i]) - b*float64(x0[i]))
		}
	default:
		return fmt.Errorf("diffusion: unknown prediction type %q", p)
	}
	return nil
}

// SNR is the signal-to-noise ratio of step t: ᾱ_t / (1 − ᾱ_t).
func (s *Schedule) SNR(t int) float64 { return s.AlphaBars[t] / (1 - s.AlphaBars[t]) }

// MinSNRWeight is the loss weight of step t under Min-SNR-γ weighting (Hang
// et al. 2023, as diffusers' --snr_gamma computes it): min(SNR_t, γ)/SNR_t
// for ε-prediction and min(SNR_t, γ)/(SNR_t + 1) for v-prediction. It caps
// the weight of the nearly noise-free steps, whose ε-loss is large and is
// about fine texture, so that the high-noise steps, where layout and shape
// form, get their share. γ ≤ 0 turns it off (weight 1).
func (s *Schedule) MinSNRWeight(p Prediction, t int, gamma float64) float64 {
	if gamma <= 0 {
		return 1
	}
	snr := s.SNR(t)
	if p == V {
		return math.Min(snr, gamma) / (snr + 1)
	}
	return math.Min(snr, gamma) / snr
}

// Split turns a network output at x_t into the predicted x0 and ε:
//
//	ε-prediction: x0 = (x_t − √(1−ᾱ)·ε)/√ᾱ
//	v-prediction: x0 = √ᾱ·x_t − √(1−ᾱ)·v,  ε = √(1−ᾱ)·x_t + √ᾱ·v
func (s *Schedule) Split(p Prediction, out, xt []float32, t int, x0, eps []float64) {
	a, b := math.Sqrt(s.AlphaBars[t]), math.Sqrt(1-s.AlphaBars[t])
	for i := range out {
		o, x := float64(out[i]), float64(xt[i])
		if p == V {
			x0[i] = a*x - b*o
			eps[i] = b*x + a*o
		} else {
			eps[i] = o
			x0[i] = (x - b*o) / a
		}
	}
}
