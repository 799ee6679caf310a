package eval

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/dreambench"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/rpo"
	"github.com/rpo-dev/rpo/internal/world"
)

func tinyModels(t *testing.T) Models {
	base, err := models.NewT2I(models.TinyT2IConfig(16), 1)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(name string, dual bool, seed uint64) *models.Encoder {
		e, err := models.NewEncoder(models.TinyEncoderConfig(name, dual, 16), nil, seed)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		return e
	}
	t.Cleanup(base.Close)
	return Models{Base: base, BaseID: "tiny", Align: enc("align", true, 1), Clip: enc("clip", true, 2), Dino: enc("dino", false, 3)}
}

func tinyOptions(t *testing.T, b *dreambench.Bench, out string, method Method) Options {
	rules, _ := rpo.ParseRules("best@0.5,last", 0.5)
	return Options{Bench: b, BenchName: "minidreambench v0", Out: out, Subjects: []string{"dog", "can", "cat2"}, Method: method, Token: "sks",
		ImagesPerPrompt: 1, Sampler: diffusion.Sampler{Steps: 2, Guidance: 7.5}, LambdaVal: 0.5, Seed: 10,
		Train: rpo.Options{Beta: 1, Rules: rules, ValEvery: 2, ValPerPrompt: 1, ValSampler: diffusion.Sampler{Steps: 2, Guidance: 7.5},
			NegPerPrompt: 1, NegSampler: diffusion.Sampler{Steps: 2, Guidance: 7.5}, LabelMode: rpo.Bernoulli, CheckpointEvery: time.Hour}}
}

