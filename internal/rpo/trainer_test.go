package rpo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/dreambench"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/world"
	"github.com/rpo-dev/rpo/prompts"
)

func tinyRun(t *testing.T, out string, steps int) Options {
	t.Helper()
	base, err := models.NewT2I(models.TinyT2IConfig(16), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(base.Close)
	rm, err := models.NewEncoder(models.TinyEncoderConfig("tiny-align", true, 16), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rm.Close)
	dog, _ := world.SubjectByName(0, "dog")
	var refs []*image.RGBA
	for _, s := range dog.References()[:3] {
		refs = append(refs, s.Render())
	}
	var ps []string
	for _, tpl := range prompts.TrainLive()[:2] {
		ps = append(ps, dreambench.Format(tpl, "sks", "dog"))
	}
	rules, _ := ParseRules("best@0.5,last", 0.5)
	return Options{
		Out: out, Class: "dog", Token: "sks", Refs: refs, Prompts: ps, Base: base, BaseID: "tiny", Reward: rm, RewardID: "tiny-align",
		Steps: steps, LR: 1e-3, Beta: 1, LambdaTrain: 0, Rules: rules, ValEvery: 3, ValPerPrompt: 2,
		ValSampler: diffusion.Sampler{Steps: 2, Guidance: 7.5}, NegPerPrompt: 2, NegSampler: diffusion.Sampler{Steps: 2, Guidance: 7.5},
		Seed: 4, LabelMode: Bernoulli, Loss: LossWeights{Sim: 1, Pref: 1}, CheckpointEvery: time.Hour,
	}
}

func TestTrainRunDirectoryAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	straight := t.TempDir()
	var steps int
	var vals []ValidationEvent
	res, err := Train(context.Background(), tinyRun(t, straight, 6), func(StepEvent) { steps++ }, func(v ValidationEvent) { vals = append(vals, v) })
	if err != nil {
		t.Fatal(err)
	}
	if steps != 6 || len(vals) != 3 || vals[0].Step != 0 || res.Steps != 6 {
		t.Fatalf("%d steps, validations %+v", steps, vals)
	}
	// the base model (step 0) is the baseline, not a candidate
	if len(vals[0].Kept) != 0 || res.BestStep["best@0.5"] == 0 || res.Base["best@0.5"] != vals[0].Reward["0.5"] {
		t.Errorf("base kept %v, best@0.5 step %d, base reward %v (validated %v)", vals[0].Kept, res.BestStep["best@0.5"], res.Base, vals[0].Reward)
	}
	for _, p := range []string{"metrics.jsonl", "rewards.json", "negatives/negatives.json", "val/step-0000/grid.png", "val/step-0006/grid.png", "last/model.yaml", "best@0.5/model.yaml", "reward.png"} {
		if _, err := os.Stat(filepath.Join(straight, p)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(latestCheckpoint(t, straight), "manifest.json")); err != nil {
		t.Error(err)
	}
	if _, err := models.LoadT2I(filepath.Join(straight, "best@0.5")); err != nil {
		t.Error(err)
	}
	// interrupted after step 2 and resumed equals uninterrupted
	split := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Train(ctx, tinyRun(t, split, 6), func(e StepEvent) {
		if e.Step == 2 {
			cancel()
		}
	}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupt: %v", err)
	}
	// resumed under another β or reward model: refused, naming the option and
	// both values, before any negatives are made (the cache is removed here
	// and must not come back)
	if err := os.RemoveAll(filepath.Join(split, "negatives")); err != nil {
		t.Fatal(err)
	}
	o := tinyRun(t, split, 6)
	o.Resume, o.Beta = true, o.Beta*2
	if _, err := Train(context.Background(), o, nil, nil); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("--beta: %g in the checkpoint, %g now", o.Beta/2, o.Beta)) {
		t.Fatalf("resumed under another beta: %v", err)
	}
	o = tinyRun(t, split, 6)
	o.Resume, o.RewardID = true, "other-align"
	if _, err := Train(context.Background(), o, nil, nil); err == nil || !strings.Contains(err.Error(), `--reward-model: "tiny-align" in the checkpoint, "other-align" now`) {
		t.Fatalf("resumed under another reward model: %v", err)
	}
	if _, err := os.Stat(filepath.Join(split, "negatives")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused resume made negatives: %v", err)
	}
	o = tinyRun(t, split, 6)
	o.Resume = true
	if _, err := Train(context.Background(), o, nil, nil); err != nil {
		t.Fatal(err)
	}
	a, _ := ckpt.Read(filepath.Join(latestCheckpoint(t, straight), "policy.safetensors"))
	b, _ := ckpt.Read(filepath.Join(latestCheckpoint(t, split), "policy.safetensors"))
	for _, n := range a.Names() {
		if string(a.Tensors[n].Data) != string(b.Tensors[n].Data) {
			t.Fatalf("%s differs between the straight and the resumed run", n)
		}
	}
	// only the U-Net moved
	base := tinyRun(t, t.TempDir(), 1).Base.Denoiser
	for _, n := range a.Names() {
		if n[:5] == "text." {
			want := nn.Float64s(base.Lookup(n))
			got := a.Tensors[n].Float64s()
			for i := range got {
				if float32(got[i]) != float32(want[i]) {
					t.Fatalf("text encoder weight %s changed", n)
				}
			}
		}
	}
}

