package rpo

import (
	"time"

	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/dreambench"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/prompts"
)

// DefaultOptions are the defaults of an RPO run on the embedded model, in
// one place: RPO.md §4 with the learning rate scaled for the embedded
// U-Net (the paper's 5e-6 is for Stable Diffusion). rpo train's and rpo
// eval's flags take their defaults from here.
func DefaultOptions() Options {
	return Options{
		Token: "sks", Steps: 400, LR: 5e-5, Beta: 1, LambdaTrain: 0,
		ValEvery: 40, ValPerPrompt: 4, ValSampler: diffusion.Sampler{Steps: 25, Guidance: 7.5},
		NegPerPrompt: 4, NegSampler: diffusion.Sampler{Steps: 50, Guidance: 7.5},
		ClassImages: 16, LabelMode: Bernoulli, Loss: LossWeights{Sim: 1, Pref: 1},
		CheckpointEvery: 2 * time.Minute,
	}
}

// DefaultLambdaVal is λ_val of the default selection rule best@0.5.
const DefaultLambdaVal = 0.5

// TrainingPrompts are the 8 training prompts c_gen of a subject (RPO.md §4):
// the live-subject templates for a dog or cat, the object ones otherwise,
// with the token and class filled in.
func TrainingPrompts(class, token string, live bool) []string {
	tpl := prompts.TrainObject()
	if live {
		tpl = prompts.TrainLive()
	}
	ps := make([]string, len(tpl))
	for i, t := range tpl {
		ps[i] = dreambench.Format(t, token, class)
	}
	return ps
}

// DefaultLoRA is LoRA-RPO's adapters as diffusers' DreamBooth-LoRA script
// makes them: rank 4, α = rank, on the U-Net's attention projections.
func DefaultLoRA() nn.LoRA {
	return nn.LoRA{Rank: 4, Targets: []string{"to_q", "to_k", "to_v", "to_out.0"}, Under: "unet."}
}
