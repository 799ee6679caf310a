package cli

import (
	"image"
	"testing"

	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/embedded"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/world"
)

// Every embedded model loads and runs; the
// README's first set-up command and the default commands depend on it.
func TestEmbeddedModelsLoadAndRun(t *testing.T) {
	for _, name := range []string{embedded.AlignMini, embedded.ClipMini, embedded.DinoMini} {
		if _, err := embedded.Model(name); err != nil {
			t.Fatalf("%s: %v (every model is embedded)", name, err)
		}
		e, _, err := openEncoder("", name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := world.MiniDreamBench(0)[0].References()[0]
		emb, err := e.EmbedImages([]*image.RGBA{s.Render()})
		if err != nil || len(emb) != 1 || len(emb[0]) != e.Config.Embed {
			t.Errorf("%s: embedding %v %v", name, len(emb), err)
		}
		e.Close()
	}
	if _, err := embedded.Model(embedded.T2I); err != nil {
		t.Fatalf("t2i: %v", err)
	}
	m, _, _, err := openT2I("", models.SDOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	imgs, err := m.Generate([]string{"a dog on the beach"}, []uint64{1}, diffusion.Sampler{Steps: 2, Guidance: 7.5})
	if err != nil || len(imgs) != 1 || imgs[0].Bounds().Dx() != m.Config.Resolution {
		t.Errorf("t2i: %v %v", len(imgs), err)
	}
}
