package models

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/text"
)

// DenoiseBatch is the denoiser's inputs for a batch of N rows, declared on
// one graph: the prompts' token ids as one-hot rows, the noisy latents x_t,
// the timesteps' sinusoidal features and, for training, the targets.
// Pretraining, RPO and sampling all fill their batches through it.
type DenoiseBatch struct {
	N                         int
	Config                    T2IConfig
	OneHot, X, TEmb, Target   *tensor.Dense // the inputs' values, written by the Set methods
	onehot, x, tEmb, targetIn *G.Node
}

// NewDenoiseBatch declares the inputs of n rows on b; with target, also the
// training targets.
func (c T2IConfig) NewDenoiseBatch(b *nn.Builder, n int, target bool) *DenoiseBatch {
	d := &DenoiseBatch{N: n, Config: c}
	s := c.LatentSide()
	d.onehot, d.OneHot = b.InputData("onehot", n*c.MaxLen, c.Text.Vocab)
	d.x, d.X = b.InputData("x_t", n, c.UNet.InChannels, s, s)
	d.tEmb, d.TEmb = b.InputData("t_emb", n, c.UNet.Channels[0])
	if target {
		d.targetIn, d.Target = b.InputData("target", n, c.UNet.OutChannels, s, s)
	}
	return d
}

// Prediction builds the denoiser on the batch (DenoiserGraph).
func (d *DenoiseBatch) Prediction(b *nn.Builder) *G.Node {
	return d.Config.DenoiserGraph(b, d.onehot, d.x, d.tEmb, d.N)
}

// TargetNode is the targets' input node (nil without targets).
func (d *DenoiseBatch) TargetNode() *G.Node { return d.targetIn }

// RowSize is the number of latent elements of one row.
func (d *DenoiseBatch) RowSize() int { return d.X.Shape().TotalSize() / d.N }

// SetTokens writes the token ids of all rows (N·MaxLen ids, row after row).
func (d *DenoiseBatch) SetTokens(ids []int) {
	text.OneHot(ids, d.Config.Text.Vocab, d.OneHot.Data().([]float32))
}

// SetTimesteps writes the timestep features of the rows.
func (d *DenoiseBatch) SetTimesteps(ts []float64) {
	te := d.TEmb.Data().([]float32)
	for i, v := range nn.TimestepEmbedding(ts, d.Config.UNet.Channels[0]) {
		te[i] = float32(v)
	}
}

// Noise writes row k for clean latents x0, noise ε and timestep t:
// x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε and the target of the model's prediction type.
func (d *DenoiseBatch) Noise(s *diffusion.Schedule, k int, x0, eps []float32, t int) error {
	per := d.RowSize()
	s.AddNoise(d.X.Data().([]float32)[k*per:(k+1)*per], x0, eps, t)
	if d.Target == nil {
		return nil
	}
	return s.Target(d.Config.Prediction, d.Target.Data().([]float32)[k*per:(k+1)*per], x0, eps, t)
}
