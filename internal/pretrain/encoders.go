package pretrain

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/reward"
	"github.com/rpo-dev/rpo/internal/text"
	"github.com/rpo-dev/rpo/internal/world"
)

// EncoderOptions configure the training of one embedding model.
type EncoderOptions struct {
	Out             string               `json:"-"`
	Config          models.EncoderConfig `json:"config"`
	Steps           int                  `json:"steps"`
	Batch           int                  `json:"batch"`
	LR              float64              `json:"lr"`
	Seed            uint64               `json:"seed"`
	CheckpointEvery time.Duration        `json:"checkpoint_every"`
	EvalEvery       int                  `json:"eval_every"`
	EvalImages      int                  `json:"eval_images"`
	LogEvery        int                  `json:"log_every"`
	ClassOnly       float64              `json:"class_only"`     // dual encoders: share of captions without the setting phrase, whatever the setting
	Twins           float64              `json:"twins"`          // dual encoders: share of batch pairs whose second scene is the first with a class twin (world.SampleTwin)
	Init            string               `json:"init,omitempty"` // a model directory of the same encoder whose weights start the run (fresh AdamW moments)
	Resume          bool                 `json:"-"`
	Version         string               `json:"-"`
}

// EncoderResult holds the held-out numbers of a trained encoder.
type EncoderResult struct {
	Steps    int
	Eval     map[string]float64
	ModelDir string
}

