package pretrain

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/text"
)

// tinyT2I trains a tiny autoencoder for a few steps and returns options
// for a tiny text-to-image run on it.
func tinyT2I(t *testing.T, out string, steps int) T2IOptions {
	t.Helper()
	aeDir := filepath.Join(t.TempDir(), "ae")
	o := tinyAE(aeDir, 2)
	o.Config = models.AutoencoderConfig{Channels: []int{4, 8, 8}, LatentChannels: 2, Groups: 2}
	if _, err := TrainAutoencoder(context.Background(), o, nil); err != nil {
		t.Fatal(err)
	}
	tk := text.NewTokenizer(8)
	cfg := models.T2IConfig{
		Resolution: 64, MaxLen: 8,
		Text:       text.EncoderConfig{Vocab: tk.Size(), MaxLen: 8, Width: 8, Layers: 1, Heads: 2},
		UNet:       models.UNetConfig{InChannels: 2, OutChannels: 2, Channels: []int{8, 16}, Groups: 4, Heads: 2, TimeDim: 16, ContextDim: 8},
		Prediction: diffusion.Epsilon,
	}
	return T2IOptions{Out: out, Autoencoder: filepath.Join(aeDir, "model"), Steps: steps, Batch: 4, LR: 2e-3,
		CaptionDropout: 0.1, EMADecay: 0.9, Seed: 3, CheckpointEvery: time.Hour, SampleEvery: 1000, LogEvery: 1, SampleSteps: 2, Config: &cfg}
}

func TestT2ILearnsAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	dir := t.TempDir()
	var losses []float64
	o := tinyT2I(t, dir, 40)
	res, err := TrainT2I(context.Background(), o, func(m Metrics) { losses = append(losses, m.Loss) })
	if err != nil {
		t.Fatal(err)
	}
	first, last := mean(losses[:8]), mean(losses[len(losses)-8:])
	t.Logf("loss %.4f → %.4f", first, last)
	if last >= first {
		t.Errorf("training loss did not fall: %.4f → %.4f", first, last)
	}
	m, err := models.LoadT2I(res.ModelDir)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, err := os.Stat(filepath.Join(dir, "samples", "final.png")); err != nil {
		t.Error(err)
	}
	// resume: 2 steps + 2 more equals 4 straight
	a, b := t.TempDir(), t.TempDir()
	oa := tinyT2I(t, a, 4)
	ob := oa
	ob.Out, ob.Steps = b, 2
	if _, err := TrainT2I(context.Background(), oa, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := TrainT2I(context.Background(), ob, nil); err != nil {
		t.Fatal(err)
	}
	ob.Steps, ob.Resume = 4, true
	if _, err := TrainT2I(context.Background(), ob, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"weights.safetensors", "ema.safetensors"} {
		wa, _ := ckpt.Read(filepath.Join(latestCheckpoint(t, a), f))
		wb, _ := ckpt.Read(filepath.Join(latestCheckpoint(t, b), f))
		for _, n := range wa.Names() {
			if string(wa.Tensors[n].Data) != string(wb.Tensors[n].Data) {
				t.Fatalf("%s %s differs between straight and resumed runs", f, n)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	oc := tinyT2I(t, t.TempDir(), 50)
	_, err = TrainT2I(ctx, oc, func(m Metrics) {
		if m.Step == 1 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("interrupt: %v", err)
	}
}

// TestT2IMinSNR: with --snr-gamma the loss is the Min-SNR-weighted MSE (ε
// weights are ≤ 1, so it is at most the plain MSE, and below it whenever a
// batch has a step with SNR > γ), and the unweighted MSE it reports is the
// plain run's loss at the same step.
func TestT2IMinSNR(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	plain := tinyT2I(t, t.TempDir(), 1)
	var want float64
	if _, err := TrainT2I(context.Background(), plain, func(m Metrics) { want = m.Loss }); err != nil {
		t.Fatal(err)
	}
	w := plain
	w.Out, w.Steps, w.SNRGamma = t.TempDir(), 10, 5
	var got []Metrics
	if _, err := TrainT2I(context.Background(), w, func(m Metrics) { got = append(got, m) }); err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[0].MSE-want) > 1e-6*want {
		t.Errorf("step 1: unweighted MSE %g, plain run's loss %g", got[0].MSE, want)
	}
	below := 0
	for _, m := range got {
		if m.Loss > m.MSE*(1+1e-6) {
			t.Errorf("step %d: weighted loss %g above the MSE %g", m.Step, m.Loss, m.MSE)
		}
		if m.Loss < m.MSE*(1-1e-3) {
			below++
		}
	}
	if below == 0 {
		t.Error("no step had a weight below 1")
	}
	w.SNRGamma = -1
	if _, err := TrainT2I(context.Background(), w, nil); err == nil {
		t.Error("a negative snr gamma was accepted")
	}
}
