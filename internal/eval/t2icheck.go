package eval

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/dreambench"
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
// zero-shot class accuracy of both (the prompt ensemble of zeroShot, and the
// single prompt "a <class>").
type T2ICheck struct {
	Captions       int                `json:"captions"`
	Seed           uint64             `json:"seed"`
	Steps          int                `json:"steps"`
	Guidance       float64            `json:"guidance"`
	CLIPTGenerated dreambench.Summary `json:"clip_t_generated"`
	CLIPTReal      dreambench.Summary `json:"clip_t_real"`
	CLIPTRatio     float64            `json:"clip_t_ratio"` // generated / real, of the means
	ClassGenerated float64            `json:"class_acc_generated"`
	ClassReal      float64            `json:"class_acc_real"`
	// ClassGeneratedPlain and ClassRealPlain: class accuracy with the single
	// prompt "a <class>" instead of the ensemble.
	ClassGeneratedPlain float64 `json:"class_acc_generated_one_prompt"`
	ClassRealPlain      float64 `json:"class_acc_real_one_prompt"`
	// ContextGenerated and ContextReal: zero-shot setting top-1 among the
	// world's settings, the class given (captions that name a setting).
	ContextGenerated float64 `json:"context_acc_generated"`
	ContextReal      float64 `json:"context_acc_real"`
	// ByClass breaks class accuracy down by the scene's class; Unreshaped
	// counts only the scenes whose caption asks for no cube shape and no
	// painting style, the modifiers that change what a class looks like
	// (real renders of the others are often not recognisable as the class).
	ByClass    map[string]ClassAcc `json:"class_acc_by_class"`
	Unreshaped ClassAcc            `json:"class_acc_unreshaped"`
}

// ClassAcc is class top-1 (the prompt ensemble) over N scenes; in ByClass,
// GeneratedAs counts the classes the misclassified generated images went to.
type ClassAcc struct {
	N           int            `json:"n"`
	Generated   float64        `json:"generated"`
	Real        float64        `json:"real"`
	GeneratedAs map[string]int `json:"generated_as,omitempty"`
}

// reshaped reports whether s has a modifier that changes what its class
// looks like: a shape (cube) or a style (painting).
func reshaped(s *world.Scene) bool {
	return s.Modifier(world.Shape) != nil || s.Modifier(world.Style) != nil
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
	scenes, caps := HeldOutCaptions(o.Captions, o.Seed)
	real := make([]*image.RGBA, len(scenes))
	for i, s := range scenes {
		real[i] = s.Render()
	}
	seeds := make([]uint64, len(caps))
	for i := range seeds {
		seeds[i] = o.Seed + uint64(i)
	}
	gen, err := generate(ctx, m, caps, seeds, o.Sampler, o.Batch, progress)
	if err != nil {
		return nil, nil, err
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
	z, err := newZeroShot(clip)
	if err != nil {
		return nil, err
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
	r := &T2ICheck{Captions: len(caps), ByClass: map[string]ClassAcc{}}
	var ctR, ctG []float64
	var nCtx int
	for i, s := range scenes {
		ctR = append(ctR, reward.Cosine(txt[i], er[i]))
		ctG = append(ctG, reward.Cosine(txt[i], eg[i]))
		ci := slices.Index(world.Classes, s.Identity.Class)
		predG := z.class(eg[i])
		okR, okG := b2f(z.class(er[i]) == ci), b2f(predG == ci)
		r.ClassReal += okR
		r.ClassGenerated += okG
		add := func(a ClassAcc) ClassAcc {
			a.N, a.Generated, a.Real = a.N+1, a.Generated+okG, a.Real+okR
			return a
		}
		bc := add(r.ByClass[s.Identity.Class.Name])
		if predG != ci {
			if bc.GeneratedAs == nil {
				bc.GeneratedAs = map[string]int{}
			}
			bc.GeneratedAs[world.Classes[predG].Name]++
		}
		r.ByClass[s.Identity.Class.Name] = bc
		if !reshaped(s) {
			r.Unreshaped = add(r.Unreshaped)
		}
		if z.plainClass(er[i]) == ci {
			r.ClassRealPlain++
		}
		if z.plainClass(eg[i]) == ci {
			r.ClassGeneratedPlain++
		}
		if s.Context.Reference {
			continue // "a dog" on a plain background may be captioned without its setting
		}
		nCtx++
		xi := slices.Index(world.Contexts, s.Context)
		if z.setting(er[i], ci) == xi {
			r.ContextReal++
		}
		if z.setting(eg[i], ci) == xi {
			r.ContextGenerated++
		}
	}
	n := float64(len(scenes))
	r.ClassReal /= n
	r.ClassGenerated /= n
	r.ClassRealPlain /= n
	r.ClassGeneratedPlain /= n
	if nCtx > 0 {
		r.ContextReal /= float64(nCtx)
		r.ContextGenerated /= float64(nCtx)
	}
	for k, a := range r.ByClass {
		r.ByClass[k] = a.mean()
	}
	r.Unreshaped = r.Unreshaped.mean()
	r.CLIPTReal, r.CLIPTGenerated = dreambench.Summarize(ctR), dreambench.Summarize(ctG)
	if r.CLIPTReal.Mean != 0 {
		r.CLIPTRatio = r.CLIPTGenerated.Mean / r.CLIPTReal.Mean
	}
	return r, nil
}

// MostConfused is the class most of the misclassified generated images went
// to (the first by name among equals) and how many; "" when none was.
func (a ClassAcc) MostConfused() (class string, n int) {
	for _, k := range slices.Sorted(maps.Keys(a.GeneratedAs)) {
		if a.GeneratedAs[k] > n {
			class, n = k, a.GeneratedAs[k]
		}
	}
	return class, n
}

// mean turns the counts of correct answers into shares of N.
func (a ClassAcc) mean() ClassAcc {
	if a.N > 0 {
		a.Generated /= float64(a.N)
		a.Real /= float64(a.N)
	}
	return a
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
