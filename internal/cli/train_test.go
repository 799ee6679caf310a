package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/world"
)

func tinyRewardModel(t *testing.T) string {
	e, err := models.NewEncoder(models.TinyEncoderConfig("tiny-align", true, 16), nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dir := filepath.Join(t.TempDir(), "align")
	if err := e.Save(dir, ckpt.Provenance{Tool: "test"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func refsDir(t *testing.T, subject string, n int) string {
	dir := filepath.Join(t.TempDir(), subject)
	os.MkdirAll(dir, 0o755)
	s, _ := world.SubjectByName(0, subject)
	for i, sc := range s.References()[:n] {
		imageio.SavePNG(filepath.Join(dir, fmt.Sprintf("%02d.png", i)), sc.Render())
	}
	return dir
}

func TestTrainEndToEnd(t *testing.T) {
	model, rm := tinyModel16(t), tinyRewardModel(t)
	refs := refsDir(t, "dog2", 3)
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "--subject", "dog2", "--refs", refs, "--model", model, "--reward-model", rm, "--out", out,
		"--steps", "4", "--val-every", "2", "--val-per-prompt", "1", "--val-steps", "2", "--negatives-per-prompt", "1", "--negative-steps", "2",
		"--select", "best@0.3,best@0.7,last"}
	got, err := execute(t, NewRootCmd(), args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	// the base model is the baseline, not a candidate: every rule keeps a
	// step after 0, and the output names the base model's reward
	for _, want := range []string{"best@0.3: step", "; base model 0.", "best@0.7: step", "last: step 4 → ", "rpo train: 4 steps"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, ": step 0 ") {
		t.Errorf("a rule kept the base model's weights:\n%s", got)
	}
	runYAML, _ := os.ReadFile(filepath.Join(out, "run.yaml"))
	if !strings.Contains(string(runYAML), "class: dog") || !strings.Contains(string(runYAML), "live: true") {
		t.Errorf("run.yaml:\n%s", runYAML)
	}
	if _, err := execute(t, NewRootCmd(), args...); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("existing run directory: %v", err)
	}
	if _, err := execute(t, NewRootCmd(), append(args, "--resume", "--steps", "6")...); err != nil {
		t.Errorf("resume: %v", err)
	}
	// --force starts a new run: metrics.jsonl holds its steps only
	if _, err := execute(t, NewRootCmd(), append(args, "--force")...); err != nil {
		t.Fatalf("force: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if n := strings.Count(string(b), `{"step":{`); n != 4 {
		t.Errorf("after --force metrics.jsonl has %d steps, want 4", n)
	}
}

func TestTrainBadInput(t *testing.T) {
	model, rm := tinyModel16(t), tinyRewardModel(t)
	empty := t.TempDir()
	corrupt := t.TempDir()
	os.WriteFile(filepath.Join(corrupt, "01.jpg"), []byte("not a jpeg"), 0o644)
	tiny := t.TempDir()
	imageio.SavePNG(filepath.Join(tiny, "small.png"), imageio.FromCHW(make([]float32, 3*8*8), 8, 8))
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--subject", "dog", "--refs", empty}, "has no .png, .jpg, .jpeg or .gif image"},
		{[]string{"--subject", "dog", "--refs", corrupt}, "01.jpg is not a readable PNG, JPEG or GIF image"},
		{[]string{"--subject", "dog", "--refs", tiny}, "small.png is 8×8"},
		{[]string{"--subject", "dragon", "--refs", empty}, `--subject "dragon" is neither a class`},
		{[]string{"--subject", "dog", "--refs", empty, "--loss", "dpo"}, `--loss "dpo"`},
		{[]string{"--subject", "dog", "--refs", empty, "--select", "first"}, `selection rule "first"`},
		{[]string{"--subject", "dog", "--refs", empty, "--lambda-val", "2"}, "--lambda-val 2: must be in [0, 1]"},
		{[]string{"--subject", "dog", "--refs", empty, "--lr", "-1", "--val-every", "500"}, "--val-every 500: must not exceed --steps 400\n  --lr -1: must be positive"},
	} {
		args := append([]string{"train", "--model", model, "--reward-model", rm, "--out", filepath.Join(t.TempDir(), "r")}, c.args...)
		out := args[5]
		_, err := execute(t, NewRootCmd(), args...)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%v: %v (want %q)", c.args, err, c.says)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Errorf("%v: %s was created before the input was refused", c.args, out)
		}
	}
}

// TestTrainResumeByDirectory: `rpo train --out DIR --resume` needs nothing
// else (the options come from the run's run.yaml, from any working
// directory), other options are refused by name, and a run directory in use
// by another run is refused.
func TestTrainResumeByDirectory(t *testing.T) {
	model, rm := tinyModel16(t), tinyRewardModel(t)
	refs := refsDir(t, "dog2", 2)
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "--subject", "dog2", "--refs", refs, "--model", model, "--reward-model", rm, "--out", out,
		"--steps", "2", "--val-every", "2", "--val-per-prompt", "1", "--val-steps", "2", "--negatives-per-prompt", "1", "--negative-steps", "2"}
	if got, err := execute(t, NewRootCmd(), args...); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	if _, err := execute(t, NewRootCmd(), "train", "--out", out, "--resume", "--lr", "1"); err == nil || !strings.Contains(err.Error(), "--lr: ") {
		t.Errorf("resume under another --lr: %v", err)
	}
	lock, err := ckpt.LockDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := execute(t, NewRootCmd(), "train", "--out", out, "--resume", "--steps", "4"); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a second run into a locked directory: %v", err)
	}
	lock.Unlock()
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(t.TempDir()) // the run.yaml's paths are absolute
	got, err := execute(t, NewRootCmd(), "train", "--out", out, "--resume", "--steps", "4")
	if err != nil {
		t.Fatalf("resume by directory: %v\n%s", err, got)
	}
	b, _ := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if n := strings.Count(string(b), `{"step":{`); n != 4 || !strings.Contains(got, "rpo train: 4 steps") {
		t.Errorf("resumed to 4 steps: %d step records; output:\n%s", n, got)
	}
}
