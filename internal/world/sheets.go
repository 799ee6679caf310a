package world

import (
	"image"
	"math/rand/v2"
)

// ClassSheet renders every class (rows) over a spread of settings and
// modifiers (columns), one identity per class.
func ClassSheet(seed uint64) (imgs []image.Image, cols int) {
	rng := rand.New(rand.NewPCG(seed, 11))
	columns := []struct{ ctx, mod string }{
		{"floor", ""}, {"beach", ""}, {"snow", ""}, {"jungle", ""}, {"city", ""}, {"eiffel", ""},
		{"moon", ""}, {"water", ""}, {"mirror", ""}, {"sunflowers", ""}, {"table", "red"},
		{"plain_wall", "shiny"}, {"grass", "cube"}, {"sofa", "santa_hat"}, {"autumn_tree", "van_gogh"},
	}
	for _, c := range Classes {
		id := SampleIdentity(rng, c, false)
		for _, col := range columns {
			s := &Scene{Identity: id, Context: ContextByName(col.ctx), Camera: SampleCamera(rng), Seed: rng.Uint64()}
			if col.mod != "" {
				s.Modifiers = []*Modifier{ModifierByName(col.mod)}
			}
			imgs = append(imgs, s.Render())
		}
	}
	return imgs, len(columns)
}

// ContextSheet renders two live and two object subjects in every context
// and with every modifier (57 images each, three rows of 19): the blocks
// show that a subject stays itself.
func ContextSheet(seed uint64) (imgs []image.Image, cols int) {
	rng := rand.New(rand.NewPCG(seed, 12))
	for _, cn := range []string{"dog", "cat", "backpack", "teapot"} {
		id := SampleIdentity(rng, ClassByName(cn), false)
		for _, ctx := range Contexts {
			imgs = append(imgs, (&Scene{Identity: id, Context: ctx, Camera: SampleCamera(rng), Seed: rng.Uint64()}).Render())
		}
		for _, m := range Modifiers {
			s := &Scene{Identity: id, Context: ContextByName("plain_wall"), Modifiers: []*Modifier{m}, Camera: SampleCamera(rng), Seed: rng.Uint64()}
			imgs = append(imgs, s.Render())
		}
	}
	return imgs, (len(Contexts) + len(Modifiers)) / 3
}

// ReferenceSheet renders the references of a MiniDreamBench variant, one
// subject per row (padded to 6 columns with blanks).
func ReferenceSheet(variant int) (imgs []image.Image, cols int) {
	for _, s := range MiniDreamBench(variant) {
		refs := s.References()
		for i := 0; i < 6; i++ {
			if i < len(refs) {
				imgs = append(imgs, refs[i].Render())
			} else {
				imgs = append(imgs, image.NewRGBA(image.Rect(0, 0, Size, Size)))
			}
		}
	}
	return imgs, 12
}