// TestTrainKeepBase: with KeepBase the base model's weights are a
// candidate: its validation keeps them under every rule.
func TestTrainKeepBase(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	o := tinyRun(t, t.TempDir(), 1)
	o.KeepBase = true
	var vals []ValidationEvent
	res, err := Train(context.Background(), o, nil, func(v ValidationEvent) { vals = append(vals, v) })
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 2 || strings.Join(vals[0].Kept, ",") != "best@0.5,last" || len(res.Base) != 0 {
		t.Fatalf("validations %+v, base %v", vals, res.Base)
	}
	if v0, v1 := vals[0].Reward["0.5"], vals[1].Reward["0.5"]; (res.BestStep["best@0.5"] == 0) != (v0 >= v1) {
		t.Errorf("best@0.5 kept step %d; rewards %v at 0, %v at 1", res.BestStep["best@0.5"], v0, v1)
	}
}

// TestResumeWithRulesReordered: the selection rules are a set; a resume
// that names them in another order (as rpo eval's rows do) is accepted.
func TestResumeWithRulesReordered(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	dir := t.TempDir()
	if _, err := Train(context.Background(), tinyRun(t, dir, 1), nil, nil); err != nil {
		t.Fatal(err)
	}
	o := tinyRun(t, dir, 1)
	o.Resume = true
	o.Rules, _ = ParseRules("last,best@0.5", 0.5)
	if _, err := Train(context.Background(), o, nil, nil); err != nil {
		t.Fatalf("resumed with the rules reordered: %v", err)
	}
}

// TestTrainWithPriorPreservation: the DreamBooth baseline with class images.
func TestTrainWithPriorPreservation(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	o := tinyRun(t, t.TempDir(), 2)
	o.Loss, o.ClassImages = LossWeights{Sim: 1, Prior: 1}, 2
	if _, err := Train(context.Background(), o, nil, nil); err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile(filepath.Join(o.Out, "negatives", "negatives.json"))
	if err != nil || !strings.Contains(string(man), `"a photo of dog"`) {
		t.Errorf("class images not in the cache: %v", err)
	}
}

// TestResumeKeepsTiming: a resumed run reports the time of the whole run
// (Result.Timing is kept in the checkpoint), not of its last sitting.
func TestResumeKeepsTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	o1 := tinyRun(t, dir, 6)
	o1.ValidateBetween = true // the step-0 validation done when the interrupt comes
	first, err := Train(ctx, o1, func(e StepEvent) {
		if e.Step == 2 {
			cancel()
		}
	}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupt: %v", err)
	}
	if first.Timing["validations"] <= 0 {
		t.Fatalf("first sitting: timing %v", first.Timing)
	}
	// resumed at its last step: nothing left to train, every second is the first sitting's
	o := tinyRun(t, dir, 2)
	o.Resume = true
	res, err := Train(context.Background(), o, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Timing["validations"] != first.Timing["validations"] || res.Timing["steps"] <= 0 || res.Timing["negatives_and_rewards"] < first.Timing["negatives_and_rewards"] ||
		res.Resumed < first.Timing["validations"]+first.Timing["negatives_and_rewards"] {
		t.Errorf("resumed timing %v, first sitting %v", res.Timing, first.Timing)
	}
}

