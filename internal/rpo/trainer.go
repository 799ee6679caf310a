package rpo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	G "gorgonia.org/gorgonia"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/reward"
	"github.com/rpo-dev/rpo/internal/train"
)

// Options configure one RPO fine-tuning run (RPO.md §4; defaults in the CLI).
type Options struct {
	Out            string
	Class, Token   string
	Refs           []*image.RGBA // the subject's reference images, at the model's resolution
	Prompts        []string      // the 8 training prompts c_gen, with the token
	Base           *models.T2I   // the frozen base model
	BaseID         string        // identifies the base weights (negatives cache key)
	BaseDir        string
	Reward         *models.Encoder // align-mini
	RewardID       string          // identifies the reward weights (ModelID), recorded for --resume
	Steps          int
	LR             float64
	Beta           float64
	LambdaTrain    float64
	Rules          []Rule
	ValEvery       int
	ValPerPrompt   int
	ValSampler     diffusion.Sampler
	NegPerPrompt   int
	NegSampler     diffusion.Sampler
	NegativesCache string
	ClassImages    int // DreamBooth's prior preservation: class images from the base model (Loss.Prior > 0)
	Seed           uint64
	LabelMode      LabelMode
	Loss           LossWeights
	SharedNoise    bool
	Stopper        EarlyStopper
	// KeepBase makes the base model's weights (step 0) a candidate of the
	// best@λ rules. Off by default, as in the reference code, whose
	// validations start after the first training steps: the base model's
	// reward is then a baseline that Result.Base reports.
	KeepBase        bool
	CheckpointEvery time.Duration
	Resume          bool
	Version         string
	// OnlineEvery, when positive, makes RPO online (the paper's future
	// work): every OnlineEvery steps the negatives are sampled again from
	// the current policy (same prompts and count, seeds offset by the step),
	// and their rewards and so the labels are computed again. Each refresh
	// is cached in the run's online/ directory, so a resumed run finds the
	// negatives its policy drew before the interrupt.
	OnlineEvery int
	// LoRA, when set, trains low-rank adapters on the U-Net's attention
	// projections instead of every weight: the policy shares the base's
	// tensors, the frozen reference of L_pref is the base with the adapters
	// off, and AdamW's moments and the checkpoints hold the adapters only.
	LoRA *nn.LoRA
	// ValidateBetween runs every validation between the steps, as online
	// runs and runs without memory for a copy of the policy do, instead of
	// beside the steps that follow it (train.Loop's Overlap). The results
	// are the same either way.
	ValidateBetween bool
}

// resumeOptions are the options that make a run what it is, under their
// flag names: a checkpoint records them, and --resume refuses to continue
// it under others (only the step budget may grow). The references are
// recorded by a digest of their pixels, the base and reward models by their
// ids.
func (o Options) resumeOptions() map[string]any {
	h := sha256.New()
	for _, r := range o.Refs {
		h.Write(r.Pix)
	}
	rules := make([]string, len(o.Rules))
	for i, r := range o.Rules {
		rules[i] = r.Name()
	}
	slices.Sort(rules) // a set: rpo eval puts the row's own rule first
	m := map[string]any{
		"subject": o.Class, "token": o.Token, "prompts": o.Prompts, "refs": hex.EncodeToString(h.Sum(nil))[:16],
		"model": o.BaseID, "reward_model": o.RewardID, "steps": o.Steps, "lr": o.LR, "beta": o.Beta, "lambda_train": o.LambdaTrain,
		"select": strings.Join(rules, ","), "val_every": o.ValEvery, "val_per_prompt": o.ValPerPrompt,
		"val_steps": o.ValSampler.Steps, "guidance": o.ValSampler.Guidance, "negatives_per_prompt": o.NegPerPrompt,
		"negative_steps": o.NegSampler.Steps, "class_images": o.ClassImages, "seed": o.Seed,
		"label_mode": string(o.LabelMode), "loss": fmt.Sprintf("sim %g, pref %g, prior %g", o.Loss.Sim, o.Loss.Pref, o.Loss.Prior),
		"shared_noise": o.SharedNoise, "patience": o.Stopper.Patience, "min_delta": o.Stopper.MinDelta,
		"keep_base": o.KeepBase, "lora": loraKey(o.LoRA),
	}
	if o.OnlineEvery > 0 { // absent for offline runs: their checkpoints predate it
		m["online_every"] = o.OnlineEvery
	}
	return m
}

func loraNote(l *nn.LoRA) string {
	if l == nil {
		return ""
	}
	return "; LoRA " + loraKey(l)
}

func loraKey(l *nn.LoRA) string {
	if l == nil {
		return ""
	}
	return fmt.Sprintf("rank %d, alpha %g, %s", l.Rank, l.Alpha, strings.Join(l.Targets, ","))
}

