package models

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rpo-dev/rpo/internal/oracle"
)

// TestFullSizeLayout loads Stable Diffusion at full size (random weights
// that diffusers built from SD 1.5's or SD 2.1's configurations and saved:
// make parity-full writes them and sets RPOTEST_SD_FULL) and checks every
// component against diffusers at small latents: every tensor found with
// its shape, nothing left over (the loader refuses both), and the outputs.
func TestFullSizeLayout(t *testing.T) {
	dir := os.Getenv("RPOTEST_SD_FULL")
	if dir == "" {
		t.Skip("RPOTEST_SD_FULL is not set (make parity-full)")
	}
	model := filepath.Join(dir, "model")
	if _, err := os.Stat(filepath.Join(model, "tokenizer")); err != nil { // the real CLIP vocabulary, from the tiny model
		tiny := filepath.Join(oracle.TinySD(t, "sd1"), "model", "tokenizer")
		if b, err := exec.Command("cp", "-r", tiny, filepath.Join(model, "tokenizer")).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
	}
	start := time.Now()
	m, err := LoadDiffusers(model, 64, "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("loaded in %.1f s: unet %d tensors, %d parameters; vae %d; text encoder %d (heap %.1f GB)", time.Since(start).Seconds(),
		m.Denoiser.Len(), m.Denoiser.Count(), m.AE.Count(), m.Text.Count(), float64(ms.HeapInuse)/1e9)
	e := expected(t, dir)
	start = time.Now()
	got, err := m.Predict(e.Tensors["unet_x"].Float32s(), e.Tensors["unet_t"].Float64s(), e.Tensors["unet_ctx"].Float32s())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("U-Net forward at 8×8 latents: %.1f s", time.Since(start).Seconds())
	parity(t, "unet", got, e.Tensors["unet_out"].Float32s(), 1e-4)
	ids := e.Tensors["text_ids"].Float32s()
	row := make([]int, len(ids))
	for i, v := range ids {
		row[i] = int(v)
	}
	h, err := m.TextStates(row)
	if err != nil {
		t.Fatal(err)
	}
	parity(t, "text encoder", h, e.Tensors["text_hidden"].Float32s(), 1e-4)
	lat, err := m.EncodeCHW(e.Tensors["vae_x"].Float32s(), 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range lat {
		lat[i] /= float32(m.Config.SD.VAE.ScalingFactor)
	}
	parity(t, "vae mean", lat, e.Tensors["vae_mean"].Float32s(), 1e-4)
	dec, err := m.decoder(1)
	if err != nil {
		t.Fatal(err)
	}
	copy(dec.z.Data().([]float32), e.Tensors["vae_z"].Float32s())
	if _, err := dec.prog.Run(); err != nil {
		t.Fatal(err)
	}
	parity(t, "vae decode", dec.out.Data().([]float32), e.Tensors["vae_dec"].Float32s(), 1e-4)
	m.Close()

	// the same model as one original-layout file, configuration inferred
	// from the shapes with SD 1.x's and 2.x's defaults (no yaml)
	single := filepath.Join(dir, "single.safetensors")
	if _, err := os.Stat(single); err != nil {
		t.Skipf("%s: no single-file copy (older make parity-full output)", dir)
	}
	start = time.Now()
	s, err := OpenT2I(single, SDOptions{Resolution: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Logf("single file loaded in %.1f s; inferred heads %v, linear projection %v, text layers %d, prediction %s",
		time.Since(start).Seconds(), []int(s.Config.SD.UNet.AttentionHeadDim), s.Config.SD.UNet.UseLinearProjection, s.Config.SD.Text.NumHiddenLayers, s.Config.Prediction)
	got, err = s.Predict(e.Tensors["unet_x"].Float32s(), e.Tensors["unet_t"].Float64s(), e.Tensors["unet_ctx"].Float32s())
	if err != nil {
		t.Fatal(err)
	}
	parity(t, "single-file unet", got, e.Tensors["unet_out"].Float32s(), 1e-4)
	h, err = s.TextStates(row)
	if err != nil {
		t.Fatal(err)
	}
	parity(t, "single-file text encoder", h, e.Tensors["text_hidden"].Float32s(), 1e-4)
}