// TestResumeWithPatience: a run with early stopping, interrupted between two
// validations and resumed, stops at the same step with the same weights and
// validations as a run that was not interrupted (the stopper's state is part
// of the checkpoint).
func TestResumeWithPatience(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	run := func(dir string, interruptAt int, resume bool) (Result, []ValidationEvent) {
		o := tinyRun(t, dir, 60)
		o.ValEvery, o.Stopper, o.Resume = 2, EarlyStopper{Patience: 2, MinDelta: 1}, resume
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var vals []ValidationEvent
		res, err := Train(ctx, o, func(e StepEvent) {
			if e.Step == interruptAt {
				cancel()
			}
		}, func(v ValidationEvent) { vals = append(vals, v) })
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		return res, vals
	}
	straight, split := t.TempDir(), t.TempDir()
	want, _ := run(straight, -1, false)
	if !want.Stopped || want.Steps >= 60 {
		t.Fatalf("the straight run did not stop early: %+v", want)
	}
	run(split, 3, false) // after the validations of steps 0 and 2: the stopper has one stale validation
	got, _ := run(split, -1, true)
	if !got.Stopped || got.Steps != want.Steps {
		t.Fatalf("resumed: stopped %v at step %d; uninterrupted: at step %d", got.Stopped, got.Steps, want.Steps)
	}
	a, _ := ckpt.Read(filepath.Join(latestCheckpoint(t, straight), "policy.safetensors"))
	b, _ := ckpt.Read(filepath.Join(latestCheckpoint(t, split), "policy.safetensors"))
	for _, n := range a.Names() {
		if string(a.Tensors[n].Data) != string(b.Tensors[n].Data) {
			t.Fatalf("%s differs between the straight and the resumed run", n)
		}
	}
}