// InstancePrompt is c_inst = "a photo of [V] <class>".
func InstancePrompt(token, class string) string { return "a photo of " + token + " " + class }

// StepEvent reports a training step; ValidationEvent a validation.
type StepEvent struct {
	Step     int     `json:"step"`
	LSim     float64 `json:"l_sim"`
	LPref    float64 `json:"l_pref"`
	Delta    float64 `json:"delta"`
	Y        float64 `json:"y"`
	P        float64 `json:"p"`
	LR       float64 `json:"lr"`
	GradNorm float64 `json:"grad_norm"`
	Loss     float64 `json:"loss"`
}

// ValidationEvent is one validation: the mean ALIGN-I, ALIGN-T and r_λ per
// prompt and overall, for each λ of the selection rules.
type ValidationEvent struct {
	Step   int                `json:"step"`
	AlignI map[string]float64 `json:"align_i"` // by prompt (token removed)
	AlignT map[string]float64 `json:"align_t"`
	Reward map[string]float64 `json:"reward"`         // mean r_λ by λ ("0.5")
	Kept   []string           `json:"kept,omitempty"` // rules whose weights became this step's
	Stop   bool               `json:"stop,omitempty"`
}

// Result is what a run ends with.
type Result struct {
	Steps    int
	Saved    int  // the step of the newest checkpoint, -1 if none
	Stopped  bool // by early stopping
	Best     map[string]float64
	BestStep map[string]int
	// Base is the base model's validation reward by best@λ rule, when it
	// was not a candidate (Options.KeepBase off).
	Base   map[string]float64
	Timing map[string]float64 // seconds: negatives, steps, validations (of every sitting)
	// Resumed is the seconds the earlier sittings of a resumed run had
	// spent up to its checkpoint (their part of Timing).
	Resumed float64
}

const stage = "rpo"

// trainer holds a run's state.
type trainer struct {
	o                Options
	cfg              models.T2IConfig
	policy           *nn.Store
	refProg, polProg *nn.Program
	refIn, polIn     *models.DenoiseBatch
	refOut           G.Value
	obj              *Objective
	opt              *nn.AdamW
	negs             []Negative
	negPrompt        []int          // prompt index of each negative
	negImgs          []*image.RGBA  // the negatives, decoded
	refLat, negLat   []float32      // latents, per image contiguous
	classLat         []float32      // prior-preservation class images' latents
	rows             int            // images per step: 2, or 3 with a class image
	instIDs          []int          // token ids of c_inst
	classIDs         []int          // token ids of the class prompt
	negIDs           [][]int        // token ids of each negative's c_gen
	rRef             [][]float64    // [ref][prompt] r_λtrain
	rGen             []float64      // [negative] r_λtrain
	scorer           *reward.Scorer // r_λ against the references and the training prompts
	selector         *Selector
	stopper          EarlyStopper
}

