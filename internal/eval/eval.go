// Package eval is the DreamBench protocol (RPO.md §5): for each subject,
// fine-tune (or take the base model), generate images for its 25 prompts
// with fixed seeds, measure DINO, CLIP-I, CLIP-T and the λ-Harmonic reward,
// aggregate per prompt, per subject and over the benchmark, and write the
// reports. Subjects are independent units of work: a run can be split into
// shards and merged, and an interrupted run skips finished subjects.
package eval

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/dreambench"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/reward"
	"github.com/rpo-dev/rpo/internal/rpo"
)

// Models are the models of an evaluation.
type Models struct {
	Base        *models.T2I
	BaseDir     string
	BaseID      string
	Align       *models.Encoder // the reward (align-mini)
	AlignID     string          // rpo.ModelID of Align
	Clip        *models.Encoder // CLIP-I and CLIP-T (clip-mini)
	Dino        *models.Encoder // DINO (dino-mini)
	RewardModel string          // paths, for the report
	ClipModel   string
	DinoModel   string
}

// Method says how a subject's model is made.
type Method struct {
	Name  string // rpo, dreambooth, base, or a config file's name
	Train bool   // false: the base model as it is
	Loss  rpo.LossWeights
	Rule  string // which selection rule's weights are evaluated ("best@0.5", "last")
	Steps int
	LR    float64
	Beta  float64 // β of L_pref (0: rpo's default)
	// LambdaTrain is λ of the training reward r_λtrain (rpo's default 0),
	// LabelMode how labels are drawn ("": Bernoulli), OnlineEvery the
	// interval of online RPO's refreshes (0: offline, the paper)
	LambdaTrain float64
	LabelMode   rpo.LabelMode
	OnlineEvery int
	// LoRA, when set, trains low-rank adapters instead of every weight
	// (LoRA-RPO, DreamBooth-LoRA)
	LoRA *nn.LoRA
	// Real is the "real images" row, the papers' upper bound: no model;
	// each reference is scored as a generated image against the subject's
	// other references (DINO, CLIP-I, ALIGN-I leave one out) and against
	// every prompt (CLIP-T, ALIGN-T).
	Real bool
}

// loraKey describes m's adapters ("" without LoRA).
func (m Method) loraKey() string {
	if m.LoRA == nil {
		return ""
	}
	return fmt.Sprintf("rank %d, alpha %g, %s", m.LoRA.Rank, m.LoRA.EffectiveAlpha(), strings.Join(m.LoRA.Targets, ","))
}

// beta is m.Beta, or the default of rpo.DefaultOptions.
func (m Method) beta() float64 {
	if m.Beta == 0 {
		return rpo.DefaultOptions().Beta
	}
	return m.Beta
}

// Options configure an evaluation.
type Options struct {
	Bench           *dreambench.Bench
	BenchName       string // "minidreambench v0", "dreambench"
	Out             string
	Runs            string   // per-subject training runs (empty: Out/runs); evaluations that differ only in Method.Rule share it
	Subjects        []string // empty: all
	Shard, Shards   int      // this process takes subjects i, i+n, ... (0/1: all)
	Method          Method
	Token           string
	ImagesPerPrompt int
	Sampler         diffusion.Sampler
	LambdaVal       float64
	Seed            uint64
	Train           rpo.Options // the trainer's settings (Out, Refs, Prompts, Base... are filled per subject)
	Version         string
	// OnValidation, when set, hears each validation of a subject's
	// training run (progress while a subject trains)
	OnValidation func(subject string, ev rpo.ValidationEvent)
	// OnStep hears each training step of a subject; OnGenerate the images
	// of a subject generated so far
	OnStep     func(subject string, ev rpo.StepEvent)
	OnGenerate func(subject string, done, total int)
}

// PromptResult holds one prompt's metrics (means over its images).
type PromptResult struct {
	Prompt string  `json:"prompt"`       // with the token
	Clean  string  `json:"prompt_clean"` // token removed, class kept
	DINO   float64 `json:"dino"`
	CLIPI  float64 `json:"clip_i"`
	CLIPT  float64 `json:"clip_t"`
	Reward float64 `json:"reward"`
}

