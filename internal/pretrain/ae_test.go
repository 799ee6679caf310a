package pretrain

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/models"
)

func tinyAE(dir string, steps int) AutoencoderOptions {
	return AutoencoderOptions{
		Out: dir, Steps: steps, Batch: 3, LR: 3e-3, KLWeight: 1e-4, Seed: 5,
		CheckpointEvery: time.Hour, EvalEvery: 1000, LogEvery: 1,
		Config: models.AutoencoderConfig{Channels: []int{8, 16}, LatentChannels: 2, Groups: 4},
	}
}

func TestAutoencoderLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	var recon []float64
	res, err := TrainAutoencoder(context.Background(), tinyAE(t.TempDir(), 80), func(m Metrics) { recon = append(recon, m.Recon) })
	if err != nil {
		t.Fatal(err)
	}
	first, last := mean(recon[:5]), mean(recon[len(recon)-5:])
	t.Logf("recon %.4f → %.4f; held-out PSNR %.2f dB; scaling factor %.3f", first, last, res.EvalPSNR, res.ScalingFactor)
	if last > first/3 {
		t.Errorf("reconstruction loss fell only from %.4f to %.4f", first, last)
	}
	info, err := ckpt.ReadModelDir(res.ModelDir)
	if err != nil {
		t.Fatal(err)
	}
	var c models.AutoencoderConfig
	if err := info.DecodeArchitecture(&c); err != nil || c.ScalingFactor <= 0 || c.LatentChannels != 2 {
		t.Fatalf("%+v %v", c, err)
	}
}

// TestAutoencoderResumeIsExact: 3 steps, stop, resume to 6 equals 6 straight
// (weights bit for bit), and a fresh start over a checkpoint is refused.
func TestAutoencoderResumeIsExact(t *testing.T) {
	straight := t.TempDir()
	if _, err := TrainAutoencoder(context.Background(), tinyAE(straight, 6), nil); err != nil {
		t.Fatal(err)
	}
	split := t.TempDir()
	if _, err := TrainAutoencoder(context.Background(), tinyAE(split, 3), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := TrainAutoencoder(context.Background(), tinyAE(split, 6), nil); !errors.Is(err, ErrCheckpointExists) {
		t.Fatalf("fresh start over a checkpoint: %v", err)
	}
	o := tinyAE(split, 6)
	o.Resume = true
	if _, err := TrainAutoencoder(context.Background(), o, nil); err != nil {
		t.Fatal(err)
	}
	a, err := ckpt.Read(filepath.Join(latestCheckpoint(t, straight), "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ckpt.Read(filepath.Join(latestCheckpoint(t, split), "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range a.Names() {
		if string(a.Tensors[n].Data) != string(b.Tensors[n].Data) {
			t.Fatalf("%s differs between straight and resumed runs", n)
		}
	}
	lines, _ := os.ReadFile(filepath.Join(split, "metrics.jsonl"))
	if got := bytes.Count(lines, []byte("\n")); got < 6 {
		t.Errorf("metrics.jsonl has %d lines", got)
	}
}

// TestAutoencoderInterrupt: a cancelled run saves a checkpoint at the step
// it reached and reports the cancellation.
func TestAutoencoderInterrupt(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	res, err := TrainAutoencoder(ctx, tinyAE(dir, 100), func(m Metrics) {
		if m.Step == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || res.Steps != 2 {
		t.Fatalf("%v, %d steps", err, res.Steps)
	}
	if _, err := os.Stat(filepath.Join(latestCheckpoint(t, dir), "state.json")); err != nil {
		t.Fatal(err)
	}
}

func TestCosine(t *testing.T) {
	f := Cosine(1, 0.05, 101)
	if f(0) != 1 || math.Abs(f(100)-0.05) > 1e-12 || math.Abs(f(50)-0.525) > 1e-12 {
		t.Errorf("%g %g %g", f(0), f(50), f(100))
	}
}
