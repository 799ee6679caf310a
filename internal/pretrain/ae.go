package pretrain

import (
	"context"
	"errors"
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
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/world"
)

// AutoencoderOptions configure the autoencoder stage.
type AutoencoderOptions struct {
	Out             string        `json:"-"`
	Steps           int           `json:"steps"`
	Batch           int           `json:"batch"`
	LR              float64       `json:"lr"`
	LRSchedule      string        `json:"lr_schedule"` // constant or cosine (to 5% at the last step)
	KLWeight        float64       `json:"kl_weight"`
	Seed            uint64        `json:"seed"`
	CheckpointEvery time.Duration `json:"checkpoint_every"`
	EvalEvery       int           `json:"eval_every"`
	LogEvery        int           `json:"log_every"`
	Resume          bool          `json:"-"`
	Init            string        `json:"init,omitempty"` // a model directory whose weights start the run
	Config          models.AutoencoderConfig
	Version         string `json:"-"` // tool version for provenance
}

// Metrics is one report of a training loop.
type Metrics struct {
	Step     int                `json:"step"`
	Loss     float64            `json:"loss,omitempty"`
	MSE      float64            `json:"mse,omitempty"` // t2i with a weighted loss: the unweighted MSE
	Recon    float64            `json:"recon,omitempty"`
	KL       float64            `json:"kl,omitempty"`
	PSNR     float64            `json:"psnr,omitempty"`      // of this batch's reconstructions (posterior samples), dB
	GradNorm float64            `json:"grad_norm,omitempty"` // before clipping
	EvalPSNR float64            `json:"eval_psnr,omitempty"` // held-out set, posterior means, dB
	Eval     map[string]float64 `json:"eval,omitempty"`      // other held-out numbers (accuracies)
	Elapsed  float64            `json:"elapsed_s"`
}

// AutoencoderResult is what the stage ends with.
type AutoencoderResult struct {
	Steps         int
	EvalPSNR      float64
	ScalingFactor float64
	ModelDir      string
}

// ErrCheckpointExists refuses to start over an existing run.
var ErrCheckpointExists = errors.New("the output directory already holds a checkpoint: resume it with --resume, or choose another --out")

const aeStage = "autoencoder"

// aeRun is the state of one autoencoder training run.
type aeRun struct {
	o                AutoencoderOptions
	store            *nn.Store
	train, eval      *nn.Program
	x, eps           *tensor.Dense
	ex               *tensor.Dense
	recon, kl        G.Value
	xr, evalOut      G.Value
	evalMean         G.Value
	heldOut          [][]float32
	heldOutImgs      []*image.RGBA
	size, latentSide int
}

// TrainAutoencoder runs the stage: images rendered from the world on the
// fly, MSE reconstruction plus KLWeight·KL of the posterior against N(0, I),
// AdamW, PSNR on a held-out set (32 pretraining-distribution scenes from
// another seed and the 30 MiniDreamBench subjects, whose identities
// pretraining never samples) every EvalEvery steps.
func TrainAutoencoder(ctx context.Context, o AutoencoderOptions, report func(Metrics)) (AutoencoderResult, error) {
	var res AutoencoderResult
	if o.Steps < 1 || o.Batch < 1 || o.LR <= 0 {
		return res, fmt.Errorf("pretrain: autoencoder needs steps ≥ 1, batch ≥ 1, lr > 0")
	}
	lrAt, err := schedule(o.LRSchedule, o.LR, o.Steps)
	if err != nil {
		return res, err
	}
	if err := os.MkdirAll(filepath.Join(o.Out, "samples"), 0o755); err != nil {
		return res, fmt.Errorf("pretrain: %w", err)
	}
	r, err := newAERun(o)
	if err != nil {
		return res, err
	}
	defer r.train.Close()
	defer r.eval.Close()

	if o.Init != "" && !o.Resume {
		if err := loadModelWeights(o.Init, "autoencoder", r.store); err != nil {
			return res, err
		}
	}
	opt := nn.NewAdamW(o.LR)
	l := &loop{
		out: o.Out, stage: aeStage, steps: o.Steps, checkpointEvery: o.CheckpointEvery, logEvery: o.LogEvery,
		evalEvery: o.EvalEvery, resume: o.Resume, options: o, store: r.store, opt: opt, pcg: rand.NewPCG(o.Seed, 0xae),
		schedule: lrAt,
		step: func(rng *rand.Rand) (Metrics, error) {
			r.fillBatch(rng)
			if _, err := r.train.Run(); err != nil {
				return Metrics{}, err
			}
			m := Metrics{Recon: nn.Scalar(r.recon), KL: nn.Scalar(r.kl)}
			m.Loss = m.Recon + o.KLWeight*m.KL
			m.PSNR = psnr(m.Recon)
			if math.IsNaN(m.Loss) || math.IsInf(m.Loss, 0) {
				return m, nil // the loop stops and keeps the last checkpoint
			}
			var err error
			m.GradNorm, err = opt.Update(r.store, r.train.Grads())
			return m, err
		},
		evaluate: func(n int, m *Metrics) error {
			var err error
			m.EvalPSNR, _, err = r.evaluate(filepath.Join(o.Out, "samples", fmt.Sprintf("step-%06d.png", n)))
			return err
		},
		writeModel: func(n int, label string) error {
			var err error
			res, err = r.writeModel(n, label)
			return err
		},
	}
	step, err := l.run(ctx, report)
	res.Steps = step
	if err != nil {
		return res, err
	}
	return r.writeModel(step, "final")
}