// Train runs RPO and writes the run directory (see the CLI for its layout).
func Train(ctx context.Context, o Options, onStep func(StepEvent), onVal func(ValidationEvent)) (Result, error) {
	res := Result{Timing: map[string]float64{}, Saved: -1}
	if len(o.Refs) == 0 {
		return res, fmt.Errorf("rpo: no reference images")
	}
	if !o.Reward.Dual() {
		return res, fmt.Errorf("rpo: the reward model %s has no text tower", o.Reward.Config.Name)
	}
	t := &trainer{o: o, cfg: o.Base.Config, selector: NewSelector(o.Rules), stopper: o.Stopper}
	for _, d := range []string{"checkpoints", "val"} {
		if err := os.MkdirAll(filepath.Join(o.Out, d), 0o755); err != nil {
			return res, fmt.Errorf("rpo: %w", err)
		}
	}
	runOptions := o.resumeOptions() // recorded by every checkpoint, checked by --resume
	ckDir := filepath.Join(o.Out, "checkpoints")
	mayChange := map[string]bool{"steps": true}
	if o.Resume { // refused before the negatives are prepared, not after
		if _, err := ckpt.CheckTrainState(ckDir, stage, runOptions, mayChange); err != nil && !errors.Is(err, ckpt.ErrNoTrainState) {
			return res, err
		}
	}
	t.o.NegSampler.Ctx, t.o.ValSampler.Ctx = ctx, ctx // an interrupt stops sampling within a step
	t.rows = 2                                        // reference and negative, and a class image with prior preservation
	if o.Loss.Prior != 0 {
		t.rows = 3
	}
	if err := t.build(); err != nil { // compiled first: the memory check comes before any sampling
		return res, err
	}
	defer t.refProg.Close()
	defer t.polProg.Close()
	if err := t.checkMemory(); err != nil {
		return res, err
	}
	start := time.Now()
	if err := t.prepareNegatives(); err != nil {
		return res, err
	}
	if err := t.prepareClassImages(); err != nil {
		return res, err
	}
	if err := t.prepareRewards(); err != nil {
		return res, err
	}
	res.Timing["negatives_and_rewards"] = time.Since(start).Seconds()
	t.encodePrompts()

	rs := &runState{t: t, timing: res.Timing}
	var loop *train.Loop
	overlap := t.overlap()
	// a validation of step n: the policy as it is at n, then sampling,
	// scoring and selection. Beside the steps, it works on a copy of every
	// tensor of the policy: the steps change the trained ones, and compiling
	// the sampler's programs writes to the headers of the tensors they read,
	// which the steps' programs read too.
	validation := func(step int) (train.Job, error) {
		policy := t.policy
		if overlap {
			policy = t.policy.Clone()
		}
		return func(ctx context.Context, write func(any) error) (bool, error) {
			defer func(vs time.Time) { rs.add("validations", time.Since(vs).Seconds()) }(time.Now())
			sampler := t.o.ValSampler
			sampler.Ctx = ctx
			ev, err := t.validate(step, policy, sampler)
			if err != nil {
				return false, err
			}
			if err := write(map[string]any{"validation": ev}); err != nil {
				return false, err
			}
			if err := t.plotRewards(); err != nil {
				return false, err
			}
			if onVal != nil {
				onVal(ev)
			}
			return ev.Stop, nil
		}, nil
	}
	refreshAt := 0 // the step whose online refresh is due
	refresh := func(step int) error {
		ns := time.Now()
		err := t.refreshNegatives(step)
		rs.add("negatives_and_rewards", time.Since(ns).Seconds())
		return err
	}
	loop = &train.Loop{
		Dir: o.Out, CheckpointDir: ckDir, Stage: stage, Steps: o.Steps, Options: runOptions, MayChange: mayChange,
		Stores: map[string]*nn.Store{"policy": t.trained()}, Opt: t.opt, PCG: rand.NewPCG(o.Seed, 0x790),
		CheckpointEvery: o.CheckpointEvery, Resume: o.Resume, State: rs,
		Beside: validation, Overlap: overlap, BesideAtStart: true, // at the start, the base model's reward
		Begin: func(step int) error {
			if r := t.onlineStep(step); r > 0 { // a resumed online run: the negatives of its last refresh, from online/
				if err := refresh(r); err != nil {
					return err
				}
			}
			rs.startSteps()
			return nil
		},
		Step: func(rng *rand.Rand) (float64, any, error) {
			if r := refreshAt; r > 0 { // online RPO: the refresh after step r, once the run goes on
				refreshAt = 0
				if err := refresh(r); err != nil {
					return 0, nil, err
				}
			}
			ev, err := t.step(rng)
			return ev.Loss, ev, err
		},
		After: func(step int, rec any) (train.Decision, error) {
			ev := rec.(StepEvent)
			ev.Step = step
			if err := loop.Write(map[string]any{"step": ev}); err != nil {
				return train.Decision{}, err
			}
			if onStep != nil {
				onStep(ev)
			}
			if r := t.onlineStep(step); r == step && r > 0 {
				refreshAt = r
			}
			return train.Decision{Beside: step%o.ValEvery == 0 || step == o.Steps}, nil
		},
	}
	rs.loop = loop
	out, err := loop.Run(ctx)
	res.Steps, res.Stopped, res.Resumed, res.Saved = out.Step, out.Stopped, rs.resumed, out.Saved
	res.Timing["steps"] = rs.stepsTime()
	res.Timing["validations_beside"] = max(0, res.Timing["validations"]-rs.waited())
	res.Best, res.BestStep, res.Base = t.selector.Best, t.selector.Step, t.selector.Base
	return res, err
}

// runState is the part of a checkpoint that is the RPO run's own: the
// selector's and early stopper's state and the timings of every sitting.
type runState struct {
	t      *trainer
	mu     sync.Mutex         // timing: validations add to it beside the steps
	timing map[string]float64 // Result.Timing
	// the steps' seconds: those of earlier sittings, and this sitting's
	// clock, online refreshes' seconds and the loop's time in validations
	// (train.Loop.Waited) when its steps began
	stepsBefore, negsBefore, waitedBefore float64
	waitedStart                           time.Duration
	stepsStart                            time.Time
	resumed                               float64
	loop                                  *train.Loop // its Waited: the time the steps stood still for validations
}

// add adds seconds to one of the timings.
func (r *runState) add(key string, seconds float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timing[key] += seconds
}