// SubjectResult is one subject's results, written to subjects/<name>.json.
type SubjectResult struct {
	Subject string                        `json:"subject"`
	Class   string                        `json:"class"`
	Method  string                        `json:"method"`
	Prompts []PromptResult                `json:"prompts"`
	Summary map[string]dreambench.Summary `json:"summary"`           // over prompts
	Grid    string                        `json:"grid"`              // relative to the output directory
	Refs    string                        `json:"refs,omitempty"`    // the references side by side, relative to the output directory
	Columns int                           `json:"columns,omitempty"` // images per row of the grid (0: 5 prompts' images)
	// Training is the subject's training run (methods that train).
	Training *History           `json:"training,omitempty"`
	Images   string             `json:"images"`  // the directory of every generated image, relative to the output directory
	Seconds  map[string]float64 `json:"seconds"` // train (train_negatives_and_rewards, train_steps, train_validations), generate, score
	// SharedSamples: the images were read from the run's samples of the
	// same weights, made for another row (samples.go), not sampled again
	SharedSamples bool `json:"shared_samples,omitempty"`
}

// Run evaluates the selected subjects, skipping those already finished.
func Run(ctx context.Context, o Options, m Models, progress func(subject string, done, total int)) error {
	if o.Runs == "" {
		o.Runs = filepath.Join(o.Out, "runs")
	}
	if o.Train.NegativesCache == "" {
		// subjects of one class have the same training prompts, hence the
		// same negatives (and class images): sample them once
		o.Train.NegativesCache = filepath.Join(o.Runs, "negatives")
	}
	for _, d := range []string{filepath.Join(o.Out, "subjects"), filepath.Join(o.Out, "grids"), o.Runs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
	}
	subs, err := Select(o.Bench.Subjects, o.Subjects, o.Shard, o.Shards)
	if err != nil {
		return err
	}
	for i, s := range subs {
		path := filepath.Join(o.Out, "subjects", s.Name+".json")
		if _, err := os.Stat(path); err == nil {
			continue // finished by an earlier run
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := evaluateSubject(ctx, o, m, s)
		if err != nil {
			return fmt.Errorf("eval: subject %s: %w", s.Name, err)
		}
		b, _ := json.MarshalIndent(r, "", "  ")
		if err := ckpt.WriteFileAtomic(path, b); err != nil {
			return err
		}
		if progress != nil {
			progress(s.Name, i+1, len(subs))
		}
	}
	return nil
}

// Select picks the subjects named (all when names is empty) and then shard
// i of n (subjects i, i+n, i+2n, ... in benchmark order).
func Select(all []dreambench.Subject, names []string, shard, shards int) ([]dreambench.Subject, error) {
	var picked []dreambench.Subject
	if len(names) == 0 {
		picked = all
	} else {
		for _, n := range names {
			found := false
			for _, s := range all {
				if s.Name == n {
					picked, found = append(picked, s), true
				}
			}
			if !found {
				return nil, fmt.Errorf("eval: no subject %q in the benchmark", n)
			}
		}
	}
	if shards <= 1 {
		return picked, nil
	}
	if shard < 0 || shard >= shards {
		return nil, fmt.Errorf("eval: shard %d/%d: the shard index must be in [0, %d)", shard, shards, shards)
	}
	var out []dreambench.Subject
	for i, s := range picked {
		if i%shards == shard {
			out = append(out, s)
		}
	}
	return out, nil
}

func evaluateSubject(ctx context.Context, o Options, m Models, s dreambench.Subject) (*SubjectResult, error) {
	r := &SubjectResult{Subject: s.Name, Class: s.Class, Method: o.Method.Name, Seconds: map[string]float64{}}
	refs := make([]*image.RGBA, len(s.Images))
	for i, p := range s.Images {
		var err error
		if refs[i], err = imageio.Load(p, m.Base.Config.Resolution); err != nil {
			return nil, err
		}
	}
	r.Refs = filepath.Join("grids", s.Name+"-refs.png")
	if err := saveGrid(filepath.Join(o.Out, r.Refs), refs, len(refs)); err != nil {
		return nil, err
	}
	if o.Method.Real {
		start := time.Now()
		if len(refs) < 2 {
			return nil, fmt.Errorf("the real-images row needs at least two references, %s has %d", s.Name, len(refs))
		}
		if err := scoreReal(r, m, refs, o.Bench.Prompts.For(s.Class), o); err != nil {
			return nil, err
		}
		r.Seconds["score"] = time.Since(start).Seconds()
		return r, nil
	}
	kept, keptID := "", "" // a trained model's directory and weights (models.ModelID)
	if o.Method.Train {
		start := time.Now()
		ps := rpo.TrainingPrompts(s.Class, o.Token, s.Live())
		to := o.Train
		to.Out = filepath.Join(o.Runs, s.Name)
		to.Class, to.Token, to.Refs, to.Prompts = s.Class, o.Token, refs, ps
		to.Base, to.BaseID, to.BaseDir, to.Reward, to.RewardID = m.Base, m.BaseID, m.BaseDir, m.Align, m.AlignID
		to.Loss, to.Steps, to.LR, to.Beta = o.Method.Loss, o.Method.Steps, o.Method.LR, o.Method.beta()
		to.LambdaTrain, to.OnlineEvery, to.LoRA = o.Method.LambdaTrain, o.Method.OnlineEvery, o.Method.LoRA
		if o.Method.LabelMode != "" {
			to.LabelMode = o.Method.LabelMode
		}
		if err := claimRun(to.Out, o.Method, to); err != nil {
			return nil, err
		}
		if ckpt.HasTrainState(filepath.Join(to.Out, "checkpoints")) {
			to.Resume = true
		}
		var onVal func(rpo.ValidationEvent)
		if o.OnValidation != nil {
			onVal = func(ev rpo.ValidationEvent) { o.OnValidation(s.Name, ev) }
		}
		var onStep func(rpo.StepEvent)
		if o.OnStep != nil {
			onStep = func(ev rpo.StepEvent) { o.OnStep(s.Name, ev) }
		}
		res, err := rpo.Train(ctx, to, onStep, onVal)
		if err != nil {
			return nil, err
		}
		for k, v := range res.Timing { // where the training time went
			r.Seconds["train_"+k] = v
		}
		kept = filepath.Join(to.Out, o.Method.Rule)
		if keptID, err = models.ModelID(kept); err != nil {
			return nil, err
		}
		r.Seconds["train"] = time.Since(start).Seconds() + res.Resumed // a resumed run: its earlier sittings too
		if r.Training, err = readHistory(to.Out, o.Method.Rule, keptStep(res, o.Method.Rule)); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	templates := o.Bench.Prompts.For(s.Class)
	var prompts []string
	var seeds []uint64
	for pi, t := range templates {
		for k := 0; k < o.ImagesPerPrompt; k++ {
			prompts = append(prompts, dreambench.Format(t, o.Token, s.Class))
			seeds = append(seeds, o.Seed+uint64(1000*pi+k))
		}
	}
	var onGen func(done, total int)
	if o.OnGenerate != nil {
		onGen = func(done, total int) { o.OnGenerate(s.Name, done, total) }
	}
	var imgs []*image.RGBA
	samples := "" // a trained model's run keeps its images for the rows that keep the same weights
	if keptID != "" {
		samples = filepath.Join(o.Runs, s.Name, "samples", samplesKey(keptID, o.Sampler, prompts, seeds))
		var err error
		if imgs, err = readSamples(samples, len(prompts), o.ImagesPerPrompt); err != nil {
			return nil, err
		}
		r.SharedSamples = imgs != nil
	}
	if imgs == nil {
		model := m.Base
		if kept != "" { // loaded only when its images are not kept already
			tuned, err := models.LoadT2I(kept)
			if err != nil {
				return nil, err
			}
			defer tuned.Close()
			model = tuned
		}
		var err error
		if imgs, err = generate(ctx, model, prompts, seeds, o.Sampler, 0, onGen); err != nil {
			return nil, err
		}
		if samples != "" {
			if err := writeSamples(samples, imgs, o.ImagesPerPrompt); err != nil {
				return nil, err
			}
		}
	}
	r.Seconds["generate"] = time.Since(start).Seconds()
	start = time.Now()
	r.Grid, r.Columns = filepath.Join("grids", s.Name+".png"), o.ImagesPerPrompt*5
	if err := saveGrid(filepath.Join(o.Out, r.Grid), imgs, r.Columns); err != nil {
		return nil, err
	}
	// every image, to rescore with other encoders later: images/<subject>/<prompt>-<k>.png
	r.Images = filepath.Join("images", s.Name)
	if err := os.MkdirAll(filepath.Join(o.Out, r.Images), 0o755); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	for i, im := range imgs {
		if err := imageio.SavePNG(filepath.Join(o.Out, r.Images, sampleName(i, o.ImagesPerPrompt)), im); err != nil {
			return nil, err
		}
	}
	if err := score(r, m, refs, imgs, templates, o); err != nil {
		return nil, err
	}
	r.Seconds["score"] = time.Since(start).Seconds()
	return r, nil
}

// saveGrid writes imgs as a grid of cols columns with a one-pixel white
// gap (the layout HTML's sprites read).
func saveGrid(path string, imgs []*image.RGBA, cols int) error {
	g := make([]image.Image, len(imgs))
	for i, im := range imgs {
		g[i] = im
	}
	return imageio.SavePNG(path, imageio.Grid(g, cols, gridPad, color.White))
}

// gridPad is the gap between a grid's images, in pixels.
const gridPad = 1

// runClaim is what a shared training run was trained with: evaluations
// may share the run only when they agree on it (they differ only in which
// rule's weights they evaluate, and the run keeps every rule's weights).
type runClaim struct {
	Loss  rpo.LossWeights `json:"loss"`
	Steps int             `json:"steps"`
	LR    float64         `json:"lr"`
	Beta  float64         `json:"beta,omitempty"` // absent in claims written before --beta: 1
	Rules []string        `json:"rules"`
	Val   [2]int          `json:"validation"` // every, images per prompt
	// KeepBase: the base model's weights were a candidate of the best@λ
	// rules; absent in claims written before it became optional (when
	// they always were).
	KeepBase *bool `json:"keep_base,omitempty"`
	// absent for the defaults (λ_train 0, Bernoulli labels, offline), as
	// in claims written before they were settings of a method
	LambdaTrain float64 `json:"lambda_train,omitempty"`
	LabelMode   string  `json:"label_mode,omitempty"`
	OnlineEvery int     `json:"online_every,omitempty"`
	LoRA        string  `json:"lora,omitempty"` // rank, alpha and targets of LoRA runs
}

// claimRun writes dir/eval-run.json for a new run, or checks that an
// existing run was trained the way m asks and keeps m.Rule's weights.
func claimRun(dir string, m Method, to rpo.Options) error {
	want := runClaim{Loss: m.Loss, Steps: m.Steps, LR: m.LR, Beta: m.beta(), Val: [2]int{to.ValEvery, to.ValPerPrompt}, KeepBase: &to.KeepBase,
		LambdaTrain: m.LambdaTrain, OnlineEvery: m.OnlineEvery, LoRA: m.loraKey()}
	if m.LabelMode != "" && m.LabelMode != rpo.Bernoulli {
		want.LabelMode = string(m.LabelMode)
	}
	for _, r := range to.Rules {
		want.Rules = append(want.Rules, r.Name())
	}
	path := filepath.Join(dir, "eval-run.json")
	have := runClaim{Beta: 1}
	err := readJSON(path, &have)
	if err == nil && have.KeepBase == nil {
		keep := true
		have.KeepBase = &keep
	}
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		b, _ := json.MarshalIndent(want, "", "  ")
		return ckpt.WriteFileAtomic(path, b)
	}
	if err != nil {
		return err
	}
	if have.LoRA != want.LoRA {
		return fmt.Errorf("eval: %s: the run was trained with LoRA %q; this method asks for %q (use another --runs directory)", path, have.LoRA, want.LoRA)
	}
	if have.LambdaTrain != want.LambdaTrain || have.LabelMode != want.LabelMode || have.OnlineEvery != want.OnlineEvery {
		return fmt.Errorf("eval: %s: the run was trained with λ_train %g, labels %q, online every %d steps; this method asks for λ_train %g, labels %q, online every %d (use another --runs directory)",
			path, have.LambdaTrain, cmp.Or(have.LabelMode, "bernoulli"), have.OnlineEvery, want.LambdaTrain, cmp.Or(want.LabelMode, "bernoulli"), want.OnlineEvery)
	}
	if have.Loss != want.Loss || have.Steps != want.Steps || have.LR != want.LR || have.Beta != want.Beta || have.Val != want.Val || *have.KeepBase != *want.KeepBase {
		return fmt.Errorf("eval: %s: the run was trained with loss %+v, %d steps, lr %g, β %g, validation %v, base model a candidate: %v; this method asks for loss %+v, %d steps, lr %g, β %g, validation %v, base model a candidate: %v (use another --runs directory)",
			path, have.Loss, have.Steps, have.LR, have.Beta, have.Val, *have.KeepBase, want.Loss, want.Steps, want.LR, want.Beta, want.Val, *want.KeepBase)
	}
	for _, r := range have.Rules {
		if r == m.Rule {
			return nil
		}
	}
	return fmt.Errorf("eval: %s: the run keeps the weights of %v, not of %s", path, have.Rules, m.Rule)
}

// generate draws one image per (prompt, seed) pair, batch pairs per
// Generate call (0: 20), checking ctx between batches and reporting
// progress after each.
func generate(ctx context.Context, m *models.T2I, prompts []string, seeds []uint64, s diffusion.Sampler, batch int, progress func(done, total int)) ([]*image.RGBA, error) {
	if batch < 1 {
		batch = 20
	}
	var imgs []*image.RGBA
	for b := 0; b < len(prompts); b += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e := min(b+batch, len(prompts))
		part, err := m.Generate(prompts[b:e], seeds[b:e], s)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, part...)
		if progress != nil {
			progress(len(imgs), len(prompts))
		}
	}
	return imgs, nil
}