// tinyBench is MiniDreamBench variant 0, exported to a temporary directory.
func tinyBench(t *testing.T) *dreambench.Bench {
	t.Helper()
	data := t.TempDir()
	if err := world.Export(data, 0); err != nil {
		t.Fatal(err)
	}
	b, err := dreambench.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEvaluationShardsMergeAndReports(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 75 images")
	}
	b := tinyBench(t)
	m := tinyModels(t)
	base := Method{Name: "base"}
	single := t.TempDir()
	if err := Run(context.Background(), tinyOptions(t, b, single, base), m, nil); err != nil {
		t.Fatal(err)
	}
	var shards []string
	for i := 0; i < 2; i++ {
		d := t.TempDir()
		o := tinyOptions(t, b, d, base)
		o.Shard, o.Shards = i, 2
		if err := Run(context.Background(), o, m, nil); err != nil {
			t.Fatal(err)
		}
		shards = append(shards, d)
	}
	meta := Meta{Bench: "minidreambench v0", Method: "base", Models: []string{"tiny"}, PromptCleaning: "token removed, class kept", Seeds: "10+1000·prompt+image", ImagesPerPrompt: 1}
	r1, err := Merge([]string{single}, filepath.Join(single, "report"), meta)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Merge(shards, filepath.Join(t.TempDir(), "report"), meta)
	if err != nil {
		t.Fatal(err)
	}
	if len(r1.Subjects) != 3 || len(r2.Subjects) != 3 {
		t.Fatalf("%d and %d subjects", len(r1.Subjects), len(r2.Subjects))
	}
	for _, mm := range Metrics {
		if r1.Summary[mm.Key] != r2.Summary[mm.Key] {
			t.Errorf("%s: single %+v, shards %+v", mm.Key, r1.Summary[mm.Key], r2.Summary[mm.Key])
		}
	}
	for _, s := range r1.Subjects {
		want := 25
		if len(s.Prompts) != want {
			t.Errorf("%s: %d prompts", s.Subject, len(s.Prompts))
		}
		if strings.Contains(s.Prompts[0].Clean, "sks") || !strings.Contains(s.Prompts[0].Clean, s.Class) {
			t.Errorf("prompt cleaning: %q", s.Prompts[0].Clean)
		}
	}
	// the report files exist and parse
	dir := filepath.Join(single, "report")
	var rep Report
	if b, err := os.ReadFile(filepath.Join(dir, "results.json")); err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("results.json: %v", err)
	}
	f, _ := os.Open(filepath.Join(dir, "subjects.csv"))
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 4 || rows[0][3] != "dino" {
		t.Errorf("subjects.csv: %v %v", rows, err)
	}
	var gen float64
	for _, sr := range rep.Subjects {
		gen += sr.Seconds["generate"]
	}
	if gen == 0 || math.Abs(rep.Seconds["generate"]-gen) > 1e-9 {
		t.Errorf("generate seconds %v, subjects sum to %v", rep.Seconds["generate"], gen)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "results.md"))
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if !strings.Contains(string(md), "| base |") || !strings.Contains(string(md), "Time: ") || !strings.Contains(string(html), `<table id="summary">`) || !strings.Contains(string(html), "data:image/png;base64,") {
		t.Errorf("markdown or html incomplete")
	}
	// each prompt's row holds its images (sprites of the grid, inlined once) and scores; the references beside them
	if strings.Count(string(html), `<span class="im g0"`) != 25 || strings.Count(string(html), ".g0{background-image:url(data:image/png;base64,") != 1 ||
		!strings.Contains(string(html), "<td>a sks dog on the beach</td>") {
		t.Errorf("report.html has no labeled images per prompt")
	}
	if strings.Count(string(html), `alt="the references of `) != 3 {
		t.Errorf("report.html lacks the references")
	}
	// an interrupted evaluation resumes: finished subjects are skipped
	before, _ := os.Stat(filepath.Join(single, "subjects", "dog.json"))
	if err := Run(context.Background(), tinyOptions(t, b, single, base), m, nil); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(filepath.Join(single, "subjects", "dog.json"))
	if !before.ModTime().Equal(after.ModTime()) {
		t.Error("a finished subject was evaluated again")
	}
	// a trained method runs the trainer per subject
	tr := tinyOptions(t, b, t.TempDir(), Method{Name: "rpo", Train: true, Loss: rpo.LossWeights{Sim: 1, Pref: 1}, Rule: "best@0.5", Steps: 2, LR: 1e-3})
	tr.Subjects = []string{"can"}
	var heard []string
	tr.OnValidation = func(subject string, ev rpo.ValidationEvent) { heard = append(heard, fmt.Sprint(subject, ev.Step)) }
	if err := Run(context.Background(), tr, m, nil); err != nil {
		t.Fatal(err)
	}
	if len(heard) == 0 || heard[0] != "can0" {
		t.Errorf("validations heard while training: %v", heard)
	}
	if _, err := os.Stat(filepath.Join(tr.Out, "runs", "can", "best@0.5", "model.yaml")); err != nil {
		t.Error(err)
	}
	// its result holds the run's history, and the report draws it
	var can SubjectResult
	if err := readJSON(filepath.Join(tr.Out, "subjects", "can.json"), &can); err != nil {
		t.Fatal(err)
	}
	if h := can.Training; h == nil || len(h.Steps) != 2 || len(h.LSim) != 2 || len(h.Validation) != 2 || h.Rule != "best@0.5" || h.KeptStep < 0 {
		t.Errorf("training history %+v", h)
	}
	trep, err := Merge([]string{tr.Out}, tr.Out, Meta{Method: "rpo", ImagesPerPrompt: 1, Training: "2 steps"})
	if err != nil {
		t.Fatal(err)
	}
	thtml, _ := os.ReadFile(filepath.Join(tr.Out, "report.html"))
	if len(trep.Subjects) != 1 || strings.Count(string(thtml), `alt="training curve of can"`) != 2 || !strings.Contains(string(thtml), "Training: 2 steps.") {
		t.Errorf("report.html of a trained method lacks its curves or settings")
	}
	// the negatives land in the cache the subjects share, not in the run
	if _, err := os.Stat(filepath.Join(tr.Out, "runs", "negatives", "negatives.json")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(tr.Out, "runs", "can", "negatives")); err == nil {
		t.Error("the run sampled its own negatives")
	}
	// a row that differs only in the selected checkpoint shares the run
	metrics := filepath.Join(tr.Out, "runs", "can", "metrics.jsonl")
	before, _ = os.Stat(metrics)
	last := tr
	last.Method.Rule, last.Out, last.Runs = "last", t.TempDir(), filepath.Join(tr.Out, "runs")
	if err := Run(context.Background(), last, m, nil); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(metrics); after.Size() != before.Size() {
		t.Error("the shared run was trained again")
	}
	// ... and a method trained otherwise is refused
	other := last
	other.Method.LR, other.Out = 2e-3, t.TempDir()
	if err := Run(context.Background(), other, m, nil); err == nil || !strings.Contains(err.Error(), "eval-run.json") {
		t.Errorf("a run trained with another learning rate was shared: %v", err)
	}
	other = last
	other.Method.Beta, other.Out = 0.3, t.TempDir()
	if err := Run(context.Background(), other, m, nil); err == nil || !strings.Contains(err.Error(), "β 1") {
		t.Errorf("a run trained with β 1 was shared by a β 0.3 method: %v", err)
	}
	// a run trained before the base model stopped being a candidate (its
	// claim has no keep_base) is not shared by a default method
	claim := filepath.Join(tr.Out, "runs", "can", "eval-run.json")
	cb, _ := os.ReadFile(claim)
	var cm map[string]any
	if err := json.Unmarshal(cb, &cm); err != nil || cm["keep_base"] != false {
		t.Fatalf("claim %s: %v", cb, err)
	}
	delete(cm, "keep_base")
	cb, _ = json.Marshal(cm)
	os.WriteFile(claim, cb, 0o644)
	other = last
	other.Out = t.TempDir()
	if err := Run(context.Background(), other, m, nil); err == nil || !strings.Contains(err.Error(), "base model a candidate: true") {
		t.Errorf("an older run that kept the base model was shared: %v", err)
	}
	if _, err := Select(b.Subjects, []string{"unicorn"}, 0, 1); err == nil {
		t.Error("unknown subject accepted")
	}
}

