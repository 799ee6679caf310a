package cli

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rpo-dev/rpo/internal/embedded"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/models"
)

func tinyModel(t *testing.T) string { return tinyModelLen(t, 8) }

// tinyModel16 has the reward model's context length, for training tests.
func tinyModel16(t *testing.T) string { return tinyModelLen(t, 16) }

func tinyModelLen(t *testing.T, maxLen int) string {
	m, err := models.NewT2I(models.TinyT2IConfig(maxLen), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(dir, ckpt.Provenance{Tool: "test"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGenerateEndToEnd(t *testing.T) {
	model := tinyModel(t)
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"generate", "--model", model, "--prompt", "a sks dog on Mars", "-n", "3", "--seed", "5", "--steps", "3", "--out", out}
	got, err := execute(t, NewRootCmd(), args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, `words the model does not know are encoded as <unk>" words=mars`) || !strings.Contains(got, "wrote 3 images") {
		t.Errorf("output:\n%s", got)
	}
	first, err := os.ReadFile(filepath.Join(out, "000-seed5.png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(first)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"001-seed6.png", "002-seed7.png", "grid.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// the same seed gives the same image
	out2 := filepath.Join(t.TempDir(), "again")
	if _, err := execute(t, NewRootCmd(), "generate", "--model", model, "--prompt", "a sks dog on Mars", "-n", "1", "--seed", "5", "--steps", "3", "--out", out2); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(out2, "000-seed5.png"))
	if !bytes.Equal(first, again) {
		t.Error("seed 5 gave two different images")
	}
	// without --model: the embedded model (an error that says so while none is embedded)
	got, err = execute(t, NewRootCmd(), "generate", "--prompt", "a dog", "-n", "1", "--steps", "2", "--out", filepath.Join(t.TempDir(), "embedded"))
	if _, missing := embedded.Model(embedded.T2I); missing != nil {
		if err == nil || !strings.Contains(err.Error(), "no embedded t2i model yet") {
			t.Errorf("no embedded model: %v", err)
		}
	} else if err != nil || !strings.Contains(got, "wrote 1 images") {
		t.Errorf("embedded model: %v\n%s", err, got)
	}
}

// TestGenerateBatchesAndRefusals: images drawn in batches are the images
// drawn at once; a directory that holds images is refused without --force,
// and --force replaces them; an interrupted run says how many it wrote.
func TestGenerateBatchesAndRefusals(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	gen := func(out string, extra ...string) (string, error) {
		args := append([]string{"generate", "--model", model, "--prompt", "a sks dog", "-n", "3", "--seed", "5", "--steps", "3", "--out", out}, extra...)
		return execute(t, NewRootCmd(), args...)
	}
	all, batched := filepath.Join(dir, "all"), filepath.Join(dir, "batched")
	if _, err := gen(all); err != nil {
		t.Fatal(err)
	}
	if _, err := gen(batched, "--batch-size", "2"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"000-seed5.png", "001-seed6.png", "002-seed7.png"} {
		a, _ := os.ReadFile(filepath.Join(all, f))
		b, _ := os.ReadFile(filepath.Join(batched, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between one batch and batches of 2", f)
		}
	}
	if _, err := gen(all); err == nil || !strings.Contains(err.Error(), "already holds 4 PNG images") {
		t.Errorf("existing images: %v", err)
	}
	if _, err := gen(all, "-n", "1", "--force"); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(all, "*.png")); len(left) != 2 { // 000-seed5.png and grid.png
		t.Errorf("after --force: %v", left)
	}
	var stderr bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := &GenerateOptions{Global: Global{Out: io.Discard, Err: &stderr, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		Prompt: "a sks dog", Model: model, N: 3, Steps: 3, Guidance: 7.5, Sampler: "ddim", OutDir: filepath.Join(dir, "cut"), Batch: 1}
	if err := RunGenerate(ctx, o); !errors.Is(err, context.Canceled) || !strings.Contains(stderr.String(), "interrupted: 0 of 3 images written") {
		t.Errorf("interrupted: %v, %q", err, stderr.String())
	}
}

// TestGenerateImpossibleModel: a model.yaml with an impossible value is an
// error naming the file and the key, not a panic.
func TestGenerateImpossibleModel(t *testing.T) {
	model := tinyModel(t)
	p := filepath.Join(model, "model.yaml")
	b, _ := os.ReadFile(p)
	edited := strings.Replace(string(b), "in_channels: 2", "in_channels: -4", 1)
	if edited == string(b) {
		t.Fatalf("no in_channels in\n%s", b)
	}
	os.WriteFile(p, []byte(edited), 0o644)
	_, err := execute(t, NewRootCmd(), "generate", "--model", model, "--prompt", "a dog", "-n", "1", "--steps", "2", "--out", filepath.Join(t.TempDir(), "o"))
	if err == nil || !strings.Contains(err.Error(), p+": unet.in_channels: -4 must equal autoencoder.latent_channels (2)") {
		t.Fatalf("%v", err)
	}
}
