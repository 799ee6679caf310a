package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/dreambench"
	"github.com/rpo-dev/rpo/internal/embedded"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/rpo"
	"github.com/rpo-dev/rpo/internal/world"
	"github.com/rpo-dev/rpo/prompts"
)

// TrainOptions are the options of `rpo train`.
type TrainOptions struct {
	SDFlags         `mapstructure:",squash" yaml:",inline"`
	Global          `mapstructure:",squash" yaml:",inline"`
	Subject         string        `mapstructure:"subject" yaml:"subject"`
	Refs            string        `mapstructure:"refs" yaml:"refs"`
	Token           string        `mapstructure:"token" yaml:"token"`
	Kind            string        `mapstructure:"kind" yaml:"kind"`
	OutDir          string        `mapstructure:"out" yaml:"out"`
	Model           string        `mapstructure:"model" yaml:"model"`
	RewardModel     string        `mapstructure:"reward_model" yaml:"reward_model"`
	Steps           int           `mapstructure:"steps" yaml:"steps"`
	LR              float64       `mapstructure:"lr" yaml:"lr"`
	Beta            float64       `mapstructure:"beta" yaml:"beta"`
	LambdaTrain     float64       `mapstructure:"lambda_train" yaml:"lambda_train"`
	LambdaVal       float64       `mapstructure:"lambda_val" yaml:"lambda_val"`
	ValEvery        int           `mapstructure:"val_every" yaml:"val_every"`
	ValPerPrompt    int           `mapstructure:"val_per_prompt" yaml:"val_per_prompt"`
	ValSteps        int           `mapstructure:"val_steps" yaml:"val_steps"`
	NegPerPrompt    int           `mapstructure:"negatives_per_prompt" yaml:"negatives_per_prompt"`
	NegSteps        int           `mapstructure:"negative_steps" yaml:"negative_steps"`
	NegativesCache  string        `mapstructure:"negatives_cache" yaml:"negatives_cache"`
	Guidance        float64       `mapstructure:"guidance" yaml:"guidance"`
	Loss            string        `mapstructure:"loss" yaml:"loss"`
	Select          string        `mapstructure:"select" yaml:"select"`
	LabelMode       string        `mapstructure:"label_mode" yaml:"label_mode"`
	SharedNoise     bool          `mapstructure:"shared_noise" yaml:"shared_noise"`
	OnlineEvery     int           `mapstructure:"online_every" yaml:"online_every"`
	Prior           bool          `mapstructure:"prior_preservation" yaml:"prior_preservation"`
	PriorWeight     float64       `mapstructure:"prior_weight" yaml:"prior_weight"`
	ClassImages     int           `mapstructure:"class_images" yaml:"class_images"`
	Patience        int           `mapstructure:"patience" yaml:"patience"`
	MinDelta        float64       `mapstructure:"min_delta" yaml:"min_delta"`
	KeepBase        bool          `mapstructure:"keep_base" yaml:"keep_base"`
	Seed            uint64        `mapstructure:"seed" yaml:"seed"`
	CheckpointEvery time.Duration `mapstructure:"checkpoint_every" yaml:"checkpoint_every"`
	Resume          bool          `mapstructure:"resume" yaml:"resume"`
	Force           bool          `mapstructure:"force" yaml:"force"`
	LoRARank        int           `mapstructure:"lora_rank" yaml:"lora_rank"`
	LoRAAlpha       float64       `mapstructure:"lora_alpha" yaml:"lora_alpha"`
	LoRATargets     string        `mapstructure:"lora_targets" yaml:"lora_targets"`
}

// lora is the --lora-* options as the trainer's adapters (nil: full fine-tuning).
func (o *TrainOptions) lora() *nn.LoRA {
	if o.LoRARank == 0 {
		return nil
	}
	var targets []string
	for _, t := range strings.Split(o.LoRATargets, ",") {
		if t = strings.TrimSpace(t); t != "" {
			targets = append(targets, t)
		}
	}
	l := rpo.DefaultLoRA()
	l.Rank, l.Alpha, l.Targets = o.LoRARank, o.LoRAAlpha, targets
	return &l
}