// TestTimeLine: the report's time line, in minutes, with the training split.
func TestTimeLine(t *testing.T) {
	got := timeLine(map[string]float64{"train": 600, "train_negatives_and_rewards": 60, "train_steps": 180, "train_validations": 360, "generate": 240, "score": 6}, 2)
	want := "Time: 14.1 min for 2 subjects (7.0 min each) — train 10.0 (negatives and rewards 1.0, steps 3.0, validations 6.0), generate 4.0, score 0.1."
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := timeLine(map[string]float64{"generate": 90, "score": 30}, 1); got != "Time: 2.0 min for 1 subject (2.0 min each) — generate 1.5, score 0.5." {
		t.Errorf("base method: %q", got)
	}
	if timeLine(nil, 0) != "" {
		t.Error("a report without times has a time line")
	}
}

func TestAddConfusion(t *testing.T) {
	counts := make([][]int, len(world.Classes))
	for i := range counts {
		counts[i] = make([]int, len(world.Classes))
	}
	counts[0][0], counts[0][1], counts[0][2] = 2, 1, 1 // class 0: 4 images, 2 right
	m := map[string]float64{}
	addConfusion(m, counts)
	c0, c1, c2 := world.Classes[0].Name, world.Classes[1].Name, world.Classes[2].Name
	want := map[string]float64{"class_top1/" + c0: 0.5, "confusion/" + c0 + "→" + c1: 0.25, "confusion/" + c0 + "→" + c2: 0.25}
	if len(m) != len(want) {
		t.Fatalf("got %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %g, want %g", k, m[k], v)
		}
	}
}