func (r *runState) get(key string) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.timing[key]
}

func (r *runState) startSteps() {
	r.stepsStart, r.negsBefore, r.waitedStart = time.Now(), r.get("negatives_and_rewards"), r.loop.Waited()
}

// waited is the seconds the steps stood still for validations, all
// sittings: all of every validation's when they run between the steps,
// the waits for them to end when beside.
func (r *runState) waited() float64 {
	return r.waitedBefore + (r.loop.Waited() - r.waitedStart).Seconds()
}

// stepsTime is the seconds of steps alone (the time the steps stood still
// for validations and online RPO's refreshes left out).
func (r *runState) stepsTime() float64 {
	if r.stepsStart.IsZero() {
		return r.stepsBefore
	}
	return r.stepsBefore + time.Since(r.stepsStart).Seconds() - (r.loop.Waited() - r.waitedStart).Seconds() - (r.get("negatives_and_rewards") - r.negsBefore)
}

func (r *runState) MarshalState() (json.RawMessage, error) {
	r.mu.Lock()
	timing := maps.Clone(r.timing)
	r.mu.Unlock()
	timing["steps"] = r.stepsTime()
	timing["waited"] = r.waited()
	s := r.t.selector
	return json.Marshal(trainerExtra{Best: s.Best, BestStep: s.Step, Base: s.Base, Stopper: r.t.stopper, Timing: timing})
}

func (r *runState) UnmarshalState(b json.RawMessage) error {
	var extra trainerExtra
	if err := json.Unmarshal(b, &extra); err != nil {
		return err
	}
	t := r.t
	t.selector.Best, t.selector.Step, t.stopper = extra.Best, extra.BestStep, extra.Stopper
	if extra.Base != nil {
		t.selector.Base = extra.Base
	}
	r.timing["negatives_and_rewards"] += extra.Timing["negatives_and_rewards"]
	r.timing["validations"] = extra.Timing["validations"]
	r.stepsBefore, r.waitedBefore = extra.Timing["steps"], extra.Timing["waited"]
	// the wall time of those sittings: validations beside the steps overlap them
	r.resumed = extra.Timing["negatives_and_rewards"] + extra.Timing["steps"] + extra.Timing["validations"]
	if w, ok := extra.Timing["waited"]; ok {
		r.resumed += w - extra.Timing["validations"]
	}
	return nil
}

type trainerExtra struct {
	Best     map[string]float64 `json:"best"`
	BestStep map[string]int     `json:"best_step"`
	Base     map[string]float64 `json:"base,omitempty"` // the base model's reward, when not a candidate
	Stopper  EarlyStopper       `json:"stopper"`
	// Timing is Result.Timing up to the checkpoint, so that a resumed run
	// reports the time of the whole run, not of its last sitting.
	Timing map[string]float64 `json:"timing,omitempty"`
}

// plotRewards redraws reward.png from every validation in metrics.jsonl,
// those of earlier sittings included.
func (t *trainer) plotRewards() error {
	vals, err := ReadValidations(filepath.Join(t.o.Out, "metrics.jsonl"))
	if err != nil {
		return err
	}
	return PlotRewards(filepath.Join(t.o.Out, "reward.png"), vals)
}

// ReadValidations returns the validations recorded in a run's metrics.jsonl.
func ReadValidations(path string) ([]ValidationEvent, error) {
	_, vals, err := ReadMetrics(path)
	return vals, err
}

// ReadMetrics returns the steps and validations recorded in a run's
// metrics.jsonl (a resumed run's file holds each step once).
func ReadMetrics(path string) ([]StepEvent, []ValidationEvent, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("rpo: %w", err)
	}
	var steps []StepEvent
	var vals []ValidationEvent
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		var rec struct {
			Step       *StepEvent       `json:"step"`
			Validation *ValidationEvent `json:"validation"`
		}
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		if rec.Step != nil {
			steps = append(steps, *rec.Step)
		}
		if rec.Validation != nil {
			vals = append(vals, *rec.Validation)
		}
	}
	return steps, vals, nil
}

// negativesCache is where base-model samples (negatives, class images)
// are kept: o.NegativesCache, or the run's own negatives/.
func (t *trainer) negativesCache() string {
	if t.o.NegativesCache != "" {
		return t.o.NegativesCache
	}
	return filepath.Join(t.o.Out, "negatives")
}

func (t *trainer) prepareNegatives() error {
	o := t.o
	negs, err := Negatives(o.Base, o.BaseID, o.Prompts, o.NegPerPrompt, o.Seed, o.NegSampler, t.negativesCache())
	if err != nil {
		return err
	}
	if err := t.setNegatives(negs); err != nil {
		return err
	}
	t.refLat, err = o.Base.EncodeImages(o.Refs)
	return err
}