// TrainEncoder trains align-mini or clip-mini (a dual encoder: symmetric
// contrastive loss on rendered images and their captions, identity words
// included) or dino-mini (an image encoder: contrastive loss between two
// renders of the same identity in different settings, modifiers and
// cameras), and evaluates it on identities pretraining never samples.
func TrainEncoder(ctx context.Context, o EncoderOptions, report func(Metrics)) (EncoderResult, error) {
	var res EncoderResult
	if o.Steps < 1 || o.Batch < 2 || o.LR <= 0 {
		return res, fmt.Errorf("pretrain: %s needs steps ≥ 1, batch ≥ 2, lr > 0", o.Config.Name)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return res, fmt.Errorf("pretrain: %w", err)
	}
	enc, err := models.NewEncoder(o.Config, nil, o.Seed)
	if err != nil {
		return res, err
	}
	defer enc.Close()
	if o.Init != "" && !o.Resume {
		if err := loadModelWeights(o.Init, "encoder", enc.Store); err != nil {
			return res, fmt.Errorf("pretrain: --init %s: %w", o.Init, err)
		}
	}
	c, B, S := o.Config, o.Batch, models.ImageSide
	per := 3 * S * S
	b := nn.NewBuilder(enc.Store, nil)
	var loss *G.Node
	var xa, xb, oh *tensor.Dense
	var na, nb, noh *G.Node
	na, xa = b.InputData("x", B, 3, S, S)
	if c.Text != nil {
		noh, oh = b.InputData("onehot", B*c.Text.MaxLen, c.Text.Vocab)
	} else {
		nb, xb = b.InputData("x2", B, 3, S, S)
	}
	if err := nn.Build(func() {
		ea := models.ImageEmbedding(b, c, na)
		if c.Text != nil {
			loss = models.ContrastiveLoss(b, ea, models.TextEmbedding(b, c, noh, B), c.Temperature)
		} else {
			loss = models.ContrastiveLoss(b, ea, models.ImageEmbedding(b, c, nb), c.Temperature)
		}
	}); err != nil {
		return res, err
	}
	prog, err := nn.Compile(b, loss, true)
	if err != nil {
		return res, err
	}
	defer prog.Close()
	opt := nn.NewAdamW(o.LR)
	evalSeed := o.Seed ^ 0xe7a1
	l := &loop{
		out: o.Out, stage: c.Name, steps: o.Steps, checkpointEvery: o.CheckpointEvery, logEvery: o.LogEvery,
		evalEvery: o.EvalEvery, resume: o.Resume, options: o, store: enc.Store, opt: opt,
		pcg: rand.NewPCG(o.Seed, 0xe1c),
		step: func(rng *rand.Rand) (Metrics, error) {
			xs := xa.Data().([]float32)
			var ids []int
			var prev *world.Scene
			var prevCo world.CaptionOptions
			for i := 0; i < B; i++ {
				s, co := world.SampleScene(rng, world.DefaultSampleOptions())
				if c.Text != nil {
					co.IdentityWords = rng.Float64() < 0.8
					co.NoSetting = rng.Float64() < o.ClassOnly
					if i%2 == 1 && rng.Float64() < o.Twins && prev.Modifier(world.Shape) == nil { // "cube shaped" draws every class alike
						// a hard negative: the previous scene (setting, camera,
						// modifiers, colours, pattern, caption options) with
						// another class, so that only the shape tells them apart
						if tw, ok := world.SampleTwin(rng, prev.Identity); ok {
							t := *prev
							t.Identity = tw
							s, co = &t, prevCo
						}
					}
					prev, prevCo = s, co
				}
				imageio.ToCHW(s.Render(), xs[i*per:(i+1)*per])
				if c.Text != nil {
					id, _, _ := enc.Tokenizer.Encode(s.Caption(co))
					ids = append(ids, id...)
				} else {
					v, _ := world.SampleScene(rng, world.DefaultSampleOptions())
					v.Identity = s.Identity
					imageio.ToCHW(v.Render(), xb.Data().([]float32)[i*per:(i+1)*per])
				}
			}
			if c.Text != nil {
				text.OneHot(ids, c.Text.Vocab, oh.Data().([]float32))
			}
			v, err := prog.Run()
			if err != nil {
				return Metrics{}, err
			}
			norm, err := opt.Update(enc.Store, prog.Grads())
			return Metrics{Loss: v, GradNorm: norm}, err
		},
		evaluate: func(_ int, m *Metrics) error {
			ev, err := EvaluateEncoder(enc, o.EvalImages, evalSeed)
			m.Eval = ev
			return err
		},
		writeModel: func(n int, label string) error {
			return enc.Save(filepath.Join(o.Out, "model"), ckpt.Provenance{
				Tool: "rpo " + o.Version, Command: "rpo pretrain encoders", Created: time.Now().UTC(), Seed: o.Seed,
				Notes: fmt.Sprintf("%s: %s weights after %d steps of batch %d on the procedural world", c.Name, label, n, B),
			})
		},
	}
	step, err := l.run(ctx, report)
	res.Steps = step
	if err != nil {
		return res, err
	}
	if res.Eval, err = EvaluateEncoder(enc, o.EvalImages, evalSeed); err != nil {
		return res, err
	}
	res.ModelDir = filepath.Join(o.Out, "model")
	return res, l.writeModel(step, "final")
}

// EvaluateEncoder measures an encoder on renders of identities that
// pretraining never samples. Dual encoders: zero-shot class top-1 (prompts
// "a <class>") and setting top-1 (prompts "a <class> <setting>" over every
// setting, the class given). Image encoders: identity retrieval top-1 among
// the 30 MiniDreamBench subjects (gallery: the mean embedding of each
// subject's references; queries: n renders in other settings, with
// modifiers and cameras).
func EvaluateEncoder(e *models.Encoder, n int, seed uint64) (map[string]float64, error) {
	rng := rand.New(rand.NewPCG(seed, 0xe4a1))
	if e.Config.Text == nil {
		return identityRetrieval(e, n, rng)
	}
	var imgs []*image.RGBA
	var classes, contexts []int
	scenes := world.Contexts
	for len(imgs) < n {
		ci := rng.IntN(len(world.Classes))
		xi := rng.IntN(len(scenes))
		id := world.SampleIdentity(rng, world.Classes[ci], true)
		s := &world.Scene{Identity: id, Context: scenes[xi], Camera: world.SampleCamera(rng), Seed: rng.Uint64()}
		imgs = append(imgs, s.Render())
		classes, contexts = append(classes, ci), append(contexts, xi)
	}
	ie, err := e.EmbedImages(imgs)
	if err != nil {
		return nil, err
	}
	classPrompts := make([]string, len(world.Classes))
	for i, c := range world.Classes {
		classPrompts[i] = "a " + c.Name
	}
	ce, err := e.EmbedTexts(classPrompts)
	if err != nil {
		return nil, err
	}
	ctxEmb := make([][][]float64, len(world.Classes)) // per class, per setting
	classOK, ctxOK := 0, 0
	for i, emb := range ie {
		if argmaxCos(emb, ce) == classes[i] {
			classOK++
		}
		k := classes[i]
		if ctxEmb[k] == nil {
			ps := make([]string, len(scenes))
			for j, s := range scenes {
				ps[j] = "a " + world.Classes[k].Name + " " + s.Phrase
			}
			if ctxEmb[k], err = e.EmbedTexts(ps); err != nil {
				return nil, err
			}
		}
		if argmaxCos(emb, ctxEmb[k]) == contexts[i] {
			ctxOK++
		}
	}
	return map[string]float64{"class_top1": float64(classOK) / float64(n), "context_top1": float64(ctxOK) / float64(n)}, nil
}

