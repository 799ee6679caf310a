package pretrain

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/text"
)

func tinyEncoder(dir string, steps int, dual bool) EncoderOptions {
	tk := text.NewTokenizer(8)
	c := models.EncoderConfig{Name: "tiny-dino", Channels: []int{4, 8}, Groups: 2, Embed: 8, Temperature: 0.2}
	if dual {
		c.Name = "tiny-align"
		c.Text = &text.EncoderConfig{Vocab: tk.Size(), MaxLen: 8, Width: 8, Layers: 1, Heads: 2}
	}
	return EncoderOptions{Out: dir, Config: c, Steps: steps, Batch: 6, LR: 3e-3, LRSchedule: "cosine", Seed: 2,
		CheckpointEvery: time.Hour, EvalImages: 20, LogEvery: 1}
}

func TestEncodersTrainEvaluateResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	for _, dual := range []bool{true, false} {
		var losses []float64
		res, err := TrainEncoder(context.Background(), tinyEncoder(t.TempDir(), 30, dual), func(m Metrics) { losses = append(losses, m.Loss) })
		if err != nil {
			t.Fatal(err)
		}
		first, last := mean(losses[:5]), mean(losses[len(losses)-5:])
		t.Logf("dual=%v: loss %.3f → %.3f, held-out %v", dual, first, last, res.Eval)
		if last >= first {
			t.Errorf("dual=%v: loss did not fall (%.3f → %.3f)", dual, first, last)
		}
		key := "identity_top1"
		if dual {
			key = "class_top1"
		}
		if v, ok := res.Eval[key]; !ok || v < 0 || v > 1 {
			t.Errorf("dual=%v: eval %v", dual, res.Eval)
		}
		e, err := models.LoadEncoder(res.ModelDir)
		if err != nil {
			t.Fatal(err)
		}
		e.Close()
	}
	// resume: 4 steps stopped after 2 (Ctrl-C) and resumed equal 4
	// straight, the cosine learning rate included
	a, b := t.TempDir(), t.TempDir()
	if _, err := TrainEncoder(context.Background(), tinyEncoder(a, 4, true), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped, err := TrainEncoder(ctx, tinyEncoder(b, 4, true), func(m Metrics) {
		if m.Step == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || stopped.Steps >= 4 {
		t.Fatalf("stopped run: step %d, %v", stopped.Steps, err)
	}
	ob := tinyEncoder(b, 4, true)
	ob.Resume = true
	if _, err := TrainEncoder(context.Background(), ob, nil); err != nil {
		t.Fatal(err)
	}
	wa, _ := ckpt.Read(filepath.Join(latestCheckpoint(t, a), "weights.safetensors"))
	wb, _ := ckpt.Read(filepath.Join(latestCheckpoint(t, b), "weights.safetensors"))
	for _, n := range wa.Names() {
		if string(wa.Tensors[n].Data) != string(wb.Tensors[n].Data) {
			t.Fatalf("%s differs between straight and resumed runs", n)
		}
	}
	// and the schedule is applied: a constant rate ends elsewhere
	c := t.TempDir()
	oc := tinyEncoder(c, 4, true)
	oc.LRSchedule = "constant"
	if _, err := TrainEncoder(context.Background(), oc, nil); err != nil {
		t.Fatal(err)
	}
	wc, _ := ckpt.Read(filepath.Join(latestCheckpoint(t, c), "weights.safetensors"))
	if n := "image.conv_in.bias"; string(wa.Tensors[n].Data) == string(wc.Tensors[n].Data) {
		t.Errorf("%s: cosine and constant learning rates give the same weights", n)
	}
}

// --init starts from a model directory's weights: evaluated before any
// step, the new run equals the model it starts from.
func TestEncoderInit(t *testing.T) {
	a := t.TempDir()
	res, err := TrainEncoder(context.Background(), tinyEncoder(a, 3, true), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := tinyEncoder(t.TempDir(), 1, true)
	o.Init, o.LR = res.ModelDir, 1e-12 // one step that changes (almost) nothing
	res2, err := TrainEncoder(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	e1, _ := models.LoadEncoder(res.ModelDir)
	e2, _ := models.LoadEncoder(res2.ModelDir)
	defer e1.Close()
	defer e2.Close()
	x, _ := e1.EmbedTexts([]string{"a dog on the beach"})
	y, _ := e2.EmbedTexts([]string{"a dog on the beach"})
	for i := range x[0] {
		if d := x[0][i] - y[0][i]; d > 1e-3 || d < -1e-3 {
			t.Fatalf("embedding %d: %v vs %v after --init", i, x[0][i], y[0][i])
		}
	}
	o = tinyEncoder(t.TempDir(), 1, true)
	o.LRSchedule = "linear"
	if _, err := TrainEncoder(context.Background(), o, nil); err == nil || !strings.Contains(err.Error(), `"linear"`) {
		t.Errorf("unknown schedule: %v", err)
	}
	o = tinyEncoder(t.TempDir(), 1, true)
	o.Init = filepath.Join(a, "nothing")
	if _, err := TrainEncoder(context.Background(), o, nil); err == nil || !strings.Contains(err.Error(), "--init") {
		t.Errorf("missing --init directory: %v", err)
	}
}