// setNegatives makes negs the run's negatives: their prompts' indices,
// images and latents.
func (t *trainer) setNegatives(negs []Negative) error {
	o := t.o
	t.negs, t.negPrompt = negs, nil
	for _, n := range negs {
		for i, p := range o.Prompts {
			if p == n.Prompt {
				t.negPrompt = append(t.negPrompt, i)
			}
		}
	}
	t.negImgs = make([]*image.RGBA, len(negs))
	for i, n := range negs {
		t.negImgs[i] = n.Image
	}
	var err error
	t.negLat, err = o.Base.EncodeImages(t.negImgs)
	return err
}

// refreshNegatives is online RPO's refresh after step: negatives sampled
// from the policy as it is at that step (or read from the run's online/
// cache, where a resumed run finds those of its last refresh), their
// rewards, and rewards.json.
func (t *trainer) refreshNegatives(step int) error {
	o := t.o
	weights, err := t.policyWeights(t.policy)
	if err != nil {
		return err
	}
	m, err := o.Base.WithDenoiser(weights)
	if err != nil {
		return err
	}
	defer m.Close()
	// the policy at a step is what the run's options and the step make it
	id := fmt.Sprintf("%s policy@%d", o.BaseID, step)
	negs, err := Negatives(m, id, o.Prompts, o.NegPerPrompt, o.Seed+uint64(step)*1000, o.NegSampler, filepath.Join(o.Out, "online"))
	if err != nil {
		return err
	}
	if err := t.setNegatives(negs); err != nil {
		return err
	}
	return t.scoreNegatives()
}

// onlineStep is the step of the last refresh at or before step (0: the
// base model's negatives).
func (t *trainer) onlineStep(step int) int {
	if t.o.OnlineEvery <= 0 || step >= t.o.Steps {
		return 0
	}
	return step / t.o.OnlineEvery * t.o.OnlineEvery
}

// ClassPrompt is DreamBooth's class prompt "a photo of <class>".
func ClassPrompt(class string) string { return "a photo of " + class }

// prepareClassImages samples the prior-preservation class images with the
// base model (cached like negatives) when the loss has a prior term.
func (t *trainer) prepareClassImages() error {
	o := t.o
	if o.Loss.Prior == 0 {
		return nil
	}
	if o.ClassImages < 1 {
		return fmt.Errorf("rpo: prior preservation needs class images")
	}
	imgs, err := Negatives(o.Base, o.BaseID, []string{ClassPrompt(o.Class)}, o.ClassImages, o.Seed+1_000_000, o.NegSampler, t.negativesCache())
	if err != nil {
		return err
	}
	pics := make([]*image.RGBA, len(imgs))
	for i, n := range imgs {
		pics[i] = n.Image
	}
	t.classLat, err = o.Base.EncodeImages(pics)
	return err
}

// prepareRewards computes r_λtrain of every reference under every training
// prompt and of every negative under its own prompt, token removed.
func (t *trainer) prepareRewards() error {
	o := t.o
	var err error
	if t.scorer, err = reward.NewScorer(o.Reward, o.Refs, o.Token); err != nil {
		return err
	}
	txt, err := t.scorer.Texts(o.Prompts)
	if err != nil {
		return err
	}
	refEmb := t.scorer.References()
	t.rRef = make([][]float64, len(o.Refs))
	for i, e := range refEmb {
		t.rRef[i] = make([]float64, len(o.Prompts))
		for p := range o.Prompts {
			t.rRef[i][p] = reward.Score(refEmb, txt[p], e).Reward(o.LambdaTrain)
		}
	}
	return t.scoreNegatives()
}

// scoreNegatives computes r_λtrain of every negative under its own prompt
// and writes rewards.json.
func (t *trainer) scoreNegatives() error {
	o := t.o
	negPrompts := make([]string, len(t.negs))
	for i := range t.negs {
		negPrompts[i] = o.Prompts[t.negPrompt[i]]
	}
	scores, err := t.scorer.Score(t.negImgs, negPrompts)
	if err != nil {
		return err
	}
	t.rGen = make([]float64, len(t.negs))
	for j, sc := range scores {
		t.rGen[j] = sc.Reward(o.LambdaTrain)
	}
	return t.writeManifest()
}

func (t *trainer) writeManifest() error {
	type row struct {
		Prompt string  `json:"prompt"`
		File   string  `json:"file"`
		Reward float64 `json:"reward"`
	}
	rows := make([]row, len(t.negs))
	for j, n := range t.negs {
		rows[j] = row{t.scorer.Clean(n.Prompt), n.File, t.rGen[j]}
	}
	b, err := json.MarshalIndent(map[string]any{"lambda_train": t.o.LambdaTrain, "negatives": rows, "references": t.rRef}, "", "  ")
	if err != nil {
		return err
	}
	return ckpt.WriteFileAtomic(filepath.Join(t.o.Out, "rewards.json"), b)
}

