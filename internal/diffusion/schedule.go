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
	// FinalAlphaBar is the ᾱ a sampler's last step goes to: 1
	// (set_alpha_to_one) or ᾱ_0 (Stable Diffusion's DDIM config).
	FinalAlphaBar float64
	// Spacing and StepsOffset place the inference timesteps (diffusers'
	// timestep_spacing "leading", "trailing" or "linspace", and steps_offset).
	Spacing     string
	StepsOffset int
}

// ScaledLinear is Stable Diffusion's schedule: β_t linear in √β from
// √betaStart to √betaEnd over T steps (SD: 0.00085, 0.012, 1000).
func ScaledLinear(T int, betaStart, betaEnd float64) *Schedule {
	s := &Schedule{Betas: make([]float64, T), AlphaBars: make([]float64, T), FinalAlphaBar: 1, Spacing: "leading", StepsOffset: 1}
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

// SchedulerConfig is diffusers' scheduler_config.json in the part rpo
// reads: the noise schedule, the prediction type and where the DDIM steps
// fall. rpo samples with DDIM whatever the class (the paper's sampler);
// PNDMScheduler, EulerDiscreteScheduler and the like share these fields.
type SchedulerConfig struct {
	Class           string    `json:"_class_name"`
	NumTrainSteps   int       `json:"num_train_timesteps"`
	BetaStart       float64   `json:"beta_start"`
	BetaEnd         float64   `json:"beta_end"`
	BetaSchedule    string    `json:"beta_schedule"`
	TrainedBetas    []float64 `json:"trained_betas"`
	PredictionType  string    `json:"prediction_type"`
	SetAlphaToOne   *bool     `json:"set_alpha_to_one"`
	StepsOffset     int       `json:"steps_offset"`
	TimestepSpacing string    `json:"timestep_spacing"`
	ClipSample      bool      `json:"clip_sample"`
	Thresholding    bool      `json:"thresholding"`
	RescaleZeroSNR  bool      `json:"rescale_betas_zero_snr"`
}

// Validate fills diffusers' defaults and refuses what rpo does not do.
func (c *SchedulerConfig) Validate() error {
	if c.NumTrainSteps == 0 {
		c.NumTrainSteps = 1000
	}
	if c.BetaStart == 0 {
		c.BetaStart = 0.0001
	}
	if c.BetaEnd == 0 {
		c.BetaEnd = 0.02
	}
	if c.BetaSchedule == "" {
		c.BetaSchedule = "linear"
	}
	if c.PredictionType == "" {
		c.PredictionType = string(Epsilon)
	}
	if c.TimestepSpacing == "" {
		c.TimestepSpacing = "leading"
	}
	switch {
	case c.NumTrainSteps < 2:
		return fmt.Errorf("num_train_timesteps %d must be at least 2", c.NumTrainSteps)
	case c.TrainedBetas != nil:
		return fmt.Errorf("trained_betas is not supported")
	case c.BetaSchedule != "linear" && c.BetaSchedule != "scaled_linear":
		return fmt.Errorf("beta_schedule %q is not supported (linear or scaled_linear)", c.BetaSchedule)
	case !(0 < c.BetaStart && c.BetaStart < c.BetaEnd && c.BetaEnd < 1):
		return fmt.Errorf("beta_start %g and beta_end %g must satisfy 0 < start < end < 1", c.BetaStart, c.BetaEnd)
	case c.PredictionType != string(Epsilon) && c.PredictionType != string(V):
		return fmt.Errorf("prediction_type %q is not supported (epsilon or v_prediction)", c.PredictionType)
	case c.TimestepSpacing != "leading" && c.TimestepSpacing != "trailing" && c.TimestepSpacing != "linspace":
		return fmt.Errorf("timestep_spacing %q is not supported", c.TimestepSpacing)
	case c.ClipSample || c.Thresholding || c.RescaleZeroSNR:
		return fmt.Errorf("clip_sample, thresholding and rescale_betas_zero_snr are not supported")
	}
	return nil
}

// Prediction is the model's prediction type.
func (c *SchedulerConfig) Prediction() Prediction { return Prediction(c.PredictionType) }

// Schedule builds the noise schedule: betas linear in β ("linear") or in
// √β ("scaled_linear"), computed in float32 as torch does.
func (c *SchedulerConfig) Schedule() *Schedule {
	T := c.NumTrainSteps
	s := &Schedule{Betas: make([]float64, T), AlphaBars: make([]float64, T), Spacing: c.TimestepSpacing, StepsOffset: c.StepsOffset}
	a, b := c.BetaStart, c.BetaEnd
	if c.BetaSchedule == "scaled_linear" {
		a, b = math.Sqrt(a), math.Sqrt(b)
	}
	prod := float32(1)
	for t := 0; t < T; t++ {
		r := float32(a + (b-a)*float64(t)/float64(T-1))
		if c.BetaSchedule == "scaled_linear" {
			r *= r
		}
		s.Betas[t] = float64(r)
		prod *= 1 - r
		s.AlphaBars[t] = float64(prod)
	}
	s.FinalAlphaBar = s.AlphaBars[0]
	if c.SetAlphaToOne == nil || *c.SetAlphaToOne {
		s.FinalAlphaBar = 1
	}
	return s
}
