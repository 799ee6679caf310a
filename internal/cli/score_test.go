package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/world"
)

func TestScoreEndToEnd(t *testing.T) {
	e, err := models.NewEncoder(models.TinyEncoderConfig("tiny-align", true, 16), nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(t.TempDir(), "align")
	if err := e.Save(model, ckpt.Provenance{Tool: "test"}); err != nil {
		t.Fatal(err)
	}
	e.Close()
	dir := t.TempDir()
	refs := filepath.Join(dir, "refs")
	os.MkdirAll(refs, 0o755)
	dog, _ := world.SubjectByName(0, "dog")
	for i, s := range dog.References() {
		imageio.SavePNG(filepath.Join(refs, fmt.Sprintf("%02d.png", i)), s.Render())
	}
	var imgs []string
	for i, s := range dog.References()[:2] {
		p := filepath.Join(dir, fmt.Sprintf("gen%d.png", i))
		imageio.SavePNG(p, s.Render())
		imgs = append(imgs, p)
	}
	out, err := execute(t, NewRootCmd(), append([]string{"score", "--model", model, "--refs", refs, "--prompt", "a sks dog on the beach", "--lambda", "1"}, imgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `prompt "a dog on the beach" (token removed), 5 references`) || strings.Count(out, "gen") != 2 {
		t.Errorf("table:\n%s", out)
	}
	out, err = execute(t, NewRootCmd(), append([]string{"score", "--model", model, "--refs", refs, "--prompt", "a sks dog", "--lambda", "0", "--json"}, imgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Prompt string     `json:"prompt"`
		Scores []ScoreRow `json:"scores"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.Prompt != "a dog" || len(r.Scores) != 2 || math.Abs(r.Scores[0].Reward-r.Scores[0].AlignT) > 1e-7 {
		t.Errorf("%+v", r)
	}
	if _, err := execute(t, NewRootCmd(), "score", "--model", model, "--refs", t.TempDir(), "--prompt", "a dog", imgs[0]); err == nil || !strings.Contains(err.Error(), "has no .png") {
		t.Errorf("empty refs: %v", err)
	}
}