// trained is the part of the policy that training changes: every weight,
// or with LoRA the adapters only (what checkpoints hold).
func (t *trainer) trained() *nn.Store {
	if t.o.LoRA == nil {
		return t.policy
	}
	return t.policy.Subset(nn.IsLoRAParam)
}

// trainable says which of the policy's tensors training changes: the
// U-Net's, or with LoRA its adapters only.
func (t *trainer) trainable(name string) bool {
	if t.o.LoRA != nil {
		return nn.IsLoRAParam(name)
	}
	return strings.HasPrefix(name, "unet.")
}

// policyWeights is a policy (t.policy or a copy of it) as a denoiser store
// without adapters: the policy itself, or the base with the adapters merged
// in (for validation and the kept weights).
func (t *trainer) policyWeights(policy *nn.Store) (*nn.Store, error) {
	if t.o.LoRA == nil {
		return policy, nil
	}
	return nn.MergeLoRA(policy, t.o.LoRA.Scale(), 1)
}

// overlap says whether validations run beside the steps that follow them:
// not for online RPO (its refreshes sample from the policy too) nor when
// the copy of the policy that a validation then needs is large (see
// copyFits: Stable Diffusion's validations run between the steps).
func (t *trainer) overlap() bool {
	if t.o.ValidateBetween || t.o.OnlineEvery > 0 {
		return false
	}
	return copyFits(t.policy.Bytes())
}

// copyFits says whether a copy of weights for a second sampler (a
// validation beside the steps, a replica sampling negatives) of n bytes may
// be made: at most 1 GiB, and a quarter of the memory available. Larger
// models (Stable Diffusion's 3.4-GB U-Net) would also need a second
// sampler's activations of gigabytes.
func copyFits(n int64) bool {
	avail := MemoryAvailable()
	return n <= 1<<30 && (avail == 0 || 4*n <= avail)
}

// build compiles the frozen reference forward pass and the policy's
// objective, both on batches of two images (reference, negative).
func (t *trainer) build() error {
	if t.o.LoRA != nil {
		t.policy = t.o.Base.Denoiser.Overlay() // the base's tensors, shared; the adapters its own
	} else {
		t.policy = t.o.Base.Denoiser.Clone()
	}
	mk := func(store *nn.Store, train bool) (*nn.Program, *models.DenoiseBatch, error) {
		b := nn.NewBuilder(store, nil)
		if train {
			b.LoRA = t.o.LoRA
		}
		in := t.o.Base.NewDenoiseBatch(b, t.rows, true)
		var loss *G.Node
		if err := nn.Build(func() {
			pred := in.Prediction(b)
			if train {
				t.obj = BuildObjective(b, pred, in.TargetNode(), t.o.Loss)
				loss = t.obj.Loss
			} else {
				G.Read(pred, &t.refOut)
			}
		}); err != nil {
			return nil, in, err
		}
		p, err := nn.CompileTrainable(b, loss, train, t.trainable) // only the U-Net is trained; with LoRA only its adapters
		return p, in, err
	}
	var err error
	if t.refProg, t.refIn, err = mk(t.o.Base.Denoiser, false); err != nil {
		return err
	}
	if t.polProg, t.polIn, err = mk(t.policy, true); err != nil {
		return err
	}
	t.opt = nn.NewAdamW(t.o.LR)
	return nil
}

// encodePrompts tokenises, once, c_inst, each negative's c_gen and the
// class prompt.
func (t *trainer) encodePrompts() {
	tk := t.o.Base.Tokenizer
	t.instIDs, _, _ = tk.Encode(InstancePrompt(t.o.Token, t.o.Class))
	t.classIDs, _, _ = tk.Encode(ClassPrompt(t.o.Class))
	t.negIDs = make([][]int, len(t.negs))
	for j, n := range t.negs {
		t.negIDs[j], _, _ = tk.Encode(n.Prompt)
	}
}

// MemoryAvailable returns the bytes the machine can still give (Linux's
// MemAvailable), or 0 when unknown; a variable so tests can pretend.
var MemoryAvailable = func() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "MemAvailable:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

