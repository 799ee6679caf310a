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
//
// For Stable Diffusion the prompts enter as the frozen text encoder's
// states (Ctx), computed once per prompt, instead of one-hot rows.
type DenoiseBatch struct {
	N                              int
	Config                         T2IConfig
	OneHot, Ctx, X, TEmb, Target   *tensor.Dense // the inputs' values, written by the Set methods
	onehot, ctx, x, tEmb, targetIn *G.Node
	model                          *T2I
	// Guided: a sampling batch of classifier-free guidance, N rows of
	// prompts (conditional, then unconditional) over N/2 rows of latents
	// and timesteps that both halves share (GuidedUNet)
	Guided bool
}

// NewDenoiseBatch declares the inputs of n rows on b (whose store holds
// the denoiser's weights, m's or a policy's); with target, also the
// training targets.
func (m *T2I) NewDenoiseBatch(b *nn.Builder, n int, target bool) *DenoiseBatch {
	return m.newDenoiseBatch(b, n, target, false)
}

// newDenoiseBatch is NewDenoiseBatch, or with guided a sampling batch of n
// prompt rows over n/2 rows of latents (DenoiseBatch.Guided).
func (m *T2I) newDenoiseBatch(b *nn.Builder, n int, target, guided bool) *DenoiseBatch {
	c := m.Config
	d := &DenoiseBatch{N: n, Config: c, model: m, Guided: guided}
	s := c.LatentSide()
	in, out, tdim := c.UNet.InChannels, c.UNet.OutChannels, c.UNet.Channels
	if c.SD != nil {
		u := &c.SD.UNet
		in, out, tdim = u.InChannels, u.OutChannels, []int{u.TimeDim()}
		d.ctx, d.Ctx = b.InputData("context", n, c.MaxLen, u.ContextDim())
	} else if guided { // the text encoder runs once per sampling, not per step (SetTokens)
		d.ctx, d.Ctx = b.InputData("context", n, c.MaxLen, c.Text.Width)
	} else {
		d.onehot, d.OneHot = b.InputData("onehot", n*c.MaxLen, c.Text.Vocab)
	}
	rows := n
	if d.Guided {
		rows = n / 2
	}
	d.x, d.X = b.InputData("x_t", rows, in, s, s)
	d.tEmb, d.TEmb = b.InputData("t_emb", rows, tdim[0])
	if target {
		d.targetIn, d.Target = b.InputData("target", n, out, s, s)
	}
	return d
}

// Prediction builds the denoiser on the batch (DenoiserGraph, or Stable
// Diffusion's U-Net under "unet.").
func (d *DenoiseBatch) Prediction(b *nn.Builder) *G.Node {
	if sd := d.Config.SD; sd != nil {
		return SDUNet(b.Scope("unet"), &sd.UNet, d.x, d.tEmb, d.ctx)
	}
	if d.Guided {
		return GuidedUNet(b.Scope("unet"), d.Config.UNet, d.x, d.tEmb, d.ctx)
	}
	return d.Config.DenoiserGraph(b, d.onehot, d.x, d.tEmb, d.N)
}

// TargetNode is the targets' input node (nil without targets).
func (d *DenoiseBatch) TargetNode() *G.Node { return d.targetIn }

// RowSize is the number of latent elements of one row.
func (d *DenoiseBatch) RowSize() int { return d.X.Shape().TotalSize() / d.N }

// SetTokens writes the token ids of all rows (N·MaxLen ids, row after row).
func (d *DenoiseBatch) SetTokens(ids []int) error {
	c := d.Config
	if c.SD == nil && d.Guided { // the text encoder's states of every row, once
		return d.model.encodeTexts(ids, d.N, d.Ctx.Data().([]float32))
	}
	if c.SD == nil {
		text.OneHot(ids, c.Text.Vocab, d.OneHot.Data().([]float32))
		return nil
	}
	dst := d.Ctx.Data().([]float32)
	per := len(dst) / d.N
	for r := 0; r < d.N; r++ {
		s, err := d.model.TextStates(ids[r*c.MaxLen : (r+1)*c.MaxLen])
		if err != nil {
			return err
		}
		copy(dst[r*per:(r+1)*per], s)
	}
	return nil
}

// SetTimesteps writes the timestep features of the rows.
func (d *DenoiseBatch) SetTimesteps(ts []float64) {
	te := d.TEmb.Data().([]float32)
	var f []float64
	if sd := d.Config.SD; sd != nil {
		f = sd.UNet.TimestepFeatures(ts)
	} else {
		f = nn.TimestepEmbedding(ts, d.Config.UNet.Channels[0])
	}
	for i, v := range f {
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
