package pretrain

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/world"
)

// T2IOptions configure the text-to-image stage (text encoder + U-Net on the
// latents of a frozen autoencoder).
type T2IOptions struct {
	Out             string            `json:"-"`
	Autoencoder     string            `json:"autoencoder"` // model directory of the frozen autoencoder
	Steps           int               `json:"steps"`
	Batch           int               `json:"batch"`
	LR              float64           `json:"lr"`
	LRSchedule      string            `json:"lr_schedule"`     // constant or cosine
	CaptionDropout  float64           `json:"caption_dropout"` // empty captions, for classifier-free guidance
	EMADecay        float64           `json:"ema_decay"`
	SNRGamma        float64           `json:"snr_gamma,omitempty"` // Min-SNR-γ loss weighting; 0: plain MSE
	Seed            uint64            `json:"seed"`
	CheckpointEvery time.Duration     `json:"checkpoint_every"`
	SampleEvery     int               `json:"sample_every"`
	LogEvery        int               `json:"log_every"`
	SampleSteps     int               `json:"sample_steps"` // DDIM steps of the sample grids
	Resume          bool              `json:"-"`
	Init            string            `json:"init,omitempty"` // a text-to-image model directory whose denoiser weights start the run
	Config          *models.T2IConfig `json:"-"`              // nil: DefaultT2I around the autoencoder
	Version         string            `json:"-"`
}

// SamplePrompts are the fixed prompts of the sample grids: held-out
// combinations, and "a sks dog" (the token means nothing yet).
var SamplePrompts = []string{
	"a dog on the beach", "a red backpack", "a cat wearing a santa hat", "a teapot with the Eiffel Tower in the background",
	"a clock in the snow", "a cube shaped vase", "a toy on the Moon", "a sks dog",
}

// T2IResult is what the stage ends with.
type T2IResult struct {
	Steps    int
	MSE      float64 // mean unweighted ε (or v) MSE of the last 100 steps
	ModelDir string
}

const t2iStage = "t2i"

