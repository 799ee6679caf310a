package world

import (
	"math/rand/v2"
	"slices"
)

// SampleOptions are the probabilities of the pretraining scene sampler.
type SampleOptions struct {
	Reference     float64 // a plain reference setting instead of a scene context
	Recolour      float64
	Material      float64
	Cube          float64
	AccessoryLive float64 // accessories on dogs and cats
	AccessoryElse float64 // accessories on other classes
	Style         float64 // Van Gogh
	IdentityWords float64 // captions that name colours and pattern
	OmitContext   float64 // captions of reference settings without the setting phrase
}

// DefaultSampleOptions is the pretraining mix.
func DefaultSampleOptions() SampleOptions {
	return SampleOptions{Reference: 0.3, Recolour: 0.1, Material: 0.1, Cube: 0.06, AccessoryLive: 0.35, AccessoryElse: 0.08, Style: 0.07, IdentityWords: 0.5, OmitContext: 0.5}
}

// SampleScene draws a pretraining scene and its caption options: a class
// uniformly, an identity outside the reserved region, a context and
// modifiers with the given probabilities, a random camera.
func SampleScene(rng *rand.Rand, o SampleOptions) (*Scene, CaptionOptions) {
	return sampleScene(rng, o, false)
}

// SampleHeldOutScene draws a scene as SampleScene does, but with an
// identity from the reserved region that pretraining never samples: the
// held-out captions of the model checks.
func SampleHeldOutScene(rng *rand.Rand, o SampleOptions) (*Scene, CaptionOptions) {
	return sampleScene(rng, o, true)
}

func sampleScene(rng *rand.Rand, o SampleOptions, reserved bool) (*Scene, CaptionOptions) {
	c := Classes[rng.IntN(len(Classes))]
	return sampleAround(rng, o, SampleIdentity(rng, c, reserved))
}

// SampleTwin draws an identity of another class that shares id's colours
// and pattern (a class whose palette allows them), outside the reserved
// region: a hard negative for contrastive training, which then has to tell
// the classes apart by shape rather than by colour. ok is false when no
// other class allows the combination.
func SampleTwin(rng *rand.Rand, id Identity) (twin Identity, ok bool) {
	for _, k := range rng.Perm(len(Classes)) {
		c := Classes[k]
		if c == id.Class || !slices.Contains(c.Colours, id.Primary) || !slices.Contains(c.Colours, id.Secondary) || !slices.Contains(c.Patterns, id.Pattern) {
			continue
		}
		for range 8 {
			t := drawIdentity(rng, c)
			t.Primary, t.Secondary, t.Accent, t.Jitter, t.Pattern = id.Primary, id.Secondary, id.Accent, id.Jitter, id.Pattern
			if !t.Reserved() {
				return t, true
			}
		}
	}
	return Identity{}, false
}

func sampleAround(rng *rand.Rand, o SampleOptions, id Identity) (*Scene, CaptionOptions) {
	var ctx *Context
	if rng.Float64() < o.Reference {
		refs := ReferenceContexts()
		ctx = refs[rng.IntN(len(refs))]
	} else {
		scenes := SceneContexts()
		ctx = scenes[rng.IntN(len(scenes))]
	}
	s := &Scene{Identity: id, Context: ctx, Camera: SampleCamera(rng), Seed: rng.Uint64()}
	pick := func(k ModKind) *Modifier {
		var ms []*Modifier
		for _, m := range Modifiers {
			if m.Kind == k {
				ms = append(ms, m)
			}
		}
		return ms[rng.IntN(len(ms))]
	}
	if rng.Float64() < o.Recolour {
		s.Modifiers = append(s.Modifiers, pick(Recolour))
	}
	if rng.Float64() < o.Material {
		s.Modifiers = append(s.Modifiers, pick(Material))
	}
	if rng.Float64() < o.Cube {
		s.Modifiers = append(s.Modifiers, pick(Shape))
	}
	pa := o.AccessoryElse
	if id.Class.Live {
		pa = o.AccessoryLive
	}
	if rng.Float64() < pa {
		s.Modifiers = append(s.Modifiers, pick(Accessory))
	}
	if rng.Float64() < o.Style {
		s.Modifiers = append(s.Modifiers, pick(Style))
	}
	co := CaptionOptions{IdentityWords: rng.Float64() < o.IdentityWords}
	co.OmitContext = rng.Float64() < o.OmitContext && ctx.Reference // only a plain setting may go unsaid
	return s, co
}

// SceneContexts are the settings that are not plain reference settings:
// those of the DreamBench and RPO prompts.
func SceneContexts() []*Context {
	var out []*Context
	for _, c := range Contexts {
		if !c.Reference {
			out = append(out, c)
		}
	}
	return out
}