// checkMemory refuses a run whose first step cannot fit: the values of the
// two compiled programs (from their buffer plans; the weights they read are
// resident already) and AdamW's two moments of every trained tensor,
// against the memory available now. It is a check for what cannot work,
// not a promise that the rest fits.
func (t *trainer) checkMemory() error {
	avail := MemoryAvailable()
	if avail == 0 {
		return nil
	}
	// twice the plans' values: the scratch of operators (packed GEMM panels,
	// attention blocks) and the collector's slack come on top; at SD 1.5's
	// size measured peaks ran 1.0–2.9× the plan
	values := 2 * (t.polProg.Plan.SharedBytes + t.polProg.Plan.OtherBytes + t.refProg.Plan.SharedBytes + t.refProg.Plan.OtherBytes)
	trained := t.polProg.Trained
	need := values + 2*trained
	if need <= avail {
		return nil
	}
	gib := func(b int64) float64 { return float64(b) / (1 << 30) }
	hint := "a lower --resolution shrinks the values"
	if t.o.LoRA == nil {
		hint = "--lora-rank 4 trains adapters and keeps one U-Net; " + hint
	}
	return fmt.Errorf("rpo: training needs about %.1f GiB more memory (values of a step %.1f GiB, AdamW's moments %.1f GiB) and %.1f GiB are available; %s",
		gib(need), gib(values), gib(2*trained), gib(avail), hint)
}

// step is one RPO step on a pair drawn uniformly.
func (t *trainer) step(rng *rand.Rand) (StepEvent, error) {
	o := t.o
	i, j := DrawPair(rng, len(o.Refs), len(t.negs))
	p := reward.PreferenceProbability(t.rRef[i][t.negPrompt[j]], t.rGen[j])
	y := Label(rng, p, o.LabelMode)
	per := len(t.refLat) / len(o.Refs)
	x0 := [][]float32{t.refLat[i*per : (i+1)*per], t.negLat[j*per : (j+1)*per]}
	ids := append(append([]int{}, t.instIDs...), t.negIDs[j]...)
	if t.rows == 3 { // a class image for prior preservation
		k := rng.IntN(len(t.classLat) / per)
		x0 = append(x0, t.classLat[k*per:(k+1)*per])
		ids = append(ids, t.classIDs...)
	}
	sch := o.Base.Schedule
	ts := make([]int, t.rows)
	eps := make([][]float32, t.rows)
	for k := 0; k < t.rows; k++ {
		if k == 1 && o.SharedNoise {
			ts[1], eps[1] = ts[0], eps[0]
			continue
		}
		ts[k] = rng.IntN(sch.T())
		eps[k] = make([]float32, per)
		for q := range eps[k] {
			eps[k][q] = float32(rng.NormFloat64())
		}
	}
	tf := make([]float64, t.rows)
	for k, v := range ts {
		tf[k] = float64(v)
	}
	for _, in := range []*models.DenoiseBatch{t.refIn, t.polIn} {
		if err := in.SetTokens(ids); err != nil {
			return StepEvent{}, err
		}
		for k := 0; k < t.rows; k++ {
			if err := in.Noise(sch, k, x0[k], eps[k], ts[k]); err != nil {
				return StepEvent{}, err
			}
		}
		in.SetTimesteps(tf)
	}
	if _, err := t.refProg.Run(); err != nil {
		return StepEvent{}, err
	}
	refPred, tg := t.refOut.Data().([]float32), t.refIn.Target.Data().([]float32)
	var lref [2]float64
	for k := 0; k < 2; k++ {
		for q := k * per; q < (k+1)*per; q++ {
			d := float64(refPred[q] - tg[q])
			lref[k] += d * d
		}
		lref[k] /= float64(per)
	}
	t.obj.Set(lref[0], lref[1], y, o.Beta)
	loss, err := t.polProg.Run()
	if err != nil {
		return StepEvent{}, err
	}
	grads := t.polProg.Grads() // the trainable parameters' only (build: the U-Net, or its adapters)
	ev := StepEvent{Y: y, P: p, LR: o.LR, Loss: loss}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return ev, nil
	}
	norm, err := t.opt.Update(t.policy, grads)
	ev.GradNorm = norm
	ev.LSim, ev.LPref, ev.Delta = nn.Scalar(t.obj.lsimVal), nn.Scalar(t.obj.lprefVal), nn.Scalar(t.obj.deltaVal)
	return ev, err
}

// valSeed is the seed of each prompt's first validation image (valSeed+k
// the k-th): the same noise at every validation.
const valSeed = 1_000_003

// validationPairs lists the (prompt, seed) of every validation image:
// per images of each prompt, prompt by prompt, the order Negatives keeps.
func validationPairs(prompts []string, per int) ([]string, []uint64) {
	var ps []string
	var seeds []uint64
	for _, p := range prompts {
		for k := 0; k < per; k++ {
			ps, seeds = append(ps, p), append(seeds, valSeed+uint64(k))
		}
	}
	return ps, seeds
}

