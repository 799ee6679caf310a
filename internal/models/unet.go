package models

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/rpo-dev/rpo/internal/nn"
)

// UNetConfig is the architecture of a conditional U-Net. Level i runs at
// 1/2^i of the input resolution with Channels[i] channels; the AttnLevels
// lowest levels hold self- and cross-attention after their ResBlocks (on the
// way down and up); a middle ResBlock sits at the bottom; the way up
// upsamples (nearest) and concatenates the skip of the same resolution.
type UNetConfig struct {
	InChannels  int   `yaml:"in_channels"`  // channels of x_t (4 for latents)
	OutChannels int   `yaml:"out_channels"` // channels of the prediction
	Channels    []int `yaml:"channels"`     // per level, e.g. [32, 64, 128]
	Groups      int   `yaml:"groups"`       // GroupNorm groups
	Heads       int   `yaml:"heads"`        // attention heads at the lowest level
	TimeDim     int   `yaml:"time_dim"`     // width of the time embedding MLP
	ContextDim  int   `yaml:"context_dim"`  // width of the text tokens (0: no cross-attention)
	AttnLevels  int   `yaml:"attn_levels"`  // lowest levels with attention blocks (0 means 1)
}

// attnFrom is the first level with attention blocks.
func (c UNetConfig) attnFrom() int { return len(c.Channels) - max(1, c.AttnLevels) }

// ModelA is the anchor U-Net of GORGONIA.md: channels 32-64-128,
// GroupNorm(8)+SiLU ResBlocks, 4-head self- and cross-attention at the
// lowest resolution, about 1.07 M parameters.
func ModelA() UNetConfig {
	return UNetConfig{InChannels: 4, OutChannels: 4, Channels: []int{32, 64, 128}, Groups: 8, Heads: 4, TimeDim: 128, ContextDim: 64}
}

// EmbeddedShapes is the U-Net intended for the embedded text-to-image model
// (16×16×4 latents, attention at the two lowest levels): the second shape of
// the side-by-side benchmark.
func EmbeddedShapes() (UNetConfig, RegressionShape) {
	return UNetConfig{InChannels: 4, OutChannels: 4, Channels: []int{64, 128, 192}, Groups: 8, Heads: 4, TimeDim: 256, ContextDim: 128, AttnLevels: 2},
		RegressionShape{Batch: 32, Resolution: 16, ContextLen: 16, Seed: 1}
}

// ModelAShape is Model A's benchmark batch: 16 images of 32×32, 8 tokens.
func ModelAShape() RegressionShape {
	return RegressionShape{Batch: 16, Resolution: 32, ContextLen: 8, Seed: 1}
}

// Validate checks that the configuration can be built.
func (c UNetConfig) Validate() error {
	if c.InChannels < 1 || c.OutChannels < 1 || len(c.Channels) < 1 || c.TimeDim < 1 {
		return fmt.Errorf("models: unet: in/out channels, channels and time_dim must be positive")
	}
	for _, ch := range c.Channels {
		if c.Groups < 1 || ch%c.Groups != 0 || ch%c.Heads != 0 {
			return fmt.Errorf("models: unet: %d channels not divisible by %d groups and %d heads", ch, c.Groups, c.Heads)
		}
	}
	return nil
}

// UNet builds the network's prediction for x (B, InChannels, H, W) at the
// timesteps whose sinusoidal embeddings are tEmb (B, Channels[0]) under the
// text tokens ctx (B, L, ContextDim), nil when unconditional. H and W must
// be divisible by 2^(levels−1).
func UNet(b *nn.Builder, c UNetConfig, x, tEmb, ctx *G.Node) *G.Node {
	return unet(b, c, x, tEmb, ctx, false)
}

// GuidedUNet is UNet for classifier-free guidance: x and tEmb hold B/2
// rows, the latents and timesteps that the conditional and unconditional
// halves of ctx's B rows share. The levels below the first attention see
// no text, so they run once on the B/2 rows and their outputs (and skips)
// are then doubled: the same values per row as UNet on the doubled inputs.
func GuidedUNet(b *nn.Builder, c UNetConfig, x, tEmb, ctx *G.Node) *G.Node {
	return unet(b, c, x, tEmb, ctx, true)
}

func unet(b *nn.Builder, c UNetConfig, x, tEmb, ctx *G.Node, guided bool) *G.Node {
	// time embedding MLP on the sinusoidal features
	t := b.Linear("time_embedding.linear_1", tEmb, c.TimeDim, true)
	t = b.Linear("time_embedding.linear_2", b.SiLU(t), c.TimeDim, true)

	last := len(c.Channels) - 1
	h := b.Conv("conv_in", x, c.Channels[0], 3, 1, 1)
	var skips []*G.Node
	for i, ch := range c.Channels {
		if guided && i == c.attnFrom() { // from here on the halves differ
			h, t = b.DoubleBatch(h), b.DoubleBatch(t)
			for k := range skips {
				skips[k] = b.DoubleBatch(skips[k])
			}
		}
		d := b.Scopef("down.%d", i)
		h = d.ResBlock("res", h, t, ch, c.Groups)
		if i >= c.attnFrom() {
			h = d.AttnBlock("attn", h, ctx, c.Heads, c.Groups)
		}
		if i == last {
			break
		}
		skips = append(skips, h)
		h = d.Conv("downsample", h, ch, 3, 2, 1)
	}
	h = b.ResBlock("mid.res", h, t, c.Channels[last], c.Groups)
	for i := last - 1; i >= 0; i-- {
		u := b.Scopef("up.%d", i)
		h = u.Upsample2x(h)
		h = u.ConcatChannels(h, skips[i])
		h = u.ResBlock("res", h, t, c.Channels[i], c.Groups)
		if i >= c.attnFrom() {
			h = u.AttnBlock("attn", h, ctx, c.Heads, c.Groups)
		}
	}
	h = b.GroupNorm("norm_out", h, c.Groups, true)
	return b.Conv("conv_out", h, c.OutChannels, 3, 1, 1)
}