func identityRetrieval(e *models.Encoder, n int, rng *rand.Rand) (map[string]float64, error) {
	subs := world.MiniDreamBench(0)
	gallery := make([][]float64, len(subs))
	for i, s := range subs {
		var imgs []*image.RGBA
		for _, r := range s.References() {
			imgs = append(imgs, r.Render())
		}
		embs, err := e.EmbedImages(imgs)
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

func argmaxCos(q []float64, cands [][]float64) int {
	best, bi := -2.0, -1
	for i, c := range cands {
		if v := reward.Cosine(q, c); v > best {
			best, bi = v, i
		}
	}
	return bi
}

// RewardPairs measures how often the λ-Harmonic reward r_λ (RPO.md §1,
// computed with dual encoder e, the token removed from the prompt) prefers
// the right image of a prompt to a wrong one, over n trials on the
// MiniDreamBench subjects: the subject in the prompt's setting against the
// subject in another setting (wrong_context) and against another identity
// of the same class, from the same reserved region, in the prompt's setting
// (wrong_identity). The references are the subject's reference renders.
func RewardPairs(e *models.Encoder, n int, lambda float64, seed uint64) (map[string]float64, error) {
	if e.Config.Text == nil {
		return nil, fmt.Errorf("pretrain: the reward needs a dual encoder, not %s", e.Config.Name)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9a1f))
	subs := world.MiniDreamBench(0)
	refEmb := make([][][]float64, len(subs))
	var scenes []*world.Context
	for _, c := range world.Contexts {
		if !c.Reference {
			scenes = append(scenes, c)
		}
	}
	var prompts []string
	var subj []int
	var imgs []*image.RGBA // per trial: right, wrong context, wrong identity
	for t := 0; t < n; t++ {
		i := rng.IntN(len(subs))
		s := subs[i]
		if refEmb[i] == nil {
			var refs []*image.RGBA
			for _, r := range s.References() {
				refs = append(refs, r.Render())
			}
			var err error
			if refEmb[i], err = e.EmbedImages(refs); err != nil {
				return nil, err
			}
		}
		x := scenes[rng.IntN(len(scenes))]
		other := x
		for other == x {
			other = scenes[rng.IntN(len(scenes))]
		}
		stranger := s.Identity
		for stranger.Key() == s.Identity.Key() {
			stranger = world.SampleIdentity(rng, s.Class, true)
		}
		for _, sc := range []world.Scene{{Identity: s.Identity, Context: x}, {Identity: s.Identity, Context: other}, {Identity: stranger, Context: x}} {
			sc.Camera, sc.Seed = world.SampleCamera(rng), rng.Uint64()
			imgs = append(imgs, sc.Render())
		}
		prompts = append(prompts, reward.RemoveToken("a sks "+s.Class.Name+" "+x.Phrase, "sks"))
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
		return reward.Harmonic(lambda, reward.AlignI(refEmb[subj[t]], x), reward.AlignT(te[t], x))
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
