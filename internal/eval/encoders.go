package eval

import (
	"fmt"
	"image"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/floats"

	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/reward"
	"github.com/rpo-dev/rpo/internal/world"
)

// zeroShot classifies image embeddings with a dual encoder's text tower.
// The class: against one text embedding per class, the prompt ensemble of
// CLIP's zero-shot protocol (Radford et al. 2021, §3.1.4): the normalised
// mean of the unit embeddings of "a <class>" and of "a <class> <setting>"
// over every setting of the world, so that the class prompt does not sit
// in one setting more than another; plainClasses keeps the single prompt
// "a <class>" for comparison. The setting: among the prompts "a <class>
// <setting>", the class given. All indexed like world.Classes and
// world.Contexts.
type zeroShot struct {
	classes      [][]float64
	plainClasses [][]float64
	settings     [][][]float64 // [class][setting]
}

func newZeroShot(e *models.Encoder) (*zeroShot, error) {
	if !e.Dual() {
		return nil, fmt.Errorf("eval: zero-shot classification needs a dual encoder (image and text towers), not %s", e.Config.Name)
	}
	k := 1 + len(world.Contexts) // per class: "a <class>", then one prompt per setting
	ps := make([]string, 0, len(world.Classes)*k)
	for _, c := range world.Classes {
		ps = append(ps, "a "+c.Name)
		for _, x := range world.Contexts {
			ps = append(ps, "a "+c.Name+" "+x.Phrase)
		}
	}
	emb, err := e.EmbedTexts(ps)
	if err != nil {
		return nil, err
	}
	z := &zeroShot{}
	for i := range world.Classes {
		block := emb[i*k : (i+1)*k]
		z.plainClasses = append(z.plainClasses, block[0])
		z.settings = append(z.settings, block[1:])
		z.classes = append(z.classes, ensemble(block))
	}
	return z, nil
}

// ensemble returns the unit-length mean of the unit-length vectors of vs.
func ensemble(vs [][]float64) []float64 {
	m := make([]float64, len(vs[0]))
	for _, v := range vs {
		floats.AddScaled(m, 1/floats.Norm(v, 2), v)
	}
	floats.Scale(1/floats.Norm(m, 2), m)
	return m
}

// class returns the index in world.Classes of the class image embedding x
// is closest to (prompt ensemble).
func (z *zeroShot) class(x []float64) int { return argmaxCos(x, z.classes) }

// plainClass is class with the single prompt "a <class>".
func (z *zeroShot) plainClass(x []float64) int { return argmaxCos(x, z.plainClasses) }

// setting returns the index in world.Contexts of the setting x is closest
// to, given its class (an index in world.Classes).
func (z *zeroShot) setting(x []float64, class int) int { return argmaxCos(x, z.settings[class]) }

// EvaluateEncoder measures an encoder on renders of identities that
// pretraining never samples. Dual encoders: zero-shot class top-1 (the
// prompt ensemble of zeroShot, and the single prompt "a <class>") and setting top-1 (prompts "a <class> <setting>" over every
// setting, the class given). Image encoders: identity retrieval top-1 among
// the 30 MiniDreamBench subjects (gallery: the mean embedding of each
// subject's references; queries: n renders in other settings, with
// modifiers and cameras).
func EvaluateEncoder(e *models.Encoder, n int, seed uint64) (map[string]float64, error) {
	rng := rand.New(rand.NewPCG(seed, 0xe4a1))
	if !e.Dual() {
		return identityRetrieval(e, n, rng)
	}
	var imgs []*image.RGBA
	var scenes []*world.Scene
	for len(imgs) < n {
		ci := rng.IntN(len(world.Classes))
		xi := rng.IntN(len(world.Contexts))
		id := world.SampleIdentity(rng, world.Classes[ci], true)
		s := &world.Scene{Identity: id, Context: world.Contexts[xi], Camera: world.SampleCamera(rng), Seed: rng.Uint64()}
		imgs, scenes = append(imgs, s.Render()), append(scenes, s)
	}
	ie, err := e.EmbedImages(imgs)
	if err != nil {
		return nil, err
	}
	z, err := newZeroShot(e)
	if err != nil {
		return nil, err
	}
	classOK, plainOK, ctxOK := 0, 0, 0
	confusion := make([][]int, len(world.Classes)) // [true][predicted]
	for i := range confusion {
		confusion[i] = make([]int, len(world.Classes))
	}
	for i, emb := range ie {
		ci, pred := slices.Index(world.Classes, scenes[i].Identity.Class), z.class(emb)
		confusion[ci][pred]++
		if pred == ci {
			classOK++
		}
		if z.plainClass(emb) == ci {
			plainOK++
		}
		if z.setting(emb, ci) == slices.Index(world.Contexts, scenes[i].Context) {
			ctxOK++
		}
	}
	m := map[string]float64{"class_top1": float64(classOK) / float64(n), "class_top1_plain": float64(plainOK) / float64(n),
		"context_top1": float64(ctxOK) / float64(n)}
	addConfusion(m, confusion)
	return m, nil
}