// NewTrainCmd builds `rpo train`.
func NewTrainCmd(run func(context.Context, *TrainOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train --subject CLASS --refs DIR",
		Short: "Fine-tune the model on a subject with Reward Preference Optimization",
		Long: `Fine-tune the text-to-image model on a few photos of a subject with RPO: the
frozen base model samples negatives for 8 training prompts, the reward model
scores references and negatives, each step draws a (reference, negative) pair
and a Bradley–Terry label, and the U-Net minimises L_sim + L_pref against a frozen
copy of itself. Every --val-every steps the run samples fixed-noise validation
images and keeps the weights the selection rules choose (--select). The base
model is validated first, at step 0: its reward is the baseline that the
output compares the kept weights with (--keep-base makes it a candidate).

The run directory holds run.yaml, negatives/, rewards.json, val/step-NNNN/,
checkpoints/ (resume with --resume), one model directory per selection rule
(best@0.5/, last/, ...) that rpo generate --model loads, and metrics.jsonl.`,
		Example: `  rpo train --subject dog --refs ./imgs --model base/ --reward-model align-mini/
  rpo train --config configs/ablation-sim.yaml --subject backpack --refs ./bag --model base/ --reward-model align-mini/
  rpo train --out runs/dog --resume      # continue a run from its directory alone`,
		Args: cobra.NoArgs,
		RunE: runE(run),
	}
	f := cmd.Flags()
	addSDFlags(f)
	d := rpo.DefaultOptions()
	f.String("subject", "", `the subject's class noun ("dog", "stuffed animal") or a DreamBench folder name ("dog2", "backpack_dog")`)
	f.String("refs", "", "directory of the subject's reference images (.png, .jpg)")
	f.String("token", d.Token, "unique identifier token of the subject")
	f.String("kind", "auto", "auto, object or live (auto: live for dog and cat); chooses the training prompts")
	f.String("out", "", "run directory (default runs/<subject>)")
	f.String("model", "", "base text-to-image model directory (default: the embedded model)")
	f.String("reward-model", "", "align-mini model directory (default: the embedded align-mini)")
	f.Int("steps", d.Steps, "training steps")
	f.Float64("lr", d.LR, "AdamW learning rate (the paper's 5e-6 is for Stable Diffusion)")
	f.Float64("beta", d.Beta, "β of the preference margin")
	f.Float64("lambda-train", d.LambdaTrain, "λ of the reward that makes training labels")
	f.Float64("lambda-val", rpo.DefaultLambdaVal, "λ of the validation reward (the default of --select best)")
	f.Int("val-every", d.ValEvery, "validation interval in steps")
	f.Int("val-per-prompt", d.ValPerPrompt, "validation images per training prompt")
	f.Int("val-steps", d.ValSampler.Steps, "DDIM steps of validation samples")
	f.Int("negatives-per-prompt", d.NegPerPrompt, "negatives K per training prompt")
	f.Int("negative-steps", d.NegSampler.Steps, "DDIM steps of the negatives")
	f.String("negatives-cache", "", "directory caching negatives across runs (default: the run's negatives/)")
	f.Float64("guidance", d.ValSampler.Guidance, "classifier-free guidance of negatives and validation samples")
	f.String("loss", "rpo", "rpo (L_sim + L_pref), sim (L_sim only) or pref (L_pref only)")
	f.String("select", "best", "checkpoint selection rules: best, best@λ (r_λ), best-mean@λ (λ·ALIGN-I + (1−λ)·ALIGN-T), last, comma-separated")
	f.String("label-mode", string(d.LabelMode), "bernoulli (y ~ Bernoulli(p)) or expected (y = p)")
	f.Bool("shared-noise", false, "share noise and timestep between the pair's images (Diffusion-DPO)")
	f.Int("online-every", 0, "online RPO: sample the negatives again from the current policy every this many steps, rewards and labels with them (0: offline, the paper)")
	f.Int("lora-rank", 0, fmt.Sprintf("train rank-r LoRA adapters on the U-Net's attention projections instead of every weight (0: full fine-tuning; diffusers' DreamBooth-LoRA uses %d)", rpo.DefaultLoRA().Rank))
	f.Float64("lora-alpha", 0, "LoRA α: the adapters are scaled by α/r (default: the rank, scale 1)")
	f.String("lora-targets", strings.Join(rpo.DefaultLoRA().Targets, ","), "the Linear layers that get adapters, by their last name parts")
	f.Bool("prior-preservation", false, "add DreamBooth's prior-preservation loss on class images of the base model (the baseline)")
	f.Float64("prior-weight", 1, "weight of the prior-preservation loss")
	f.Int("class-images", d.ClassImages, "class images (\"a photo of <class>\") for prior preservation")
	f.Int("patience", 0, "stop after this many validations without improvement (0: run to the last step)")
	f.Float64("min-delta", 0, "an improvement of the validation reward must exceed this")
	f.Bool("keep-base", false, "let best@λ keep the base model's weights (step 0) when no fine-tuned weights score higher (default: they choose among fine-tuned weights, as the reference code does)")
	f.Uint64("seed", 0, "seed of negatives, pairs, labels and noise")
	f.Duration("checkpoint-every", d.CheckpointEvery, "checkpoint interval between validations")
	f.Bool("resume", false, "continue the run in --out from its checkpoint")
	f.Bool("force", false, "write into an existing run directory")
	return cmd
}

