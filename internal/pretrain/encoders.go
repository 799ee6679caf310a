package pretrain

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/eval"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/nn"
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
	LRSchedule      string               `json:"lr_schedule"` // constant or cosine
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
	lrAt, err := schedule(o.LRSchedule, o.LR, o.Steps)
	if err != nil {
		return res, err
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
		pcg: rand.NewPCG(o.Seed, 0xe1c), schedule: lrAt,
		step: func(rng *rand.Rand) (Metrics, error) {
			xs := xa.Data().([]float32)
			var ids []int
			var prev *world.Scene
			var prevCo world.CaptionOptions
			for i := 0; i < B; i++ {
				s, co := world.SampleScene(rng, world.DefaultSampleOptions())
				if c.Text == nil { // dino-mini: a second view of the identity
					v, _ := world.SampleScene(rng, world.DefaultSampleOptions())
					v.Identity = s.Identity
					imageio.ToCHW(s.Render(), xs[i*per:(i+1)*per])
					imageio.ToCHW(v.Render(), xb.Data().([]float32)[i*per:(i+1)*per])
					continue
				}
				co.IdentityWords = rng.Float64() < 0.8
				classOnly := rng.Float64() < o.ClassOnly // drawn always: the data stream does not depend on the sampler's draw
				co.OmitContext = co.OmitContext || classOnly
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
				imageio.ToCHW(s.Render(), xs[i*per:(i+1)*per])
				id, _, _ := enc.Tokenizer.Encode(s.Caption(co))
				ids = append(ids, id...)
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
			ev, err := eval.EvaluateEncoder(enc, o.EvalImages, evalSeed)
			m.Eval = ev
			return err
		},
		writeModel: func(n int, label string) error {
			return enc.Save(filepath.Join(o.Out, "model"), ckpt.Provenance{
				Tool: "rpo " + o.Version, Command: "rpo pretrain encoders", Created: time.Now().UTC(), Seed: o.Seed,
				Notes: fmt.Sprintf("%s: %s weights after %d steps of batch %d on the procedural world%s", c.Name, label, n, B, initNote(o.Init)),
			})
		},
	}
	step, err := l.run(ctx, report)
	res.Steps = step
	if err != nil {
		return res, err
	}
	if res.Eval, err = eval.EvaluateEncoder(enc, o.EvalImages, evalSeed); err != nil {
		return res, err
	}
	res.ModelDir = filepath.Join(o.Out, "model")
	return res, l.writeModel(step, "final")
}
