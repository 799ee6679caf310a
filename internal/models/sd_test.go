package models

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/oracle"
)

// parity compares got with the reference want: the largest absolute error
// and the largest error relative to the reference's largest magnitude.
func parity(t *testing.T, what string, got, want []float32, relTol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var maxAbs, scale float64
	for i := range got {
		maxAbs = math.Max(maxAbs, math.Abs(float64(got[i])-float64(want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	rel := maxAbs / scale
	t.Logf("%s: max abs error %.3g, relative %.3g (reference max %.3g)", what, maxAbs, rel, scale)
	if !(rel <= relTol) {
		t.Errorf("%s: relative error %.3g over %.3g", what, rel, relTol)
	}
}

func expected(t *testing.T, dir string) *ckpt.File {
	t.Helper()
	f, err := ckpt.Read(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSDUNetMatchesDiffusers(t *testing.T) {
	defer func(v int) { nn.FusedAttentionMin = v }(nn.FusedAttentionMin)
	for _, run := range []string{"sd1", "sd2", "sd1 fused", "sd2 fused"} {
		variant, fused := strings.CutSuffix(run, " fused")
		nn.FusedAttentionMin = map[bool]int{true: 0, false: 1 << 30}[fused]
		dir := oracle.TinySD(t, variant)
		var c SDUNetConfig
		b, _ := os.ReadFile(filepath.Join(dir, "model", "unet", "config.json"))
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		e := expected(t, dir)
		xs := e.Tensors["unet_x"].Shape
		store := nn.NewStore(tensor.Float32, 1)
		bd := nn.NewBuilder(store, nil)
		x, xd := bd.InputData("x", xs...)
		tf, tfd := bd.InputData("t", xs[0], c.TimeDim())
		cs := e.Tensors["unet_ctx"].Shape
		ctx, ctxd := bd.InputData("ctx", cs...)
		var out G.Value
		if err := nn.Build(func() { G.Read(SDUNet(bd, &c, x, tf, ctx), &out) }); err != nil {
			t.Fatal(err)
		}
		w, err := ckpt.Read(filepath.Join(dir, "model", "unet", "diffusion_pytorch_model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if err := ckpt.LoadStore(store, w, "", "unet"); err != nil {
			t.Fatal(err)
		}
		copy(xd.Data().([]float32), e.Tensors["unet_x"].Float32s())
		copy(ctxd.Data().([]float32), e.Tensors["unet_ctx"].Float32s())
		ts := e.Tensors["unet_t"].Float64s()
		for i, v := range c.TimestepFeatures(ts) {
			tfd.Data().([]float32)[i] = float32(v)
		}
		prog, err := nn.Compile(bd, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		parity(t, run+" unet", out.Data().([]float32), e.Tensors["unet_out"].Float32s(), 1e-4)
		prog.Close()
	}
}

// TestSDMatchesDiffusers loads the tiny diffusers directories as a user's
// model and checks the VAE (posterior mean, decoder), the text encoder's
// hidden states and a whole DDIM trajectory with guidance against the
// references.
func TestSDMatchesDiffusers(t *testing.T) {
	for _, variant := range []string{"sd1", "sd2"} {
		dir := oracle.TinySD(t, variant)
		m, err := LoadDiffusers(filepath.Join(dir, "model"), 0, "")
		if err != nil {
			t.Fatal(err)
		}
		e := expected(t, dir)
		// text encoder
		ids := e.Tensors["text_ids"].Float32s()
		var hidden []float32
		for r := 0; r < 2; r++ {
			row := make([]int, m.Config.MaxLen)
			for i := range row {
				row[i] = int(ids[r*m.Config.MaxLen+i])
			}
			s, err := m.TextStates(row)
			if err != nil {
				t.Fatal(err)
			}
			hidden = append(hidden, s...)
		}
		parity(t, variant+" text encoder", hidden, e.Tensors["text_hidden"].Float32s(), 1e-4)
		// VAE encode: posterior mean (EncodeCHW scales by scaling_factor)
		lat, err := m.EncodeCHW(e.Tensors["vae_x"].Float32s(), 2)
		if err != nil {
			t.Fatal(err)
		}
		sf := float32(m.Config.SD.VAE.ScalingFactor)
		for i := range lat {
			lat[i] /= sf
		}
		parity(t, variant+" vae mean", lat, e.Tensors["vae_mean"].Float32s(), 1e-4)
		// VAE decode
		dec, err := m.decoder(2)
		if err != nil {
			t.Fatal(err)
		}
		copy(dec.z.Data().([]float32), e.Tensors["vae_z"].Float32s())
		if _, err := dec.prog.Run(); err != nil {
			t.Fatal(err)
		}
		parity(t, variant+" vae decode", dec.out.Data().([]float32), e.Tensors["vae_dec"].Float32s(), 1e-4)
	}
}

// TestSDTrajectoryMatchesDiffusers runs DDIM with classifier-free guidance
// from the reference's initial latents, as StableDiffusionPipeline does,
// and compares the final latents and the decoded 8-bit image.
func TestSDTrajectoryMatchesDiffusers(t *testing.T) {
	for _, variant := range []string{"sd1", "sd2"} {
		dir := oracle.TinySD(t, variant)
		m, err := LoadDiffusers(filepath.Join(dir, "model"), 0, "")
		if err != nil {
			t.Fatal(err)
		}
		e := expected(t, dir)
		s := diffusion.Sampler{Steps: 4, Guidance: 7.5}
		s.Schedule = m.Schedule
		want := e.Tensors["ddim_timesteps"].Float64s()
		for i, ts := range s.Timesteps() {
			if float64(ts) != want[i] {
				t.Fatalf("%s: timesteps %v, diffusers %v", variant, s.Timesteps(), want)
			}
		}
		lat, err := m.Sample([]string{"a sks dog on the beach"}, e.Tensors["ddim_latents"].Float32s(), rand.New(rand.NewPCG(1, 2)), s)
		if err != nil {
			t.Fatal(err)
		}
		parity(t, variant+" ddim latents", lat, e.Tensors["ddim_out"].Float32s(), 1e-4)
		imgs, err := m.DecodeLatents(lat, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref := e.Tensors["ddim_image"].Float32s()
		got := make([]float32, len(ref))
		imageio.ToCHW(imgs[0], got)
		var sum, worst float64
		for i := range got {
			d := math.Abs((float64(got[i])+1)*127.5 - float64(ref[i]))
			sum += d
			worst = math.Max(worst, d)
		}
		mean := sum / float64(len(got))
		t.Logf("%s ddim image: mean |Δ| %.4f/255, max %.0f/255", variant, mean, worst)
		if mean > 1 {
			t.Errorf("%s: image differs by %.3f/255 on average", variant, mean)
		}
	}
}

// TestSingleFileMatchesDiffusers loads the tiny models from one
// original-layout file (the one diffusers' convert_from_ckpt turns back into
// the diffusers weights) with its LDM yaml, and checks the same outputs.
func TestSingleFileMatchesDiffusers(t *testing.T) {
	for _, variant := range []string{"sd1", "sd2"} {
		dir := oracle.TinySD(t, variant)
		m, err := OpenT2I(filepath.Join(dir, "single.safetensors"), SDOptions{OriginalConfig: filepath.Join(dir, "single.yaml")})
		if err != nil {
			t.Fatal(err)
		}
		ref, err := LoadDiffusers(filepath.Join(dir, "model"), 0, "")
		if err != nil {
			t.Fatal(err)
		}
		// the same configuration and every tensor equal
		for _, pair := range [][2]any{{m.Config.SD.UNet.BlockOutChannels, ref.Config.SD.UNet.BlockOutChannels},
			{m.Config.Prediction, ref.Config.Prediction}, {m.Config.Resolution, ref.Config.Resolution},
			{m.Config.SD.Text.NumHiddenLayers, ref.Config.SD.Text.NumHiddenLayers}} {
			if fmt.Sprint(pair[0]) != fmt.Sprint(pair[1]) {
				t.Errorf("%s: inferred %v, diffusers directory %v", variant, pair[0], pair[1])
			}
		}
		for _, s := range [][2]*nn.Store{{m.Denoiser, ref.Denoiser}, {m.AE, ref.AE}, {m.Text, ref.Text}} {
			if len(s[0].Names()) != len(s[1].Names()) {
				t.Fatalf("%s: %d tensors, diffusers directory %d", variant, len(s[0].Names()), len(s[1].Names()))
			}
			for _, n := range s[1].Names() {
				a, b := s[0].Lookup(n), s[1].Lookup(n)
				if a == nil || !slices.Equal(a.Data().([]float32), b.Data().([]float32)) {
					t.Fatalf("%s: tensor %s differs from the diffusers directory's", variant, n)
				}
			}
		}
		e := expected(t, dir)
		got, err := m.Predict(e.Tensors["unet_x"].Float32s(), e.Tensors["unet_t"].Float64s(), e.Tensors["unet_ctx"].Float32s())
		if err != nil {
			t.Fatal(err)
		}
		parity(t, variant+" single-file unet", got, e.Tensors["unet_out"].Float32s(), 1e-4)
		s := diffusion.Sampler{Steps: 4, Guidance: 7.5}
		lat, err := m.Sample([]string{"a sks dog on the beach"}, e.Tensors["ddim_latents"].Float32s(), rand.New(rand.NewPCG(1, 2)), s)
		if err != nil {
			t.Fatal(err)
		}
		parity(t, variant+" single-file ddim latents (embedded vocabulary)", lat, e.Tensors["ddim_out"].Float32s(), 1e-4)
		m.Close()
		ref.Close()
	}
}
