package eval

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"

	"github.com/rpo-dev/rpo/internal/bench"
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/reward"
	"github.com/rpo-dev/rpo/internal/world"
)

// T2ICheckOptions configure the held-out caption check of a base model.
type T2ICheckOptions struct {
	Captions int               // held-out captions (one generated image each)
	Seed     uint64            // seed of the captions and of the generated images
	Sampler  diffusion.Sampler // DDIM steps and guidance
	Batch    int               // images per Generate call
}

// T2ICheck holds the numbers of the check: CLIP-T of generated images and of
// real renders of the same captions (clip-mini), their ratio, and
// zero-shot class accuracy (prompts "a <class>") of both.
type T2ICheck struct {
	Captions       int     `json:"captions"`
	Seed           uint64  `json:"seed"`
	Steps          int     `json:"steps"`
	Guidance       float64 `json:"guidance"`
	CLIPTGenerated float64 `json:"clip_t_generated"`
	CLIPTReal      float64 `json:"clip_t_real"`
	CLIPTRatio     float64 `json:"clip_t_ratio"` // generated / real
	ClassGenerated float64 `json:"class_acc_generated"`
	ClassReal      float64 `json:"class_acc_real"`
	// ContextGenerated and ContextReal: zero-shot setting top-1 among the
	// world's settings, the class given (captions that name a setting).
	ContextGenerated float64       `json:"context_acc_generated"`
	ContextReal      float64       `json:"context_acc_real"`
	CLIPTGeneratedCI bench.Summary `json:"clip_t_generated_summary"`
	CLIPTRealCI      bench.Summary `json:"clip_t_real_summary"`
}

// HeldOutCaptions draws n scenes with identities that pretraining never
// samples (the world's reserved region), in pretraining's mix of settings
// and modifiers, and their captions.
func HeldOutCaptions(n int, seed uint64) ([]*world.Scene, []string) {
	rng := rand.New(rand.NewPCG(seed, 0x7e1d))
	scenes := make([]*world.Scene, n)
	caps := make([]string, n)
	for i := range scenes {
		s, co := world.SampleHeldOutScene(rng, world.DefaultSampleOptions())
		scenes[i], caps[i] = s, s.Caption(co)
	}
	return scenes, caps
}

// CheckT2I generates one image per held-out caption with model m and
// measures it with clip (the metric encoder) against real renders of the
// same scenes. It returns the numbers and a grid of the first 16 captions:
// real renders on the top row of each pair, generated images below.
func CheckT2I(ctx context.Context, m *models.T2I, clip *models.Encoder, o T2ICheckOptions, progress func(done, total int)) (*T2ICheck, image.Image, error) {
	if o.Captions < 1 {
		return nil, nil, fmt.Errorf("eval: the t2i check needs at least one caption")
	}
	if o.Batch < 1 {
		o.Batch = 20
	}
	scenes, caps := HeldOutCaptions(o.Captions, o.Seed)
	real := make([]*image.RGBA, len(scenes))
	for i, s := range scenes {
		real[i] = s.Render()
	}
	var gen []*image.RGBA
	for b := 0; b < len(caps); b += o.Batch {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		e := min(b+o.Batch, len(caps))
		seeds := make([]uint64, e-b)
		for i := range seeds {
			seeds[i] = o.Seed + uint64(b+i)
		}
		part, err := m.Generate(caps[b:e], seeds, o.Sampler)
		if err != nil {
			return nil, nil, err
		}
		gen = append(gen, part...)
		if progress != nil {
			progress(len(gen), len(caps))
		}
	}
	r, err := MeasureCaptions(clip, scenes, caps, real, gen)
	if err != nil {
		return nil, nil, err
	}
	r.Seed, r.Steps, r.Guidance = o.Seed, o.Sampler.Steps, o.Sampler.Guidance
	var cells []image.Image
	for row := 0; row < min(16, len(caps)); row += 8 {
		for k := row; k < min(row+8, len(caps)); k++ {
			cells = append(cells, real[k])
		}
		for k := row; k < min(row+8, len(caps)); k++ {
			cells = append(cells, gen[k])
		}
	}
	return r, imageio.Grid(cells, min(8, len(caps)), 2, color.White), nil
}

// MeasureCaptions computes the check's numbers for images gen generated
// from caps, against the real renders of the same scenes.
func MeasureCaptions(clip *models.Encoder, scenes []*world.Scene, caps []string, real, gen []*image.RGBA) (*T2ICheck, error) {
	if clip.Config.Text == nil {
		return nil, fmt.Errorf("eval: the t2i check needs a dual encoder (clip-mini), not %s", clip.Config.Name)
	}
	txt, err := clip.EmbedTexts(caps)
	if err != nil {
		return nil, err
	}
	er, err := clip.EmbedImages(real)
	if err != nil {
		return nil, err
	}
	eg, err := clip.EmbedImages(gen)
	if err != nil {
		return nil, err
	}
	classPrompts := make([]string, len(world.Classes))
	for i, c := range world.Classes {
		classPrompts[i] = "a " + c.Name
	}
	ce, err := clip.EmbedTexts(classPrompts)
	if err != nil {
		return nil, err
	}
	ctxEmb := map[string][][]float64{}
	ctxOf := func(class string) ([][]float64, error) {
		if e, ok := ctxEmb[class]; ok {
			return e, nil
		}
		ps := make([]string, len(world.Contexts))
		for j, c := range world.Contexts {
			ps[j] = "a " + class + " " + c.Phrase
		}
		e, err := clip.EmbedTexts(ps)
		ctxEmb[class] = e
		return e, err
	}
	r := &T2ICheck{Captions: len(caps)}
	var ctR, ctG []float64
	var nCtx int
	for i, s := range scenes {
		ctR = append(ctR, reward.Cosine(txt[i], er[i]))
		ctG = append(ctG, reward.Cosine(txt[i], eg[i]))
		ci := world.ClassIndex(s.Identity.Class)
		if argmaxCosine(er[i], ce) == ci {
			r.ClassReal++
		}
		if argmaxCosine(eg[i], ce) == ci {
			r.ClassGenerated++
		}
		if s.Context.Reference {
			continue // "a dog" on a plain background may be captioned without its setting
		}
		nCtx++
		cands, err := ctxOf(s.Identity.Class.Name)
		if err != nil {
			return nil, err
		}
		xi := world.ContextIndex(s.Context)
		if argmaxCosine(er[i], cands) == xi {
			r.ContextReal++
		}
		if argmaxCosine(eg[i], cands) == xi {
			r.ContextGenerated++
		}
	}
	n := float64(len(scenes))
	r.ClassReal /= n
	r.ClassGenerated /= n
	if nCtx > 0 {
		r.ContextReal /= float64(nCtx)
		r.ContextGenerated /= float64(nCtx)
	}
	r.CLIPTRealCI, r.CLIPTGeneratedCI = bench.Summarize(ctR), bench.Summarize(ctG)
	r.CLIPTReal, r.CLIPTGenerated = r.CLIPTRealCI.Mean, r.CLIPTGeneratedCI.Mean
	if r.CLIPTReal != 0 {
		r.CLIPTRatio = r.CLIPTGenerated / r.CLIPTReal
	}
	return r, nil
}

func argmaxCosine(q []float64, cands [][]float64) int {
	best, bi := -2.0, -1
	for i, c := range cands {
		if v := reward.Cosine(q, c); v > best {
			best, bi = v, i
		}
	}
	return bi
}