// score computes every metric of every prompt and the subject summary.
func score(r *SubjectResult, m Models, refs, imgs []*image.RGBA, templates []string, o Options) error {
	embed := func(e *models.Encoder, x []*image.RGBA) ([][]float64, error) { return e.EmbedImages(x) }
	dRef, err := embed(m.Dino, refs)
	if err != nil {
		return err
	}
	dGen, err := embed(m.Dino, imgs)
	if err != nil {
		return err
	}
	cRef, err := embed(m.Clip, refs)
	if err != nil {
		return err
	}
	cGen, err := embed(m.Clip, imgs)
	if err != nil {
		return err
	}
	n := o.ImagesPerPrompt
	scorer, err := reward.NewScorer(m.Align, refs, o.Token)
	if err != nil {
		return err
	}
	clean := make([]string, len(templates))
	imgPrompts := make([]string, 0, len(imgs))
	for i, t := range templates {
		p := dreambench.Format(t, o.Token, r.Class)
		clean[i] = scorer.Clean(p) // token removed, class kept
		for k := 0; k < n; k++ {
			imgPrompts = append(imgPrompts, p)
		}
	}
	scores, err := scorer.Score(imgs, imgPrompts)
	if err != nil {
		return err
	}
	cTxt, err := m.Clip.EmbedTexts(clean)
	if err != nil {
		return err
	}
	for pi := range templates {
		lo, hi := pi*n, (pi+1)*n
		var rw float64
		for k := lo; k < hi; k++ {
			rw += scores[k].Reward(o.LambdaVal) / float64(n)
		}
		pr := PromptResult{
			Prompt: dreambench.Format(templates[pi], o.Token, r.Class), Clean: clean[pi],
			DINO: dreambench.MeanPairCosine(dRef, dGen[lo:hi]), CLIPI: dreambench.MeanPairCosine(cRef, cGen[lo:hi]),
			CLIPT: dreambench.MeanTextCosine(cTxt[pi], cGen[lo:hi]), Reward: rw,
		}
		r.Prompts = append(r.Prompts, pr)
	}
	r.summarize()
	return nil
}

