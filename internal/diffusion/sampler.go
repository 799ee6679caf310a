package diffusion

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// Denoiser returns the network outputs (ε or v, per the schedule's
// prediction type) for the latents x at timestep t: conditioned on the
// prompt, and unconditioned (the empty prompt). uncond may be nil when
// guidance is 1.
type Denoiser func(x []float32, t int) (cond, uncond []float32, err error)

// Sampler configures a sampling run.
type Sampler struct {
	Schedule   *Schedule
	Prediction Prediction
	Steps      int     // inference steps (DDIM 50 in the paper)
	Guidance   float64 // classifier-free guidance scale w (7.5); 1 disables it
	Eta        float64 // DDIM η: 0 deterministic, 1 DDPM-like
	Ancestral  bool    // DDPM ancestral sampling instead of DDIM
	// Ctx, if set, stops a sampling loop between two steps with its error
	// (an interrupted command stops within one denoising step).
	Ctx context.Context
	// Progress, if set, is told after each denoising step how many of how
	// many are done (a command's progress display).
	Progress func(done, total int)
}

// Timesteps are the inference timesteps, descending, as diffusers' DDIM
// places them: "leading" (Stable Diffusion's) t_i = i·(T/steps) +
// steps_offset for i = steps−1 … 0; "trailing" round(T − i·T/steps) − 1;
// "linspace" round(i·(T−1)/(steps−1)).
func (s Sampler) Timesteps() []int {
	T := s.Schedule.T()
	ts := make([]int, s.Steps)
	for i := range ts {
		k := s.Steps - 1 - i
		switch s.Schedule.Spacing {
		case "trailing":
			ts[i] = int(math.RoundToEven(float64(T)-float64(i)*float64(T)/float64(s.Steps))) - 1
		case "linspace":
			if s.Steps > 1 {
				ts[i] = int(math.RoundToEven(float64(k) * float64(T-1) / float64(s.Steps-1)))
			}
		default:
			ts[i] = min(k*(T/s.Steps)+s.Schedule.StepsOffset, T-1)
		}
	}
	return ts
}

// Guide combines conditional and unconditional outputs:
// uncond + w·(cond − uncond). With w = 1 it returns cond exactly.
func Guide(cond, uncond []float32, w float64) []float32 {
	if w == 1 || uncond == nil {
		return cond
	}
	out := make([]float32, len(cond))
	for i := range out {
		out[i] = float32(float64(uncond[i]) + w*(float64(cond[i])-float64(uncond[i])))
	}
	return out
}

// Sample runs the sampler from the initial noise x (modified in place and
// returned), drawing any further noise from rng. The same x, rng state and
// denoiser give the same result.
func (s Sampler) Sample(x []float32, rng *rand.Rand, model Denoiser) ([]float32, error) {
	if s.Steps < 1 || s.Steps > s.Schedule.T() {
		return nil, fmt.Errorf("diffusion: %d steps for a %d-step schedule", s.Steps, s.Schedule.T())
	}
	ts := s.Timesteps()
	ab := s.Schedule.AlphaBars
	x0 := make([]float64, len(x))
	eps := make([]float64, len(x))
	for i, t := range ts {
		if s.Ctx != nil && s.Ctx.Err() != nil {
			return nil, s.Ctx.Err()
		}
		if i > 0 && s.Progress != nil {
			s.Progress(i, len(ts))
		}
		cond, uncond, err := model(x, t)
		if err != nil {
			return nil, err
		}
		s.Schedule.Split(s.Prediction, Guide(cond, uncond, s.Guidance), x, t, x0, eps)
		prev := t - s.Schedule.T()/s.Steps // diffusers' DDIM: the previous step is T/steps back
		if i+1 == len(ts) {
			prev = -1
		}
		aT := ab[t]
		aPrev := s.Schedule.FinalAlphaBar
		if prev >= 0 {
			aPrev = ab[prev]
		}
		if s.Ancestral {
			// posterior q(x_prev | x_t, x0): mean coefficients and variance
			beta := 1 - aT/aPrev
			c0 := math.Sqrt(aPrev) * beta / (1 - aT)
			ct := math.Sqrt(aT/aPrev) * (1 - aPrev) / (1 - aT)
			variance := beta * (1 - aPrev) / (1 - aT)
			for k := range x {
				v := c0*x0[k] + ct*float64(x[k])
				if prev >= 0 {
					v += math.Sqrt(variance) * rng.NormFloat64()
				}
				x[k] = float32(v)
			}
			continue
		}
		// DDIM: σ = η·√((1−ᾱ_prev)/(1−ᾱ_t))·√(1−ᾱ_t/ᾱ_prev)
		sigma := s.Eta * math.Sqrt((1-aPrev)/(1-aT)) * math.Sqrt(1-aT/aPrev)
		dir := math.Sqrt(math.Max(1-aPrev-sigma*sigma, 0))
		for k := range x {
			v := math.Sqrt(aPrev)*x0[k] + dir*eps[k]
			if sigma > 0 {
				v += sigma * rng.NormFloat64()
			}
			x[k] = float32(v)
		}
	}
	if s.Progress != nil {
		s.Progress(len(ts), len(ts))
	}
	return x, nil
}

// Noise returns n standard normal values from a PCG seeded by seed: the
// initial latents of a seeded generation.
func Noise(seed uint64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0xd1ff))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}