// validate samples ValPerPrompt images for every training prompt from fixed
// noise (the same at every validation) with policy (the policy at step, or
// a copy of it) and sampler, scores them (token removed) and applies the
// selection rules and the early stopper.
// The first validation's images, the base model's, come from the negatives
// cache when an earlier run with the same base, prompts and sampler left
// them there.
func (t *trainer) validate(step int, policy *nn.Store, sampler diffusion.Sampler) (ValidationEvent, error) {
	o := t.o
	ev := ValidationEvent{Step: step, AlignI: map[string]float64{}, AlignT: map[string]float64{}, Reward: map[string]float64{}}
	weights, err := t.policyWeights(policy)
	if err != nil {
		return ev, err
	}
	m, err := o.Base.WithDenoiser(weights)
	if err != nil {
		return ev, err
	}
	defer m.Close()
	prompts, seeds := validationPairs(o.Prompts, o.ValPerPrompt)
	var imgs []*image.RGBA
	if step == 0 {
		// the policy is the base model still (LoRA's up weights start at
		// zero): its samples are base-model samples like the negatives,
		// cached beside them (sampled by m, the base's weights)
		base, err := Negatives(m, o.BaseID, o.Prompts, o.ValPerPrompt, valSeed, sampler, t.negativesCache())
		if err != nil {
			return ev, err
		}
		for _, n := range base {
			imgs = append(imgs, n.Image)
		}
	} else if imgs, err = m.Generate(prompts, seeds, sampler); err != nil {
		return ev, err
	}
	grid := make([]image.Image, len(imgs))
	for i, im := range imgs {
		grid[i] = im
	}
	dir := filepath.Join(o.Out, "val", fmt.Sprintf("step-%04d", step))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ev, err
	}
	if err := imageio.SavePNG(filepath.Join(dir, "grid.png"), imageio.Grid(grid, o.ValPerPrompt, 1, color.White)); err != nil {
		return ev, err
	}
	scores, err := t.scorer.Score(imgs, prompts)
	if err != nil {
		return ev, err
	}
	best := map[string]Rule{} // the best rules, by the reward they read
	for _, r := range o.Rules {
		if !r.Last {
			best[r.Key()] = r
		}
	}
	means := map[string]float64{}
	for pi, p := range o.Prompts {
		var si, st float64
		for k := 0; k < o.ValPerPrompt; k++ {
			sc := scores[pi*o.ValPerPrompt+k]
			si += sc.AlignI
			st += sc.AlignT
			for key, r := range best {
				v := sc.Reward(r.Lambda)
				if r.Arith {
					v = reward.Arithmetic(r.Lambda, sc.AlignI, sc.AlignT)
				}
				means[key] += v / float64(len(imgs))
			}
		}
		ev.AlignI[t.scorer.Clean(p)] = si / float64(o.ValPerPrompt)
		ev.AlignT[t.scorer.Clean(p)] = st / float64(o.ValPerPrompt)
	}
	maps.Copy(ev.Reward, means)
	var keep []Rule
	if step == 0 && !o.KeepBase {
		t.selector.ObserveBase(means)
	} else {
		keep = t.selector.Observe(step, means)
	}
	for _, r := range keep {
		ev.Kept = append(ev.Kept, r.Name())
		dir := filepath.Join(o.Out, r.Name())
		prov := ckpt.Provenance{
			Tool: "rpo " + o.Version, Command: "rpo train", Created: time.Now().UTC(), Seed: o.Seed, Base: o.BaseDir,
			Notes: fmt.Sprintf("RPO fine-tune of %q (%s %s), step %d, selection rule %s%s", o.Class, o.Token, o.Class, step, r.Name(), loraNote(o.LoRA)),
		}
		if o.LoRA != nil && o.Base.Config.SD != nil { // the adapters alone: megabytes, not a U-Net of gigabytes
			if err := models.SaveSDLoRA(dir, o.Base, policy, o.LoRA, prov); err != nil {
				return ev, err
			}
			continue
		}
		if err := m.Save(dir, prov); err != nil {
			return ev, err
		}
		if o.LoRA != nil { // the adapters alone too, for other tools (rpo generate --lora, diffusers' load_lora_weights)
			if err := models.SaveLoRA(filepath.Join(dir, models.LoRAFile), policy, o.LoRA); err != nil {
				return ev, err
			}
			if err := models.SaveKohyaLoRA(filepath.Join(dir, models.KohyaLoRAFile), policy, o.LoRA); err != nil {
				return ev, err
			}
		}
	}
	stopKey := ""
	for _, r := range o.Rules {
		if !r.Last {
			stopKey = r.Key()
			break
		}
	}
	if stopKey != "" && step > 0 {
		ev.Stop = t.stopper.Update(means[stopKey])
	}
	return ev, nil
}
