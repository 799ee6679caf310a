package cli

import (
	"bytes"
	"image/png"
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
