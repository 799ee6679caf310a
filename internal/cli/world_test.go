package cli

import (
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rpo-dev/rpo/internal/dreambench"
)

func TestWorldPreview(t *testing.T) {
	out := filepath.Join(t.TempDir(), "grid.png")
	got, err := execute(t, NewRootCmd(), "world", "preview", "--class", "dog", "--context", "on the beach", "--identity-seed", "3", "--n", "6", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if got != "wrote "+out+": 6 images of \"a dog on the beach\"\n" {
		t.Errorf("printed %q", got)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 4*66+2 || b.Dy() != 2*66+2 {
		t.Errorf("grid is %v", b)
	}
	_, err = execute(t, NewRootCmd(), "world", "preview", "--class", "dog", "--out", out)
	if err == nil || !strings.Contains(err.Error(), "exists: choose another --out, or --force") {
		t.Errorf("existing --out: %v", err)
	}
	if _, err := execute(t, NewRootCmd(), "world", "preview", "--class", "dog", "--n", "2", "--out", out, "--force"); err != nil {
		t.Errorf("--force: %v", err)
	}
	out = filepath.Join(t.TempDir(), "other.png")
	_, err = execute(t, NewRootCmd(), "world", "preview", "--class", "dog", "--context", "on Mars", "--out", out)
	if err == nil || err.Error() != `world: prompt "a dog on Mars": unknown phrase "on mars" after the class` {
		t.Errorf("unknown context: %v", err)
	}
	_, err = execute(t, NewRootCmd(), "world", "preview", "--subject", "cat2", "--class", "dog", "--out", out)
	if err == nil || !strings.Contains(err.Error(), "cat2 is a cat") {
		t.Errorf("subject of another class: %v", err)
	}
}

func TestWorldExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mdb")
	if _, err := execute(t, NewRootCmd(), "world", "export", "--out", dir, "--variant", "3"); err != nil {
		t.Fatal(err)
	}
	b, err := dreambench.Load(dir)
	if err != nil || len(b.Subjects) != 30 {
		t.Fatalf("%v", err)
	}
	_, err = execute(t, NewRootCmd(), "world", "export", "--out", dir)
	if err == nil || err.Error() != dir+" already has files; use --force to write into it" {
		t.Errorf("existing directory: %v", err)
	}
}

// TestPretrainAE runs the autoencoder stage end to end on a tiny network
// and refuses to start over it without --resume.
func TestPretrainAE(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ae")
	args := []string{"pretrain", "ae", "--out", dir, "--steps", "3", "--batch", "2", "--channels", "8,16", "--eval-every", "3"}
	out, err := execute(t, NewRootCmd(), args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "pretrain ae: 3 steps; held-out PSNR") {
		t.Errorf("output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "model", "autoencoder.safetensors")); err != nil {
		t.Fatal(err)
	}
	if _, err := execute(t, NewRootCmd(), args...); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("second start: %v", err)
	}
	if _, err := execute(t, NewRootCmd(), append(args[:len(args)-2:len(args)-2], "--resume", "--steps", "4", "--eval-every", "4")...); err != nil {
		t.Errorf("resume: %v", err)
	}
}

func TestPretrainAllStages(t *testing.T) {
	dir := t.TempDir()
	o := &PretrainAllOptions{OutDir: dir, AESteps: 7, T2ISteps: 8, EncoderSteps: 9, Global: Global{LogLevel: "info", LogFormat: "text"}}
	join := func(st [][]string) string {
		var parts []string
		for _, a := range st {
			parts = append(parts, strings.Join(a, " "))
		}
		return strings.Join(parts, "\n")
	}
	want := strings.Join([]string{
		"pretrain ae --out " + dir + "/ae --steps 7 --log-level info --log-format text",
		"pretrain t2i --out " + dir + "/t2i --autoencoder " + dir + "/ae/model --steps 8 --log-level info --log-format text",
		"pretrain encoders --out " + dir + "/encoders --steps 9 --log-level info --log-format text",
	}, "\n")
	if got := join(pretrainAllStages(o)); got != want {
		t.Errorf("fresh:\n%s\nwant\n%s", got, want)
	}
	// --resume: only the stages with a checkpoint resume (the encoders command decides per encoder)
	if err := os.MkdirAll(filepath.Join(dir, "ae", "checkpoint"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ae", "checkpoint", "state.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	o.Resume = true
	st := pretrainAllStages(o)
	if !slices.Contains(st[0], "--resume") || slices.Contains(st[1], "--resume") || !slices.Contains(st[2], "--resume") {
		t.Errorf("resume:\n%s", join(st))
	}
	if _, err := execute(t, NewRootCmd(), "config", "pretrain", "all", "--t2i-steps", "5"); err != nil {
		t.Error(err)
	}
}