// subjectClass maps a class noun or a DreamBench folder name to its class.
func subjectClass(subject string) (string, error) {
	if world.ClassByName(subject) != nil {
		return subject, nil
	}
	p, err := dreambench.ParsePrompts(strings.NewReader(prompts.DreamBench), "prompts_and_classes.txt")
	if err != nil {
		return "", err
	}
	for _, sc := range p.Classes {
		if sc.Subject == subject {
			return sc.Class, nil
		}
	}
	names := make([]string, len(world.Classes))
	for i, c := range world.Classes {
		names[i] = c.Name
	}
	return "", fmt.Errorf("--subject %q is neither a class (%s) nor a DreamBench subject name", subject, strings.Join(names, ", "))
}

// checkTrainOptions refuses out-of-range options before any work, with one
// line per bad flag.
func checkTrainOptions(o *TrainOptions) error {
	var bad badOptions
	bad.atLeastOne("--steps", o.Steps)
	bad.atLeastOne("--val-every", o.ValEvery)
	bad.atLeastOne("--val-per-prompt", o.ValPerPrompt)
	bad.atLeastOne("--val-steps", o.ValSteps)
	bad.atLeastOne("--negatives-per-prompt", o.NegPerPrompt)
	bad.atLeastOne("--negative-steps", o.NegSteps)
	bad.check(o.ValEvery <= o.Steps || o.Steps < 1, "--val-every %d: must not exceed --steps %d", o.ValEvery, o.Steps)
	bad.check(o.LR > 0, "--lr %g: must be positive", o.LR)
	bad.check(o.Beta > 0, "--beta %g: must be positive", o.Beta)
	bad.unit("--lambda-train", o.LambdaTrain)
	bad.unit("--lambda-val", o.LambdaVal)
	bad.check(o.Guidance >= 1, "--guidance %g: must be at least 1 (1: no guidance)", o.Guidance)
	bad.check(o.Patience >= 0, "--patience %d: must not be negative", o.Patience)
	bad.check(o.MinDelta >= 0, "--min-delta %g: must not be negative", o.MinDelta)
	bad.check(!o.Prior || o.ClassImages >= 1, "--class-images %d: prior preservation needs at least 1", o.ClassImages)
	bad.check(!o.Prior || o.PriorWeight > 0, "--prior-weight %g: must be positive", o.PriorWeight)
	bad.check(o.LoRARank >= 0, "--lora-rank %d: must not be negative", o.LoRARank)
	bad.check(o.OnlineEvery >= 0, "--online-every %d: must not be negative", o.OnlineEvery)
	bad.check(o.LoRAAlpha >= 0, "--lora-alpha %g: must not be negative", o.LoRAAlpha)
	bad.check(o.LoRARank == 0 || strings.Trim(o.LoRATargets, ", ") != "", "--lora-targets: name at least one layer")
	return bad.err("rpo train")
}