// summarize sets the subject's summary over its prompts' metrics.
func (r *SubjectResult) summarize() {
	cols := map[string][]float64{}
	for _, pr := range r.Prompts {
		cols["dino"] = append(cols["dino"], pr.DINO)
		cols["clip_i"] = append(cols["clip_i"], pr.CLIPI)
		cols["clip_t"] = append(cols["clip_t"], pr.CLIPT)
		cols["reward"] = append(cols["reward"], pr.Reward)
	}
	r.Summary = map[string]dreambench.Summary{}
	for k, v := range cols {
		r.Summary[k] = dreambench.Summarize(v)
	}
}

// scoreReal is score for the real-images row: each reference against the
// others (leave one out) for DINO, CLIP-I and ALIGN-I, against each prompt
// for CLIP-T and ALIGN-T.
func scoreReal(r *SubjectResult, m Models, refs []*image.RGBA, templates []string, o Options) error {
	d, err := m.Dino.EmbedImages(refs)
	if err != nil {
		return err
	}
	c, err := m.Clip.EmbedImages(refs)
	if err != nil {
		return err
	}
	scorer, err := reward.NewScorer(m.Align, refs, o.Token)
	if err != nil {
		return err
	}
	clean := make([]string, len(templates))
	for i, t := range templates {
		clean[i] = scorer.Clean(dreambench.Format(t, o.Token, r.Class))
	}
	cTxt, err := m.Clip.EmbedTexts(clean)
	if err != nil {
		return err
	}
	aTxt, err := scorer.Texts(clean)
	if err != nil {
		return err
	}
	others := func(e [][]float64, i int) [][]float64 {
		return append(append([][]float64{}, e[:i]...), e[i+1:]...)
	}
	aRef := scorer.References()
	var dino, clipI float64
	for i := range refs {
		dino += dreambench.MeanPairCosine(others(d, i), d[i:i+1]) / float64(len(refs))
		clipI += dreambench.MeanPairCosine(others(c, i), c[i:i+1]) / float64(len(refs))
	}
	for pi := range templates {
		var rw float64
		for i := range refs {
			rw += reward.Score(others(aRef, i), aTxt[pi], aRef[i]).Reward(o.LambdaVal) / float64(len(refs))
		}
		pr := PromptResult{Prompt: dreambench.Format(templates[pi], o.Token, r.Class), Clean: clean[pi], DINO: dino, CLIPI: clipI,
			CLIPT: dreambench.MeanTextCosine(cTxt[pi], c), Reward: rw}
		r.Prompts = append(r.Prompts, pr)
	}
	r.summarize()
	return nil
}

