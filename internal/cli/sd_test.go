package cli

import (
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/eval"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/oracle"
)

// twoPhotos copies two real photos into a directory: DreamBench's dog
// when ../shared/dreambench is there, else the photos of testdata/images.
func twoPhotos(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "refs")
	os.MkdirAll(dir, 0o755)
	src := []string{filepath.Join(oracle.Root(), "testdata", "images", "cmyk.jpg"), filepath.Join(oracle.Root(), "testdata", "images", "exif-orientation-6.jpg")}
	if d := oracle.DreamBench(); d != "" {
		src = []string{filepath.Join(d, "dog", "00.jpg"), filepath.Join(d, "dog", "01.jpg")}
	}
	for i, p := range src {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, []string{"a.jpg", "b.jpg"}[i]), b, 0o644)
	}
	return dir
}

// TestStableDiffusionEndToEnd runs rpo generate and rpo train on a tiny
// Stable Diffusion directory in the diffusers layout, then has diffusers
// load the run's kept unet/ and checks that it computes what rpo computes.
func TestStableDiffusionEndToEnd(t *testing.T) {
	sd := oracle.TinySD(t, "sd1")
	model := filepath.Join(sd, "model")
	gen := filepath.Join(t.TempDir(), "gen")
	if got, err := execute(t, NewRootCmd(), "generate", "--model", model, "--prompt", "a photo of a corgi on the beach, 4k", "-n", "2",
		"--steps", "3", "--out", gen); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	f, err := os.Open(filepath.Join(gen, "001-seed1.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() != 16 {
		t.Fatalf("generated image: %v, %v", err, img.Bounds())
	}
	if _, err := execute(t, NewRootCmd(), "generate", "--model", model, "--prompt", "x", "--resolution", "12", "--out", t.TempDir()); err == nil ||
		!strings.Contains(err.Error(), "resolution 12") {
		t.Errorf("--resolution 12: %v", err)
	}

	// --latents: the reference's initial latents give the reference's image
	e, err := ckpt.Read(filepath.Join(sd, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	lat := filepath.Join(t.TempDir(), "latents.safetensors")
	l0 := e.Tensors["ddim_latents"]
	if err := ckpt.Write(lat, &ckpt.File{Tensors: map[string]ckpt.Tensor{"latents": l0}}); err != nil {
		t.Fatal(err)
	}
	gen2 := filepath.Join(t.TempDir(), "gen2")
	if got, err := execute(t, NewRootCmd(), "generate", "--model", model, "--prompt", "a sks dog on the beach", "--latents", lat,
		"--steps", "4", "--guidance", "7.5", "--out", gen2); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	im, err := imageio.Load(filepath.Join(gen2, "000-seed0.png"), 16)
	if err != nil {
		t.Fatal(err)
	}
	px := make([]float32, 3*16*16)
	imageio.ToCHW(im, px)
	var sum float64
	for i, v := range e.Tensors["ddim_image"].Float32s() {
		sum += math.Abs((float64(px[i])+1)*127.5 - float64(v))
	}
	if mean := sum / float64(len(px)); mean > 1 {
		t.Errorf("--latents image differs from diffusers' by %.3f/255 on average", mean)
	}

	out := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "--subject", "dog", "--refs", twoPhotos(t), "--model", model, "--reward-model", tinyRewardModel(t), "--out", out,
		"--steps", "3", "--val-every", "3", "--val-per-prompt", "1", "--val-steps", "2", "--negatives-per-prompt", "1", "--negative-steps", "2",
		"--select", "last"}
	if got, err := execute(t, NewRootCmd(), args...); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	kept := filepath.Join(out, "last")
	for _, f := range []string{"model.yaml", "unet/config.json", "unet/diffusion_pytorch_model.safetensors"} {
		if _, err := os.Stat(filepath.Join(kept, f)); err != nil {
			t.Fatal(err)
		}
	}
	// the fine-tune differs from the base, and diffusers computes the same with it
	tuned, err := models.LoadT2I(kept)
	if err != nil {
		t.Fatal(err)
	}
	defer tuned.Close()
	base, err := models.LoadDiffusers(model, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	x, ts, ctx := e.Tensors["unet_x"].Float32s(), e.Tensors["unet_t"].Float64s(), e.Tensors["unet_ctx"].Float32s()
	got, err := tuned.Predict(x, ts, ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := base.Predict(x, ts, ctx)
	ref := oracle.Exec(t, "sd_unet_run.py", filepath.Join(kept, "unet"), filepath.Join(sd, "expected.safetensors"))
	r, err := ckpt.Read(filepath.Join(ref, "out.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	want := r.Tensors["unet_out"].Float32s()
	var maxErr, moved, scale float64
	for i := range want {
		maxErr = math.Max(maxErr, math.Abs(float64(got[i]-want[i])))
		moved = math.Max(moved, math.Abs(float64(got[i]-before[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	t.Logf("kept U-Net in diffusers vs rpo: max error %.3g (of %.3g); changed by training by up to %.3g", maxErr, scale, moved)
	if maxErr > 1e-4*scale || moved < 1e-4*scale {
		t.Errorf("kept U-Net: error %.3g, change %.3g, scale %.3g", maxErr, moved, scale)
	}
}

// TestRealEncodersEndToEnd scores and evaluates with CLIPModel and ViTModel
// (DINO) directories in the transformers layout, on a tiny SD model and two
// real photos.
func TestRealEncodersEndToEnd(t *testing.T) {
	enc := oracle.Run(t, "encoders.py")
	sd := filepath.Join(oracle.TinySD(t, "sd1"), "model")
	refs := twoPhotos(t)
	clip, dino := filepath.Join(enc, "clip"), filepath.Join(enc, "dino")
	got, err := execute(t, NewRootCmd(), "score", "--model", clip, "--refs", refs, "--prompt", "a sks dog", filepath.Join(refs, "a.jpg"))
	if err != nil || !strings.Contains(got, "clip") {
		t.Fatalf("score with CLIP: %v\n%s", err, got)
	}
	if _, err := execute(t, NewRootCmd(), "score", "--model", dino, "--refs", refs, "--prompt", "a dog", filepath.Join(refs, "a.jpg")); err == nil ||
		!strings.Contains(err.Error(), "image-only") {
		t.Errorf("score with DINO: %v", err)
	}
	data := filepath.Join(t.TempDir(), "bench") // the DreamBench layout: MiniDreamBench's prompts, the photos as the dog
	if got, err := execute(t, NewRootCmd(), "world", "export", "--out", data); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	os.RemoveAll(filepath.Join(data, "dog"))
	os.MkdirAll(filepath.Join(data, "dog"), 0o755)
	for _, f := range []string{"a.jpg", "b.jpg"} {
		b, _ := os.ReadFile(filepath.Join(refs, f))
		os.WriteFile(filepath.Join(data, "dog", f), b, 0o644)
	}
	out := filepath.Join(t.TempDir(), "eval")
	got, err = execute(t, NewRootCmd(), "eval", "--bench", "dreambench", "--data", data, "--subjects", "dog", "--method", "base", "--model", sd,
		"--images-per-prompt", "1", "--steps", "2", "--clip-model", clip, "--dino-model", dino, "--reward-model", clip, "--out", out)
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, got)
	}
	md, _ := os.ReadFile(filepath.Join(out, "results.md"))
	if !strings.Contains(string(md), "CLIP "+clip) || !strings.Contains(string(md), "DINO "+dino) {
		t.Errorf("results.md does not name the encoders:\n%s", md)
	}
	// rescore the saved images with the minis, then back with CLIP and DINO: the same numbers as the evaluation
	mini, again := filepath.Join(t.TempDir(), "mini"), filepath.Join(t.TempDir(), "again")
	if got, err := execute(t, NewRootCmd(), "eval", "rescore", out, "--out", mini); err != nil || !strings.Contains(got, "rescored 1 subjects") {
		t.Fatalf("rescore: %v\n%s", err, got)
	}
	if got, err := execute(t, NewRootCmd(), "eval", "rescore", out, "--out", again, "--clip-model", clip, "--dino-model", dino, "--reward-model", clip); err != nil {
		t.Fatalf("rescore: %v\n%s", err, got)
	}
	read := func(d string) eval.SubjectResult {
		var r eval.SubjectResult
		b, _ := os.ReadFile(filepath.Join(d, "subjects", "dog.json"))
		json.Unmarshal(b, &r)
		return r
	}
	a, b, c := read(out), read(mini), read(again)
	for _, k := range []string{"dino", "clip_i", "clip_t", "reward"} {
		if math.Abs(a.Summary[k].Mean-c.Summary[k].Mean) > 1e-6 {
			t.Errorf("%s: evaluation %g, rescored with the same encoders %g", k, a.Summary[k].Mean, c.Summary[k].Mean)
		}
	}
	if a.Summary["dino"].Mean == b.Summary["dino"].Mean {
		t.Errorf("rescoring with dino-mini gave the same DINO as the ViT")
	}
	if _, err := execute(t, NewRootCmd(), "eval", "rescore", out, "--out", mini); err == nil {
		t.Errorf("rescore into a directory with subjects: no error")
	}
}

// TestLoRAEndToEnd trains LoRA adapters on a tiny SD model from two real
// photos, resumes the run, and checks that the checkpoint holds only the
// adapters, that the kept LoRA file loaded by diffusers (load_attn_procs)
// computes what the kept merged U-Net computes in rpo, and that rpo
// generate --lora applies it.
func TestLoRAEndToEnd(t *testing.T) {
	sd := oracle.TinySD(t, "sd1")
	model := filepath.Join(sd, "model")
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "--subject", "dog", "--refs", twoPhotos(t), "--model", model, "--reward-model", tinyRewardModel(t), "--out", out,
		"--steps", "2", "--val-every", "2", "--val-per-prompt", "1", "--val-steps", "2", "--negatives-per-prompt", "1", "--negative-steps", "2",
		"--select", "last", "--lora-rank", "2", "--lora-alpha", "4", "--lr", "0.05"}
	if got, err := execute(t, NewRootCmd(), args...); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	if got, err := execute(t, NewRootCmd(), append(args, "--resume", "--steps", "4")...); err != nil {
		t.Fatalf("resume: %v\n%s", err, got)
	}
	ck, _ := filepath.Glob(filepath.Join(out, "checkpoints", "ckpt-*", "policy.safetensors"))
	if len(ck) != 1 {
		t.Fatalf("checkpoints: %v", ck)
	}
	f, err := ckpt.Read(ck[0])
	if err != nil {
		t.Fatal(err)
	}
	for n := range f.Tensors {
		if !strings.Contains(n, ".lora.") {
			t.Fatalf("the checkpoint holds %s, not only adapters", n)
		}
	}
	kept := filepath.Join(out, "last")
	if _, err := os.Stat(filepath.Join(kept, "unet")); err == nil {
		t.Errorf("an SD LoRA run kept a whole U-Net: %s/unet", kept)
	}
	lf, err := ckpt.Read(filepath.Join(kept, models.LoRAFile))
	if err != nil {
		t.Fatal(err)
	}
	var up float64
	for n, tt := range lf.Tensors {
		if strings.HasSuffix(n, ".lora.up.weight") {
			for _, v := range tt.Float64s() {
				up = math.Max(up, math.Abs(v))
			}
		}
	}
	if up == 0 || lf.Metadata["lora_alpha"] != "4" {
		t.Errorf("the adapters did not train (max |up| %g) or α is not recorded (%q)", up, lf.Metadata["lora_alpha"])
	}
	tuned, err := models.LoadT2I(kept)
	if err != nil {
		t.Fatal(err)
	}
	defer tuned.Close()
	e, _ := ckpt.Read(filepath.Join(sd, "expected.safetensors"))
	x, ts, ctx := e.Tensors["unet_x"].Float32s(), e.Tensors["unet_t"].Float64s(), e.Tensors["unet_ctx"].Float32s()
	got, err := tuned.Predict(x, ts, ctx)
	if err != nil {
		t.Fatal(err)
	}
	ref := oracle.Exec(t, "sd_lora_run.py", filepath.Join(model, "unet"), filepath.Join(kept, models.LoRAFile), filepath.Join(sd, "expected.safetensors"))
	r, err := ckpt.Read(filepath.Join(ref, "out.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	want := r.Tensors["unet_out"].Float32s()
	var maxErr, scale float64
	for i := range want {
		maxErr = math.Max(maxErr, math.Abs(float64(got[i]-want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	t.Logf("kept model (base + adapters) in rpo vs base + the run's LoRA file in diffusers: max error %.3g of %.3g", maxErr, scale)
	if maxErr > 1e-4*scale {
		t.Errorf("max error %.3g of %.3g", maxErr, scale)
	}
	if got, err := execute(t, NewRootCmd(), "generate", "--model", model, "--lora", filepath.Join(kept, models.LoRAFile), "--prompt", "a sks dog",
		"-n", "1", "--steps", "2", "--out", t.TempDir()); err != nil {
		t.Fatalf("generate --lora: %v\n%s", err, got)
	}
	// rpo lora merge of the kohya file: the kept model's U-Net again
	merged := filepath.Join(t.TempDir(), "merged")
	if got, err := execute(t, NewRootCmd(), "lora", "merge", "--model", model, "--lora", filepath.Join(kept, models.KohyaLoRAFile), "--out", merged); err != nil {
		t.Fatalf("lora merge: %v\n%s", err, got)
	}
	mm, err := models.LoadT2I(merged)
	if err != nil {
		t.Fatal(err)
	}
	defer mm.Close()
	again, _ := mm.Predict(x, ts, ctx)
	for i := range again {
		if math.Abs(float64(again[i]-got[i])) > 1e-5 {
			t.Fatalf("rpo lora merge: element %d is %g, the kept model's %g", i, again[i], got[i])
		}
	}
}

// TestAlignEndToEnd scores photos with an AlignModel directory and trains a
// tiny SD model with it as the reward model: its rewards are what the
// trainer records.
func TestAlignEndToEnd(t *testing.T) {
	align := filepath.Join(oracle.Run(t, "align.py"), "align")
	sd := filepath.Join(oracle.TinySD(t, "sd1"), "model")
	refs := twoPhotos(t)
	got, err := execute(t, NewRootCmd(), "score", "--model", align, "--refs", refs, "--prompt", "a sks dog", "--json", filepath.Join(refs, "a.jpg"), filepath.Join(refs, "b.jpg"))
	if err != nil {
		t.Fatalf("score with ALIGN: %v\n%s", err, got)
	}
	var sc struct {
		Prompt string     `json:"prompt"`
		Scores []ScoreRow `json:"scores"`
	}
	js := got[strings.LastIndex(got, "\n{")+1:] // after the log lines
	if err := json.Unmarshal([]byte(js), &sc); err != nil || len(sc.Scores) != 2 || sc.Prompt != "a dog" {
		t.Fatalf("score output: %v\n%s", err, got)
	}
	for _, r := range sc.Scores {
		if !(r.AlignI > 0 && r.AlignI <= 1 && r.AlignT > 0 && r.AlignT < 1) {
			t.Errorf("%s: ALIGN-I %g, ALIGN-T %g outside (0, 1]", r.Image, r.AlignI, r.AlignT)
		}
	}
	if a, b := sc.Scores[0], sc.Scores[1]; a.AlignT == b.AlignT { // (their ALIGN-I is symmetric: each is the other's reference)
		t.Errorf("two photos score the same: %+v, %+v", a, b)
	}
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "--subject", "dog", "--refs", refs, "--model", sd, "--reward-model", align, "--out", out,
		"--steps", "2", "--val-every", "2", "--val-per-prompt", "1", "--val-steps", "2", "--negatives-per-prompt", "1", "--negative-steps", "2",
		"--select", "last"}
	if got, err := execute(t, NewRootCmd(), args...); err != nil {
		t.Fatalf("train with ALIGN: %v\n%s", err, got)
	}
	b, err := os.ReadFile(filepath.Join(out, "rewards.json"))
	if err != nil || !strings.Contains(string(b), "align_i") && !strings.Contains(string(b), "reward") {
		t.Errorf("rewards.json: %v\n%.300s", err, b)
	}
}