// RunTrain runs `rpo train`.
func RunTrain(ctx context.Context, o *TrainOptions) error {
	if o.Subject == "" || o.Refs == "" {
		return fmt.Errorf("--subject and --refs are required")
	}
	class, err := subjectClass(o.Subject)
	if err != nil {
		return err
	}
	live := dreambench.IsLive(class)
	switch o.Kind {
	case "auto":
	case "live":
		live = true
	case "object":
		live = false
	default:
		return fmt.Errorf("--kind %q is not auto, object or live", o.Kind)
	}
	if o.OutDir == "" {
		o.OutDir = filepath.Join("runs", o.Subject)
	}
	if holdsRun(o.OutDir) && !o.Resume && !o.Force {
		return fmt.Errorf("%s already holds a run: continue it with --resume, or overwrite with --force", o.OutDir)
	}
	loss, err := rpo.ParseLoss(o.Loss)
	if err != nil {
		return err
	}
	rules, err := rpo.ParseRules(o.Select, o.LambdaVal)
	if err != nil {
		return err
	}
	if o.Prior {
		loss.Prior = o.PriorWeight
	}
	mode, err := rpo.ParseLabelMode(o.LabelMode)
	if err != nil {
		return err
	}
	if err := checkTrainOptions(o); err != nil {
		return err
	}
	base, baseID, baseLabel, err := openT2I(o.Model, o.SDFlags.options())
	if err != nil {
		return err
	}
	defer base.Close()
	refs, err := loadRefs(o.Refs, base.Config.Resolution, o.Logger, base.Config.SD == nil) // at the base model's resolution, as rpo eval loads them
	if err != nil {
		return err
	}
	rm, _, err := openEncoder(o.RewardModel, embedded.AlignMini)
	if err != nil {
		return err
	}
	defer rm.Close()
	if base.Config.SD != nil && o.RewardModel == "" {
		o.Logger.Warn("the reward model is the embedded align-mini, trained on rpo's 64×64 procedural world: on photos its ALIGN-I and ALIGN-T " +
			"are weak signals, and so are the preference labels and the checkpoint selection they drive (L_sim is unaffected); " +
			"real ALIGN or CLIP encoders cannot be loaded yet")
	}
	rewardID, err := modelID(o.RewardModel, embedded.AlignMini)
	if err != nil {
		return err
	}
	ps := rpo.TrainingPrompts(class, o.Token, live)
	if _, unknown, _ := base.Tokenizer.Encode(o.Token); len(unknown) > 0 {
		o.Logger.Warn("the token is not one of the model's reserved identifiers; it is encoded as <unk>", "token", o.Token)
	}
	lock, err := lockRunDir(o.OutDir, o.Logger)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if o.Force && !o.Resume {
		// a new run: its metrics and checkpoint start empty (the negatives
		// cache stays; it is keyed by model, prompt, seed and sampler)
		for _, name := range []string{"metrics.jsonl", "checkpoints", "val"} {
			if err := os.RemoveAll(filepath.Join(o.OutDir, name)); err != nil {
				return err
			}
		}
	}
	b := ReadBuildInfo()
	o.Refs, o.Model, o.RewardModel, o.NegativesCache = absPath(o.Refs), absPath(o.Model), absPath(o.RewardModel), absPath(o.NegativesCache)
	if err := recordRun(o.OutDir, o, o.Resume, fmt.Sprintf("class: %s\nlive: %v\nversion: %s\ncommit: %s\nbase_model_id: %s\n", class, live, b.Version, b.Commit, baseID)); err != nil {
		return err
	}
	neg := diffusion.Sampler{Steps: o.NegSteps, Guidance: o.Guidance, Progress: NewPhase(o.Err, o.Logger, "negatives").Report}
	prog := NewRunProgress(o.Err, o.Logger, "rpo train", o.Steps, 10)
	val := diffusion.Sampler{Steps: o.ValSteps, Guidance: o.Guidance, Progress: NewPhase(o.Err, o.Logger, "validation").Beside(func() *Progress { return prog }).Report}
	clock := NewRunClock(o.Steps, o.ValEvery)
	o.Logger.Info("preparing negatives and rewards", "prompts", len(ps), "negatives_per_prompt", o.NegPerPrompt)
	res, err := rpo.Train(ctx, rpo.Options{
		Out: o.OutDir, Class: class, Token: o.Token, Refs: refs, Prompts: ps, Base: base, BaseID: baseID, BaseDir: baseLabel,
		Reward: rm, RewardID: rewardID, Steps: o.Steps, LR: o.LR, Beta: o.Beta, LambdaTrain: o.LambdaTrain, Rules: rules,
		ValEvery: o.ValEvery, ValPerPrompt: o.ValPerPrompt, ValSampler: val, NegPerPrompt: o.NegPerPrompt, NegSampler: neg,
		NegativesCache: o.NegativesCache, ClassImages: o.ClassImages, Seed: o.Seed, LabelMode: mode, Loss: loss, SharedNoise: o.SharedNoise, OnlineEvery: o.OnlineEvery,
		Stopper: rpo.EarlyStopper{Patience: o.Patience, MinDelta: o.MinDelta}, KeepBase: o.KeepBase, CheckpointEvery: o.CheckpointEvery,
		Resume: o.Resume, Version: Version, LoRA: o.lora(),
	}, func(e rpo.StepEvent) {
		status := fmt.Sprintf("L_sim %.4f L_pref %.4f", e.LSim, e.LPref)
		if left := clock.Step(e.Step); left > 0 {
			status += fmt.Sprintf(", about %v left with validations", left.Round(time.Second))
		}
		prog.Step(e.Step, status, "l_sim", e.LSim, "l_pref", e.LPref, "delta", e.Delta, "y", e.Y, "p", e.P)
	}, func(v rpo.ValidationEvent) {
		clock.Validated()
		o.Logger.Info("validation", "step", v.Step, "reward", v.Reward, "kept", strings.Join(v.Kept, ","))
	})
	prog.Close()
	if errors.Is(err, context.Canceled) {
		saved := "before the first checkpoint: a resume starts over"
		if res.Saved >= 0 {
			saved = fmt.Sprintf("the checkpoint of step %d is kept", res.Saved)
		}
		fmt.Fprintf(o.Err, "interrupted at step %d; %s. %s", res.Steps, saved, resumeHint("rpo train", o.OutDir))
		return err
	}
	if err != nil {
		return err
	}
	names := make([]string, 0, len(res.BestStep))
	for n := range res.BestStep {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(o.Out, "%s: step %d", n, res.BestStep[n])
		if best, ok := res.Best[n]; ok { // a best@λ rule (last has no λ)
			fmt.Fprintf(o.Out, " (reward %.4f", best)
			if base, ok := res.Base[n]; ok {
				fmt.Fprintf(o.Out, "; base model %.4f", base)
			}
			fmt.Fprint(o.Out, ")")
		}
		fmt.Fprintf(o.Out, " → %s\n", filepath.Join(o.OutDir, n))
		if base, ok := res.Base[n]; ok && res.Best[n] < base {
			o.Logger.Warn("no fine-tuned weights scored above the base model on the validation reward; the kept weights are the best fine-tuned ones (--keep-base keeps the base model instead)", "rule", n, "kept", res.Best[n], "base", base)
		}
	}
	fmt.Fprintf(o.Out, "rpo train: %d steps; negatives and rewards %.0fs, steps %.0fs, validations %.0fs", res.Steps, res.Timing["negatives_and_rewards"], res.Timing["steps"], res.Timing["validations"])
	if beside := res.Timing["validations_beside"]; beside >= 0.5 {
		fmt.Fprintf(o.Out, " (%.0fs of them beside the steps)", beside)
	}
	fmt.Fprintln(o.Out)
	return nil
}