// errNoResults is returned by Merge when no subject has finished.
var errNoResults = errors.New("eval: no finished subject")

// Rescore recomputes the metrics of an existing evaluation dir with the
// encoders of m, from its saved images, without generating again, and
// writes the subjects into out. Images are scored at their saved size.
func Rescore(dir, out string, m Models, b *dreambench.Bench, token string, lambda float64) (int, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "subjects", "*.json"))
	if len(files) == 0 {
		return 0, fmt.Errorf("eval: %s has no finished subjects (subjects/*.json)", dir)
	}
	if err := os.MkdirAll(filepath.Join(out, "subjects"), 0o755); err != nil {
		return 0, fmt.Errorf("eval: %w", err)
	}
	for _, f := range files {
		var r0 SubjectResult
		if err := readJSON(f, &r0); err != nil {
			return 0, err
		}
		if r0.Images == "" && r0.Method != "real" {
			return 0, fmt.Errorf("eval: %s: made before rpo eval saved every image (only its grid): it cannot be rescored", f)
		}
		var s *dreambench.Subject
		for i := range b.Subjects {
			if b.Subjects[i].Name == r0.Subject {
				s = &b.Subjects[i]
			}
		}
		if s == nil {
			return 0, fmt.Errorf("eval: %s: subject %q is not in the benchmark %s (--data)", f, r0.Subject, b.Dir)
		}
		templates := b.Prompts.For(s.Class)
		paths, _ := filepath.Glob(filepath.Join(dir, r0.Images, "*.png"))
		side := 0
		var imgs []*image.RGBA
		for _, p := range paths {
			im, err := imageio.Load(p, 0)
			if err != nil {
				return 0, err
			}
			side = im.Bounds().Dx()
			imgs = append(imgs, im)
		}
		r := &SubjectResult{Subject: s.Name, Class: s.Class, Method: r0.Method, Seconds: map[string]float64{}}
		if r0.Method == "real" || len(imgs) == 0 {
			side = 512
		}
		refs := make([]*image.RGBA, len(s.Images))
		for i, p := range s.Images {
			var err error
			if refs[i], err = imageio.Load(p, side); err != nil {
				return 0, err
			}
		}
		o := Options{Token: token, LambdaVal: lambda}
		abs, _ := filepath.Abs(dir) // the rescored files point at the images they scored
		start := time.Now()
		if r0.Method == "real" {
			if err := scoreReal(r, m, refs, templates, o); err != nil {
				return 0, err
			}
		} else {
			if len(imgs)%len(templates) != 0 {
				return 0, fmt.Errorf("eval: %s: %d images for %d prompts", filepath.Join(dir, r0.Images), len(imgs), len(templates))
			}
			o.ImagesPerPrompt = len(imgs) / len(templates)
			if err := score(r, m, refs, imgs, templates, o); err != nil {
				return 0, err
			}
			r.Grid, r.Images, r.Columns = under(abs, r0.Grid), under(abs, r0.Images), r0.Columns
		}
		r.Refs, r.Training = under(abs, r0.Refs), r0.Training
		r.Seconds["score"] = time.Since(start).Seconds()
		bs, _ := json.MarshalIndent(r, "", "  ")
		if err := ckpt.WriteFileAtomic(filepath.Join(out, "subjects", s.Name+".json"), bs); err != nil {
			return 0, err
		}
	}
	return len(files), nil
}