// TestRealImagesRow hand-checks the upper-bound row: a subject whose
// references are one image repeated scores DINO = CLIP-I = 1 (every other
// reference is the same picture) and ALIGN-I = 1, and nothing is generated;
// real references score below that, and base images are saved one by one.
func TestRealImagesRow(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "mdb")
	if err := world.Export(data, 0); err != nil {
		t.Fatal(err)
	}
	same := filepath.Join(data, "dog")
	imgs, _ := filepath.Glob(filepath.Join(same, "*.png"))
	b0, _ := os.ReadFile(imgs[0])
	for _, p := range imgs[1:] {
		os.WriteFile(p, b0, 0o644)
	}
	b, err := dreambench.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	m := tinyModels(t)
	o := tinyOptions(t, b, filepath.Join(dir, "real"), Method{Name: "real", Real: true})
	o.Subjects = []string{"dog", "cat2"}
	if err := Run(context.Background(), o, m, nil); err != nil {
		t.Fatal(err)
	}
	var dog, cat SubjectResult
	for name, r := range map[string]*SubjectResult{"dog": &dog, "cat2": &cat} {
		raw, err := os.ReadFile(filepath.Join(o.Out, "subjects", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(raw, r)
	}
	for _, k := range []string{"dino", "clip_i"} {
		if v := dog.Summary[k].Mean; math.Abs(v-1) > 1e-6 {
			t.Errorf("identical references: %s %g, want 1", k, v)
		}
		if v := cat.Summary[k].Mean; v >= 1-1e-6 {
			t.Errorf("distinct references: %s %g, want below 1", k, v)
		}
	}
	if dog.Grid != "" || dog.Images != "" {
		t.Errorf("the real row generated images: %q %q", dog.Grid, dog.Images)
	}
	base := tinyOptions(t, b, filepath.Join(dir, "base"), Method{Name: "base"})
	base.Subjects = []string{"cat2"}
	if err := Run(context.Background(), base, m, nil); err != nil {
		t.Fatal(err)
	}
	saved, _ := filepath.Glob(filepath.Join(base.Out, "images", "cat2", "*.png"))
	if len(saved) != 25 { // 25 prompts × 1 image
		t.Errorf("%d images saved, want 25", len(saved))
	}
}

// TestLoRAMethod: a method with LoRA trains adapters only and keeps them
// beside the merged weights; its run is not shared with a full fine-tune.
func TestLoRAMethod(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	b := tinyBench(t)
	m := tinyModels(t)
	l := rpo.DefaultLoRA()
	o := tinyOptions(t, b, t.TempDir(), Method{Name: "lora-rpo", Train: true, Loss: rpo.LossWeights{Sim: 1, Pref: 1}, Rule: "best@0.5", Steps: 2, LR: 1e-3, LoRA: &l})
	o.Subjects = []string{"can"}
	if err := Run(context.Background(), o, m, nil); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(o.Out, "runs", "can")
	if _, err := os.Stat(filepath.Join(run, "best@0.5", "pytorch_lora_weights.safetensors")); err != nil {
		t.Error(err)
	}
	var claim map[string]any
	if err := readJSON(filepath.Join(run, "eval-run.json"), &claim); err != nil || claim["lora"] != "rank 4, alpha 4, to_q,to_k,to_v,to_out.0" {
		t.Errorf("claim %v %v", claim, err)
	}
	full := o
	full.Method.LoRA, full.Out, full.Runs = nil, t.TempDir(), filepath.Join(o.Out, "runs")
	if err := Run(context.Background(), full, m, nil); err == nil || !strings.Contains(err.Error(), "LoRA") {
		t.Errorf("a full fine-tune shared a LoRA run: %v", err)
	}
}

// TestSharedSamples: a row that keeps the same weights as an earlier row of
// its run reads that row's images instead of sampling again, and scores
// them to the last bit; weights of another step are sampled afresh.
func TestSharedSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	b := tinyBench(t)
	m := tinyModels(t)
	first := tinyOptions(t, b, t.TempDir(), Method{Name: "rpo", Train: true, Loss: rpo.LossWeights{Sim: 1, Pref: 1}, Rule: "last", Steps: 4, LR: 1e-3})
	first.Subjects, first.Runs = []string{"can"}, filepath.Join(t.TempDir(), "runs")
	row := func(rule string) (SubjectResult, string) {
		o := first
		o.Method.Rule, o.Out = rule, t.TempDir()
		if err := Run(context.Background(), o, m, nil); err != nil {
			t.Fatal(err)
		}
		var r SubjectResult
		if err := readJSON(filepath.Join(o.Out, "subjects", "can.json"), &r); err != nil {
			t.Fatal(err)
		}
		return r, o.Out
	}
	fresh, freshOut := row("last")
	again, againOut := row("last")
	if fresh.SharedSamples || !again.SharedSamples {
		t.Fatalf("shared: first row %v, second row of the same weights %v", fresh.SharedSamples, again.SharedSamples)
	}
	if fmt.Sprint(fresh.Prompts) != fmt.Sprint(again.Prompts) {
		t.Errorf("the shared images scored otherwise:\n%v\n%v", fresh.Prompts, again.Prompts)
	}
	for i := range fresh.Prompts {
		a, _ := os.ReadFile(filepath.Join(freshOut, fresh.Images, sampleName(i, 1)))
		c, err := os.ReadFile(filepath.Join(againOut, again.Images, sampleName(i, 1)))
		if err != nil || !bytes.Equal(a, c) {
			t.Fatalf("image %d differs from the sampled one (%v)", i, err)
		}
	}
	// best@0.5 kept step 2 or 4: shared exactly when it is the last step
	best, _ := row("best@0.5")
	if same := best.Training.KeptStep == fresh.Training.KeptStep; best.SharedSamples != same {
		t.Errorf("best@0.5 kept step %d, last %d, shared %v", best.Training.KeptStep, fresh.Training.KeptStep, best.SharedSamples)
	}
	if samplesKey("a", first.Sampler, []string{"x"}, []uint64{1}) == samplesKey("b", first.Sampler, []string{"x"}, []uint64{1}) ||
		samplesKey("a", first.Sampler, []string{"x"}, []uint64{1}) == samplesKey("a", first.Sampler, []string{"x"}, []uint64{2}) {
		t.Error("other weights or seeds share a key")
	}
}