// TrainT2I runs the stage: world scenes and captions on the fly (10%
// captions dropped), latents from the frozen autoencoder's posterior mean
// times its scaling factor, t ~ U{0..T−1}, ε-prediction MSE, AdamW, an EMA
// of the denoiser weights (text encoder and U-Net) for samples and the final
// model.
func TrainT2I(ctx context.Context, o T2IOptions, report func(Metrics)) (T2IResult, error) {
	var res T2IResult
	if o.Steps < 1 || o.Batch < 1 || o.LR <= 0 || o.SNRGamma < 0 {
		return res, fmt.Errorf("pretrain: t2i needs steps ≥ 1, batch ≥ 1, lr > 0, snr gamma ≥ 0")
	}
	lrAt, err := schedule(o.LRSchedule, o.LR, o.Steps)
	if err != nil {
		return res, err
	}
	aeInfo, err := ckpt.ReadModelDir(o.Autoencoder)
	if err != nil {
		return res, fmt.Errorf("pretrain: --autoencoder: %w", err)
	}
	var aeCfg models.AutoencoderConfig
	if err := aeInfo.DecodeArchitecture(&aeCfg); err != nil {
		return res, err
	}
	if aeCfg.ScalingFactor <= 0 {
		return res, fmt.Errorf("pretrain: %s has no latent scaling factor", o.Autoencoder)
	}
	cfg := models.DefaultT2I(aeCfg)
	if o.Config != nil {
		cfg = *o.Config
		cfg.Autoencoder = aeCfg
	}
	m, err := models.NewT2I(cfg, o.Seed)
	if err != nil {
		return res, err
	}
	defer m.Close()
	if err := loadModelWeights(o.Autoencoder, "autoencoder", m.AE); err != nil {
		return res, err
	}
	if err := os.MkdirAll(filepath.Join(o.Out, "samples"), 0o755); err != nil {
		return res, fmt.Errorf("pretrain: %w", err)
	}
	run, err := newT2IRun(m, o)
	if err != nil {
		return res, err
	}
	defer run.close()
	if o.Init != "" && !o.Resume {
		if err := loadModelWeights(o.Init, "denoiser", m.Denoiser); err != nil {
			return res, err
		}
	}
	ema := m.Denoiser.Clone()

	opt := nn.NewAdamW(o.LR)
	var recent []float64
	l := &loop{
		out: o.Out, stage: t2iStage, steps: o.Steps, checkpointEvery: o.CheckpointEvery, logEvery: o.LogEvery,
		evalEvery: o.SampleEvery, resume: o.Resume, options: o, store: m.Denoiser, opt: opt,
		extra: []namedStore{{"ema", ema}}, pcg: rand.NewPCG(o.Seed, 0x721), schedule: lrAt,
		step: func(rng *rand.Rand) (Metrics, error) {
			if err := run.fillBatch(rng); err != nil {
				return Metrics{}, err
			}
			loss, err := run.train.Run()
			if err != nil || math.IsNaN(loss) || math.IsInf(loss, 0) {
				return Metrics{Loss: loss}, err
			}
			mt, mse := Metrics{Loss: loss}, loss
			if run.weight != nil { // the loss is weighted: report the plain MSE beside it
				if mse, err = nn.ScalarValue(run.mse); err != nil {
					return Metrics{}, err
				}
				mt.MSE = mse
			}
			if mt.GradNorm, err = opt.Update(m.Denoiser, run.train.Grads()); err != nil {
				return Metrics{}, err
			}
			updateEMA(ema, m.Denoiser, o.EMADecay)
			if recent = append(recent, mse); len(recent) > 100 {
				recent = recent[1:]
			}
			return mt, nil
		},
		evaluate: func(n int, _ *Metrics) error {
			return run.sampleGrid(ema, filepath.Join(o.Out, "samples", fmt.Sprintf("step-%06d.png", n)))
		},
		writeModel: func(n int, _ string) error { return run.writeModel(ema, n, o) },
	}
	step, err := l.run(ctx, report)
	res.Steps = step
	if err != nil {
		return res, err
	}
	if err := run.sampleGrid(ema, filepath.Join(o.Out, "samples", "final.png")); err != nil {
		return res, err
	}
	res = T2IResult{Steps: step, MSE: mean(recent), ModelDir: filepath.Join(o.Out, "model")}
	return res, run.writeModel(ema, step, o)
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// updateEMA sets ema ← d·ema + (1−d)·w for every parameter.
func updateEMA(ema, w *nn.Store, d float64) {
	for _, n := range w.Names() {
		e, p := ema.Lookup(n).Data().([]float32), w.Lookup(n).Data().([]float32)
		for i := range e {
			e[i] = float32(d*float64(e[i]) + (1-d)*float64(p[i]))
		}
	}
}

type t2iRun struct {
	m             *models.T2I
	o             T2IOptions
	train, encode *nn.Program
	batch         *models.DenoiseBatch
	weight        *tensor.Dense // per-element loss weights (Min-SNR-γ); nil: plain MSE
	images        *tensor.Dense
	latents       G.Value
	mse           G.Value // the unweighted MSE, read when the loss is weighted
}

func newT2IRun(m *models.T2I, o T2IOptions) (*t2iRun, error) {
	c := m.Config
	r := &t2iRun{m: m, o: o}
	B, s := o.Batch, c.LatentSide()
	// the frozen autoencoder's encoder
	be := nn.NewBuilder(m.AE, nil)
	var x *G.Node
	x, r.images = be.InputData("x", B, 3, c.Resolution, c.Resolution)
	if err := nn.Build(func() {
		mean, _ := models.Encode(be, c.Autoencoder, x)
		G.Read(mean, &r.latents)
	}); err != nil {
		return nil, err
	}
	var err error
	if r.encode, err = nn.Compile(be, nil, false); err != nil {
		return nil, err
	}
	// the denoiser
	b := nn.NewBuilder(m.Denoiser, nil)
	r.batch = r.m.NewDenoiseBatch(b, B, true)
	tg := r.batch.TargetNode()
	var w *G.Node
	if o.SNRGamma > 0 {
		w, r.weight = b.InputData("loss_weight", B, c.UNet.OutChannels, s, s)
	}
	var loss *G.Node
	if err := nn.Build(func() {
		pred := r.batch.Prediction(b)
		if w == nil {
			loss = b.MSE(pred, tg)
			return
		}
		var plain *G.Node
		loss, plain = b.WeightedMSE(pred, tg, w)
		G.Read(plain, &r.mse)
	}); err != nil {
		return nil, err
	}
	if r.train, err = nn.Compile(b, loss, true); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *t2iRun) close() {
	r.train.Close()
	r.encode.Close()
}

// fillBatch renders a batch, encodes it, noises it at random timesteps and
// sets the targets.
func (r *t2iRun) fillBatch(rng *rand.Rand) error {
	c, B := r.m.Config, r.o.Batch
	per := 3 * c.Resolution * c.Resolution
	imgs := r.images.Data().([]float32)
	ids := make([]int, 0, B*c.MaxLen)
	for i := 0; i < B; i++ {
		s, co := world.SampleScene(rng, world.DefaultSampleOptions())
		imageio.ToCHW(s.Render(), imgs[i*per:(i+1)*per])
		caption := s.Caption(co)
		if rng.Float64() < r.o.CaptionDropout {
			caption = ""
		}
		id, _, _ := r.m.Tokenizer.Encode(caption)
		ids = append(ids, id...)
	}
	if err := r.batch.SetTokens(ids); err != nil {
		return err
	}
	if _, err := r.encode.Run(); err != nil {
		return err
	}
	lat := r.latents.Data().([]float32)
	sf := float32(c.Autoencoder.ScalingFactor)
	lp := len(lat) / B
	x0 := make([]float32, lp)
	eps := make([]float32, lp)
	ts := make([]float64, B)
	for i := 0; i < B; i++ {
		for k := range x0 {
			x0[k] = lat[i*lp+k] * sf
			eps[k] = float32(rng.NormFloat64())
		}
		t := rng.IntN(r.m.Schedule.T())
		ts[i] = float64(t)
		if err := r.batch.Noise(r.m.Schedule, i, x0, eps, t); err != nil {
			return err
		}
		if r.weight != nil {
			wt := float32(r.m.Schedule.MinSNRWeight(c.Prediction, t, r.o.SNRGamma))
			ws := r.weight.Data().([]float32)[i*lp : (i+1)*lp]
			for k := range ws {
				ws[k] = wt
			}
		}
	}
	r.batch.SetTimesteps(ts)
	return nil
}

// sampleGrid draws the fixed prompts with fixed seeds from the EMA weights.
func (r *t2iRun) sampleGrid(ema *nn.Store, path string) error {
	m, err := r.m.WithDenoiser(ema)
	if err != nil {
		return err
	}
	defer m.Close()
	seeds := make([]uint64, len(SamplePrompts))
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	imgs, err := m.Generate(SamplePrompts, seeds, diffusion.Sampler{Steps: r.o.SampleSteps, Guidance: 5})
	if err != nil {
		return err
	}
	out := make([]image.Image, len(imgs))
	for i, im := range imgs {
		out[i] = im
	}
	return imageio.SavePNG(path, imageio.Grid(out, len(out), 1, color.White))
}

// writeModel writes the EMA weights as the model directory out/model.
func (r *t2iRun) writeModel(ema *nn.Store, step int, o T2IOptions) error {
	m, err := r.m.WithDenoiser(ema)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Save(filepath.Join(o.Out, "model"), ckpt.Provenance{
		Tool: "rpo " + o.Version, Command: "rpo pretrain t2i", Created: time.Now().UTC(), Seed: o.Seed,
		Base:  o.Autoencoder,
		Notes: fmt.Sprintf("EMA weights after %d steps of batch %d on the procedural world%s", step, o.Batch, initNote(o.Init)),
	})
}