// writeModel evaluates the current weights and writes them, with the
// measured latent scaling factor, as the model directory out/model.
func (r *aeRun) writeModel(step int, label string) (AutoencoderResult, error) {
	o := r.o
	p, std, err := r.evaluate(filepath.Join(o.Out, "samples", label+".png"))
	if err != nil {
		return AutoencoderResult{}, err
	}
	res := AutoencoderResult{Steps: step, EvalPSNR: p, ScalingFactor: 1 / std, ModelDir: filepath.Join(o.Out, "model")}
	cfg := o.Config
	cfg.ScalingFactor = res.ScalingFactor
	info := &ckpt.ModelInfo{Family: "rpo-autoencoder", Provenance: ckpt.Provenance{
		Tool: "rpo " + o.Version, Command: "rpo pretrain ae", Created: time.Now().UTC(), Seed: o.Seed,
		Notes: fmt.Sprintf("%s weights after %d steps of batch %d on the procedural world; held-out PSNR %.2f dB", label, step, o.Batch, p),
	}}
	if err := info.SetArchitecture(cfg); err != nil {
		return res, err
	}
	f := &ckpt.File{Metadata: map[string]string{"step": fmt.Sprint(step), "eval_psnr": fmt.Sprintf("%.3f", p)}}
	ckpt.FromStore(r.store, ckpt.F16, "", f)
	return res, ckpt.WriteModelDir(res.ModelDir, info, map[string]*ckpt.File{"autoencoder": f})
}

func newAERun(o AutoencoderOptions) (*aeRun, error) {
	c := o.Config
	r := &aeRun{o: o, store: nn.NewStore(tensor.Float32, o.Seed), size: world.Size}
	r.latentSide = r.size >> (len(c.Channels) - 1)
	b := nn.NewBuilder(r.store, nil)
	var x, eps *G.Node
	x, r.x = b.InputData("x", o.Batch, 3, r.size, r.size)
	eps, r.eps = b.InputData("eps", o.Batch, c.LatentChannels, r.latentSide, r.latentSide)
	var loss *G.Node
	if err := nn.Build(func() {
		mean, logvar := models.Encode(b, c, x)
		std := must(G.Exp(must(G.Mul(logvar, b.Scalar(0.5)))))
		z := b.Add(mean, must(G.HadamardProd(std, eps)))
		xr := models.Decode(b, c, z)
		recon := b.MSE(xr, x)
		// KL(N(μ, σ²) ‖ N(0, 1)) per latent element: ½(μ² + σ² − 1 − log σ²)
		t := must(G.Sub(must(G.Add(must(G.Square(mean)), must(G.Exp(logvar)))), logvar))
		flat := b.Reshape(t, t.Shape().TotalSize())
		kl := must(G.Mul(must(G.Sub(must(G.Mean(flat)), b.Scalar(1))), b.Scalar(0.5)))
		G.Read(recon, &r.recon)
		G.Read(kl, &r.kl)
		loss = b.Add(recon, must(G.Mul(kl, b.Scalar(o.KLWeight))))
	}); err != nil {
		return nil, err
	}
	var err error
	if r.train, err = nn.Compile(b, loss, true); err != nil {
		return nil, err
	}
	const eb = 32
	be := nn.NewBuilder(r.store, nil)
	var ex *G.Node
	ex, r.ex = be.InputData("x", eb, 3, r.size, r.size)
	if err := nn.Build(func() {
		mean, _ := models.Encode(be, c, ex)
		G.Read(mean, &r.evalMean)
		G.Read(models.Decode(be, c, mean), &r.evalOut)
	}); err != nil {
		return nil, err
	}
	if r.eval, err = nn.Compile(be, nil, false); err != nil {
		return nil, err
	}
	r.heldOut, r.heldOutImgs = heldOutSet(o.Seed, 64)
	return r, nil
}

func must(n *G.Node, err error) *G.Node {
	if err != nil {
		panic(nn.BuildError{Err: err})
	}
	return n
}

