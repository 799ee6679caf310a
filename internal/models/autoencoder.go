package models

import (
	G "gorgonia.org/gorgonia"

	"github.com/rpo-dev/rpo/internal/nn"
)

// AutoencoderConfig is the latent autoencoder: images (3, S, S) in [-1, 1]
// ↔ latents (LatentChannels, S/4, S/4), in the shape of Stable Diffusion's
// VAE (GroupNorm+SiLU ResBlocks, strided convolutions down, nearest
// upsampling + convolution up, a Gaussian posterior with a light KL term).
type AutoencoderConfig struct {
	Channels       []int   `yaml:"channels"`        // per resolution, e.g. [32, 64, 128] for S, S/2, S/4
	LatentChannels int     `yaml:"latent_channels"` // 4
	Groups         int     `yaml:"groups"`
	ScalingFactor  float64 `yaml:"scaling_factor"` // 1/std of the latents, measured after training (SD: 0.18215)
}

// DefaultAutoencoder is the embedded autoencoder: 64×64×3 ↔ 16×16×4.
func DefaultAutoencoder() AutoencoderConfig {
	return AutoencoderConfig{Channels: []int{32, 64, 128}, LatentChannels: 4, Groups: 8}
}

// Encode builds the posterior of x (B, 3, S, S): mean and log-variance
// (B, LatentChannels, S/4, S/4). The full-resolution level has a single
// convolution; the lower levels a ResBlock each.
func Encode(b *nn.Builder, c AutoencoderConfig, x *G.Node) (mean, logvar *G.Node) {
	e := b.Scope("encoder")
	h := e.Conv("conv_in", x, c.Channels[0], 3, 1, 1)
	for i := 1; i < len(c.Channels); i++ {
		d := e.Scopef("down.%d", i)
		h = d.Conv("downsample", h, c.Channels[i], 3, 2, 1)
		h = d.ResBlock("res", h, nil, c.Channels[i], c.Groups)
	}
	h = e.GroupNorm("norm_out", h, c.Groups, true)
	return e.Conv("conv_mean", h, c.LatentChannels, 3, 1, 1), e.Conv("conv_logvar", h, c.LatentChannels, 3, 1, 1)
}

// Decode builds the image (B, 3, S, S) of latents z (B, LatentChannels,
// S/4, S/4) (unscaled: the scaling factor is applied outside).
func Decode(b *nn.Builder, c AutoencoderConfig, z *G.Node) *G.Node {
	d := b.Scope("decoder")
	last := len(c.Channels) - 1
	h := d.Conv("conv_in", z, c.Channels[last], 3, 1, 1)
	for i := last; i >= 1; i-- {
		u := d.Scopef("up.%d", i)
		h = u.ResBlock("res", h, nil, c.Channels[i], c.Groups)
		h = u.Upsample2x(h)
		h = u.Conv("conv", h, c.Channels[i-1], 3, 1, 1)
	}
	h = d.GroupNorm("norm_out", h, c.Groups, true)
	return d.Conv("conv_out", h, 3, 3, 1, 1)
}