// TestTrainRefusesWhatCannotFit: with less memory available than a step's
// values and AdamW's moments, training stops before sampling anything,
// saying how much it needs and what lowers it.
func TestTrainRefusesWhatCannotFit(t *testing.T) {
	defer func(f func() int64) { MemoryAvailable = f }(MemoryAvailable)
	MemoryAvailable = func() int64 { return 1 << 10 }
	out := t.TempDir()
	o := tinyRun(t, out, 1)
	_, err := Train(context.Background(), o, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "GiB are available") || !strings.Contains(err.Error(), "--lora-rank 4") {
		t.Fatalf("train with 1 KiB available: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(out, "negatives")); len(ents) > 0 {
		t.Errorf("negatives were sampled before the memory check: %d files", len(ents))
	}
	o.LoRA = &nn.LoRA{Rank: 2, Targets: DefaultLoRA().Targets}
	if _, err := Train(context.Background(), o, nil, nil); err == nil || strings.Contains(err.Error(), "--lora-rank") || !strings.Contains(err.Error(), "--resolution") {
		t.Errorf("LoRA run with 1 KiB available: %v", err)
	}
}

// TestOnlineRPO: with OnlineEvery the negatives are drawn again from the
// policy every K steps (cached in online/), which changes the training; a
// run interrupted between two refreshes resumes with the negatives of the
// last one and ends in the uninterrupted run's weights.
func TestOnlineRPO(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model three times")
	}
	run := func(out string, every int, ctx context.Context, onStep func(StepEvent)) error {
		o := tinyRun(t, out, 6)
		o.OnlineEvery, o.ValEvery = every, 6 // no validation at step 3, where the run is interrupted
		_, err := Train(ctx, o, onStep, nil)
		return err
	}
	online, offline := t.TempDir(), t.TempDir()
	if err := run(online, 2, context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := run(offline, 0, context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for _, step := range []int{2, 4} { // refreshes after steps 2 and 4 (none after the last)
		files, _ := filepath.Glob(filepath.Join(online, "online", "*.png"))
		if len(files) != 2*4 {
			t.Errorf("online/ holds %d negatives after refreshes at steps 2 and 4, want 8 (step %d)", len(files), step)
		}
	}
	weights := func(dir string) *ckpt.File {
		f, err := ckpt.Read(filepath.Join(latestCheckpoint(t, dir), "policy.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	same := func(a, b *ckpt.File) bool {
		for _, n := range a.Names() {
			if string(a.Tensors[n].Data) != string(b.Tensors[n].Data) {
				return false
			}
		}
		return true
	}
	if same(weights(online), weights(offline)) {
		t.Error("online RPO trained the same weights as offline")
	}
	// interrupted after step 3 (negatives of step 2, policy of step 3) and resumed
	split := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	if err := run(split, 2, ctx, func(e StepEvent) {
		if e.Step == 3 {
			cancel()
		}
	}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupt: %v", err)
	}
	o := tinyRun(t, split, 6)
	o.OnlineEvery, o.ValEvery, o.Resume = 2, 6, true
	began := -1
	if _, err := Train(context.Background(), o, func(e StepEvent) {
		if began < 0 {
			began = e.Step
		}
	}, nil); err != nil {
		t.Fatal(err)
	}
	if began != 4 {
		t.Fatalf("the resumed run began with step %d, not 4", began)
	}
	if !same(weights(online), weights(split)) {
		t.Error("the resumed online run ends elsewhere than the uninterrupted one")
	}
	// and an online run is not resumed as an offline one
	o = tinyRun(t, split, 8)
	o.ValEvery, o.Resume = 6, true
	if _, err := Train(context.Background(), o, nil, nil); err == nil || !strings.Contains(err.Error(), "online") {
		t.Errorf("an online run resumed offline: %v", err)
	}
}

// TestBaseValidationCached: the first validation (the base model's) is the
// base's samples from the validation noise, kept in the negatives cache; a
// run that shares the cache reads them instead of sampling again. The same
// with LoRA, whose policy starts as the base too.
func TestBaseValidationCached(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	for _, lora := range []bool{false, true} {
		run := func(cache string) Options {
			o := tinyRun(t, t.TempDir(), 1)
			o.NegativesCache = cache
			if lora {
				o.LoRA = &nn.LoRA{Rank: 2, Targets: DefaultLoRA().Targets}
			}
			return o
		}
		cache := t.TempDir()
		o := run(cache)
		var first []ValidationEvent
		if _, err := Train(context.Background(), o, nil, func(v ValidationEvent) { first = append(first, v) }); err != nil {
			t.Fatal(err)
		}
		prompts, seeds := validationPairs(o.Prompts, o.ValPerPrompt)
		want, err := o.Base.Generate(prompts, seeds, o.ValSampler)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range prompts {
			f := filepath.Join(cache, NegativeKey(o.BaseID, p, seeds[i], o.ValSampler)+".png")
			got, err := imageio.Load(f, o.Base.Config.Resolution)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Pix) != string(want[i].Pix) {
				t.Errorf("LoRA %v: %s is not the base model's validation sample of %q, seed %d", lora, f, p, seeds[i])
			}
		}
		// the cached image of the first prompt's first seed made black: the next
		// run's first validation reads it, its later ones sample
		f := filepath.Join(cache, NegativeKey(o.BaseID, prompts[0], seeds[0], o.ValSampler)+".png")
		if err := imageio.SavePNG(f, image.NewRGBA(want[0].Bounds())); err != nil {
			t.Fatal(err)
		}
		var second []ValidationEvent
		if _, err := Train(context.Background(), run(cache), nil, func(v ValidationEvent) { second = append(second, v) }); err != nil {
			t.Fatal(err)
		}
		if len(first) != 2 || len(second) != 2 {
			t.Fatalf("LoRA %v: validations %d and %d", lora, len(first), len(second))
		}
		changed := 0
		for p := range first[0].AlignI {
			if first[0].AlignI[p] != second[0].AlignI[p] {
				changed++
			}
			if first[1].AlignI[p] != second[1].AlignI[p] {
				t.Errorf("LoRA %v, step 1, %q: ALIGN-I %v then %v", lora, p, first[1].AlignI[p], second[1].AlignI[p])
			}
		}
		if changed != 1 {
			t.Errorf("LoRA %v, step 0: the ALIGN-I of %d prompts changed (%v, then %v), want the first prompt's alone", lora, changed, first[0].AlignI, second[0].AlignI)
		}
	}
}

// TestValidationsBesideSteps: validations beside the steps that follow
// them (the default) give the run of validations between the steps,
// file for file: metrics.jsonl, the validation grids, the kept and last
// weights and the checkpoint, for full and LoRA runs; and interrupted while
// a validation runs beside the steps, a run resumed from its directory
// ends the same way too.
func TestValidationsBesideSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("trains tiny models")
	}
	for _, lora := range []bool{false, true} {
		opts := func(dir string, between bool) Options {
			o := tinyRun(t, dir, 9)
			o.ValidateBetween = between
			o.ValSampler.Steps = 3 // an interrupt at its first step's report stops the next
			if lora {
				o.LoRA = &nn.LoRA{Rank: 2, Targets: DefaultLoRA().Targets}
			}
			return o
		}
		between := t.TempDir()
		if _, err := Train(context.Background(), opts(between, true), nil, nil); err != nil {
			t.Fatal(err)
		}
		beside := t.TempDir()
		var steps, seen atomic.Int64
		res, err := Train(context.Background(), opts(beside, false), func(StepEvent) { steps.Add(1) }, func(v ValidationEvent) {
			if v.Step == 0 {
				time.Sleep(50 * time.Millisecond) // the steps go on meanwhile
				seen.Store(steps.Load())
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if seen.Load() == 0 {
			t.Fatalf("LoRA %v: no step ran beside the first validation (timing %v)", lora, res.Timing)
		}
		sameRunFiles(t, fmt.Sprintf("LoRA %v, beside", lora), between, beside)

		split := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		o := opts(split, false)
		progress := o.ValSampler.Progress
		vals := 0
		o.ValSampler.Progress = func(done, total int) { // the second validation (step 3) is interrupted as it samples
			if done == 1 {
				if vals++; vals == 2 {
					cancel()
				}
			}
			if progress != nil {
				progress(done, total)
			}
		}
		res, err = Train(ctx, o, nil, nil)
		if !errors.Is(err, context.Canceled) || res.Saved != 3 {
			t.Fatalf("LoRA %v: interrupted in the validation of step 3: %v, checkpoint of step %d (want 3)", lora, err, res.Saved)
		}
		o = opts(split, false)
		o.Resume = true
		if _, err := Train(context.Background(), o, nil, nil); err != nil {
			t.Fatal(err)
		}
		sameRunFiles(t, fmt.Sprintf("LoRA %v, interrupted beside and resumed", lora), between, split)
	}
}

// sameRunFiles compares two run directories: metrics.jsonl, every
// validation grid and weight file of the kept models, and the newest
// checkpoint's policy.
func sameRunFiles(t *testing.T, what, want, got string) {
	t.Helper()
	files := []string{"metrics.jsonl", "rewards.json"}
	for _, pat := range []string{"val/*/grid.png", "best@0.5/*.safetensors", "last/*.safetensors"} {
		m, _ := filepath.Glob(filepath.Join(want, pat))
		if len(m) == 0 {
			t.Fatalf("%s: no %s in %s", what, pat, want)
		}
		for _, f := range m {
			rel, _ := filepath.Rel(want, f)
			files = append(files, rel)
		}
	}
	for _, f := range files {
		a, err := os.ReadFile(filepath.Join(want, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(got, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: %s differs (%v)", what, f, err)
		}
	}
	a, _ := os.ReadFile(filepath.Join(latestCheckpoint(t, want), "policy.safetensors"))
	b, _ := os.ReadFile(filepath.Join(latestCheckpoint(t, got), "policy.safetensors"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("%s: the checkpoints' policies differ", what)
	}
}