// heldOutSet renders n images no training batch draws: half from another
// seed of the pretraining distribution, half MiniDreamBench references.
func heldOutSet(seed uint64, n int) ([][]float32, []*image.RGBA) {
	rng := rand.New(rand.NewPCG(seed^0x9e1d0e7, 0x4e1d))
	var imgs []*image.RGBA
	for len(imgs) < n/2 {
		s, _ := world.SampleScene(rng, world.DefaultSampleOptions())
		imgs = append(imgs, s.Render())
	}
	for i := 0; len(imgs) < n; i++ {
		for _, sub := range world.MiniDreamBench(0) {
			if len(imgs) == n {
				break
			}
			refs := sub.References()
			imgs = append(imgs, refs[i%len(refs)].Render())
		}
	}
	out := make([][]float32, n)
	for i, im := range imgs {
		out[i] = make([]float32, 3*world.Size*world.Size)
		imageio.ToCHW(im, out[i])
	}
	return out, imgs
}

func (r *aeRun) fillBatch(rng *rand.Rand) {
	xs := r.x.Data().([]float32)
	per := 3 * r.size * r.size
	for i := 0; i < r.o.Batch; i++ {
		s, _ := world.SampleScene(rng, world.DefaultSampleOptions())
		imageio.ToCHW(s.Render(), xs[i*per:(i+1)*per])
	}
	eps := r.eps.Data().([]float32)
	for i := range eps {
		eps[i] = float32(rng.NormFloat64())
	}
}

// evaluate returns the mean per-image PSNR of the held-out set
// (reconstructed from posterior means) and the standard deviation of those
// means, and writes a grid of 16 originals over their reconstructions.
func (r *aeRun) evaluate(gridPath string) (float64, float64, error) {
	const eb = 32
	per := 3 * r.size * r.size
	var psnrSum, sum, sumSq float64
	var count int
	var grid []image.Image
	for start := 0; start < len(r.heldOut); start += eb {
		xs := r.ex.Data().([]float32)
		for i := 0; i < eb; i++ {
			copy(xs[i*per:(i+1)*per], r.heldOut[(start+i)%len(r.heldOut)])
		}
		if _, err := r.eval.Run(); err != nil {
			return 0, 0, err
		}
		out := r.evalOut.Data().([]float32)
		for i := 0; i < eb && start+i < len(r.heldOut); i++ {
			var se float64
			for k, v := range out[i*per : (i+1)*per] {
				d := float64(v-xs[i*per+k]) / 2 // [−1, 1] → [0, 1] scale
				if v > 1 {
					d = float64(1-xs[i*per+k]) / 2
				} else if v < -1 {
					d = float64(-1-xs[i*per+k]) / 2
				}
				se += d * d
			}
			psnrSum += 10 * math.Log10(1/math.Max(se/float64(per), 1e-10))
			if start == 0 && i < 16 {
				grid = append(grid, imageio.FromCHW(out[i*per:(i+1)*per], r.size, r.size))
			}
		}
		for _, v := range r.evalMean.Data().([]float32) {
			sum += float64(v)
			sumSq += float64(v) * float64(v)
			count++
		}
	}
	imgs := make([]image.Image, 0, 32)
	for i := 0; i < 16; i++ {
		imgs = append(imgs, r.heldOutImgs[i])
	}
	imgs = append(imgs, grid...)
	if err := imageio.SavePNG(gridPath, imageio.Grid(imgs, 16, 1, color.White)); err != nil {
		return 0, 0, err
	}
	mean := sum / float64(count)
	return psnrSum / float64(len(r.heldOut)), math.Sqrt(sumSq/float64(count) - mean*mean), nil
}

// schedule returns the learning rate of each step for a schedule name:
// nil for constant (or ""), a cosine decay to 5% of lr at the step budget
// for cosine; an error for any other name.
func schedule(name string, lr float64, steps int) (func(int) float64, error) {
	switch name {
	case "", "constant":
		return nil, nil
	case "cosine":
		return Cosine(lr, 0.05, steps), nil
	}
	return nil, fmt.Errorf("pretrain: learning-rate schedule %q is not constant or cosine", name)
}

// psnr of an MSE measured on [−1, 1] images.
func psnr(mse float64) float64 { return 10 * math.Log10(4/math.Max(mse, 1e-12)) }

// loadModelWeights starts a run from the weights of a model directory.
func loadModelWeights(dir, component string, store *nn.Store) error {
	info, err := ckpt.ReadModelDir(dir)
	if err != nil {
		return err
	}
	f, err := info.Open(component)
	if err != nil {
		return err
	}
	return ckpt.LoadStore(store, f, "", filepath.Join(dir, info.Files[component]))
}