// addConfusion adds, for every class with images, its class top-1
// ("class_top1/dog") and the share of its images given to each wrong class
// ("confusion/dog→cat"), from counts [true][predicted].
func addConfusion(m map[string]float64, counts [][]int) {
	for ci, row := range counts {
		total := 0
		for _, k := range row {
			total += k
		}
		if total == 0 {
			continue
		}
		name := world.Classes[ci].Name
		m["class_top1/"+name] = float64(row[ci]) / float64(total)
		for pi, k := range row {
			if pi != ci && k > 0 {
				m["confusion/"+name+"→"+world.Classes[pi].Name] = float64(k) / float64(total)
			}
		}
	}
}

// referenceEmbeddings embeds the reference renders of subject s.
func referenceEmbeddings(e *models.Encoder, s world.Subject) ([][]float64, error) {
	var imgs []*image.RGBA
	for _, r := range s.References() {
		imgs = append(imgs, r.Render())
	}
	return e.EmbedImages(imgs)
}

func identityRetrieval(e *models.Encoder, n int, rng *rand.Rand) (map[string]float64, error) {
	subs := world.MiniDreamBench(0)
	gallery := make([][]float64, len(subs))
	for i, s := range subs {
		embs, err := referenceEmbeddings(e, s)
		if err != nil {
			return nil, err
		}
		gallery[i] = make([]float64, len(embs[0]))
		for _, v := range embs {
			for k := range v {
				gallery[i][k] += v[k] / float64(len(embs))
			}
		}
	}
	var imgs []*image.RGBA
	var truth []int
	for len(imgs) < n {
		i := rng.IntN(len(subs))
		s, _ := world.SampleScene(rng, world.DefaultSampleOptions())
		s.Identity = subs[i].Identity
		imgs = append(imgs, s.Render())
		truth = append(truth, i)
	}
	qe, err := e.EmbedImages(imgs)
	if err != nil {
		return nil, err
	}
	ok := 0
	for i, q := range qe {
		if argmaxCos(q, gallery) == truth[i] {
			ok++
		}
	}
	return map[string]float64{"identity_top1": float64(ok) / float64(n)}, nil
}

// RewardPairs measures how often the λ-Harmonic reward r_λ (RPO.md §1,
// computed with dual encoder e on the prompt without its token) prefers
// the right image of a prompt to a wrong one, over n trials on the
// MiniDreamBench subjects: the subject in the prompt's setting against the
// subject in another setting (wrong_context) and against another identity
// of the same class, from the same reserved region, in the prompt's setting
// (wrong_identity). The references are the subject's reference renders.
func RewardPairs(e *models.Encoder, n int, lambda float64, seed uint64) (map[string]float64, error) {
	if !e.Dual() {
		return nil, fmt.Errorf("eval: the reward needs a dual encoder, not %s", e.Config.Name)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9a1f))
	subs := world.MiniDreamBench(0)
	refEmb := make([][][]float64, len(subs))
	settings := world.SceneContexts()
	var prompts []string
	var subj []int
	var imgs []*image.RGBA // per trial: right, wrong context, wrong identity
	for t := 0; t < n; t++ {
		i := rng.IntN(len(subs))
		s := subs[i]
		if refEmb[i] == nil {
			var err error
			if refEmb[i], err = referenceEmbeddings(e, s); err != nil {
				return nil, err
			}
		}
		x := settings[rng.IntN(len(settings))]
		other := x
		for other == x {
			other = settings[rng.IntN(len(settings))]
		}
		stranger := s.Identity
		for stranger.Key() == s.Identity.Key() {
			stranger = world.SampleIdentity(rng, s.Class, true)
		}
		for _, sc := range []world.Scene{{Identity: s.Identity, Context: x}, {Identity: s.Identity, Context: other}, {Identity: stranger, Context: x}} {
			sc.Camera, sc.Seed = world.SampleCamera(rng), rng.Uint64()
			imgs = append(imgs, sc.Render())
		}
		prompts = append(prompts, "a "+s.Class.Name+" "+x.Phrase) // "a sks dog on the beach", the token removed
		subj = append(subj, i)
	}
	ie, err := e.EmbedImages(imgs)
	if err != nil {
		return nil, err
	}
	te, err := e.EmbedTexts(prompts)
	if err != nil {
		return nil, err
	}
	r := func(t, k int) float64 {
		x := ie[3*t+k]
		return reward.Score(refEmb[subj[t]], te[t], x).Reward(lambda)
	}
	ctxOK, idOK := 0, 0
	for t := 0; t < n; t++ {
		if r(t, 0) > r(t, 1) {
			ctxOK++
		}
		if r(t, 0) > r(t, 2) {
			idOK++
		}
	}
	return map[string]float64{"reward_wrong_context": float64(ctxOK) / float64(n), "reward_wrong_identity": float64(idOK) / float64(n)}, nil
}

func argmaxCos(q []float64, cands [][]float64) int {
	best, bi := -2.0, -1
	for i, c := range cands {
		if v := reward.Cosine(q, c); v > best {
			best, bi = v, i
		}
	}
	return bi
}
