package models

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/rpo-dev/rpo/internal/nn"
)

// SDVAEConfig is diffusers' AutoencoderKL configuration (vae/config.json).
type SDVAEConfig struct {
	InChannels       int      `json:"in_channels"`
	OutChannels      int      `json:"out_channels"`
	DownBlockTypes   []string `json:"down_block_types"`
	UpBlockTypes     []string `json:"up_block_types"`
	BlockOutChannels []int    `json:"block_out_channels"`
	LayersPerBlock   int      `json:"layers_per_block"`
	ActFn            string   `json:"act_fn"`
	LatentChannels   int      `json:"latent_channels"`
	NormNumGroups    int      `json:"norm_num_groups"`
	SampleSize       int      `json:"sample_size"`
	ScalingFactor    float64  `json:"scaling_factor"`
}

// Validate fills diffusers' defaults and refuses what cannot be built.
func (c *SDVAEConfig) Validate() error {
	if c.InChannels == 0 {
		c.InChannels = 3
	}
	if c.OutChannels == 0 {
		c.OutChannels = 3
	}
	if c.BlockOutChannels == nil {
		c.BlockOutChannels = []int{64}
	}
	if c.LayersPerBlock == 0 {
		c.LayersPerBlock = 1
	}
	if c.LatentChannels == 0 {
		c.LatentChannels = 4
	}
	if c.NormNumGroups == 0 {
		c.NormNumGroups = 32
	}
	if c.ScalingFactor == 0 {
		c.ScalingFactor = 0.18215
	}
	n := len(c.BlockOutChannels)
	if len(c.DownBlockTypes) != n || len(c.UpBlockTypes) != n {
		return fmt.Errorf("block_out_channels (%d), down_block_types (%d) and up_block_types (%d) must have one entry per block",
			n, len(c.DownBlockTypes), len(c.UpBlockTypes))
	}
	for i := range c.DownBlockTypes {
		if c.DownBlockTypes[i] != "DownEncoderBlock2D" {
			return fmt.Errorf("down_block_types entry %q is not supported", c.DownBlockTypes[i])
		}
		if c.UpBlockTypes[i] != "UpDecoderBlock2D" {
			return fmt.Errorf("up_block_types entry %q is not supported", c.UpBlockTypes[i])
		}
		if c.BlockOutChannels[i]%c.NormNumGroups != 0 {
			return fmt.Errorf("block_out_channels %d is not divisible by norm_num_groups %d", c.BlockOutChannels[i], c.NormNumGroups)
		}
	}
	if c.ActFn != "" && c.ActFn != "silu" {
		return fmt.Errorf("act_fn %q is not supported", c.ActFn)
	}
	return nil
}

// Factor is the ratio of image side to latent side.
func (c *SDVAEConfig) Factor() int { return 1 << (len(c.BlockOutChannels) - 1) }

const vaeEps = 1e-6 // the VAE's GroupNorm ε (diffusers' Encoder and Decoder)

// SDVAEEncode builds AutoencoderKL's posterior moments for images x
// (N, 3, H, W) in [−1, 1]: the encoder and quant_conv, (N, 2·latent, H/f,
// W/f), the mean in the first latent channels.
func SDVAEEncode(b *nn.Builder, c *SDVAEConfig, x *G.Node) *G.Node {
	e := b.Scope("encoder")
	ch := c.BlockOutChannels
	h := e.Conv("conv_in", x, ch[0], 3, 1, 1)
	for i := range ch {
		d := e.Scopef("down_blocks.%d", i)
		for j := 0; j < c.LayersPerBlock; j++ {
			h = sdResnet(d.Scopef("resnets.%d", j), h, nil, ch[i], c.NormNumGroups, vaeEps)
		}
		if i < len(ch)-1 {
			h = d.Conv("downsamplers.0.conv", d.PadBottomRight(h), ch[i], 3, 2, 0)
		}
	}
	h = vaeMid(e.Scope("mid_block"), h, c.NormNumGroups)
	h = e.GroupNormEps("conv_norm_out", h, c.NormNumGroups, vaeEps, true)
	h = e.Conv("conv_out", h, 2*c.LatentChannels, 3, 1, 1)
	return b.Conv("quant_conv", h, 2*c.LatentChannels, 1, 1, 0)
}

// SDVAEDecode builds AutoencoderKL's decoder of latents z (N, latent, h, w)
// (unscaled: the diffusion latents divided by scaling_factor) to images in
// about [−1, 1].
func SDVAEDecode(b *nn.Builder, c *SDVAEConfig, z *G.Node) *G.Node {
	z = b.Conv("post_quant_conv", z, c.LatentChannels, 1, 1, 0)
	d := b.Scope("decoder")
	ch := c.BlockOutChannels
	last := len(ch) - 1
	h := d.Conv("conv_in", z, ch[last], 3, 1, 1)
	h = vaeMid(d.Scope("mid_block"), h, c.NormNumGroups)
	for i := range ch {
		out := ch[last-i]
		u := d.Scopef("up_blocks.%d", i)
		for j := 0; j <= c.LayersPerBlock; j++ {
			h = sdResnet(u.Scopef("resnets.%d", j), h, nil, out, c.NormNumGroups, vaeEps)
		}
		if i < last {
			h = u.Conv("upsamplers.0.conv", u.Upsample2x(h), out, 3, 1, 1)
		}
	}
	h = d.GroupNormEps("conv_norm_out", h, c.NormNumGroups, vaeEps, true)
	return d.Conv("conv_out", h, c.OutChannels, 3, 1, 1)
}

// vaeMid is UNetMidBlock2D without time embedding: a resnet, one
// single-head self-attention over all positions (GroupNorm, to_q/k/v with
// bias, to_out.0, residual), a resnet.
func vaeMid(b *nn.Builder, h *G.Node, groups int) *G.Node {
	ch := h.Shape()[1]
	h = sdResnet(b.Scope("resnets.0"), h, nil, ch, groups, vaeEps)
	a := b.Scope("attentions.0")
	s := h.Shape()
	n, hw := s[0], s[2]*s[3]
	t := a.GroupNormEps("group_norm", h, groups, vaeEps, false)
	t = a.Reshape(a.SwapAxes12(a.Reshape(t, n, ch, hw)), n*hw, ch)
	t = sdAttention(a, t, t, n, hw, hw, 1, true)
	t = a.Reshape(a.SwapAxes12(a.Reshape(t, n, hw, ch)), n, ch, s[2], s[3])
	h = a.Add(h, t)
	return sdResnet(b.Scope("resnets.1"), h, nil, ch, groups, vaeEps)
}

// vaeLegacyNames maps the attention names of VAEs saved by older diffusers
// (…attentions.0.query/key/value/proj_attn) to today's, as diffusers'
// _convert_deprecated_attention_blocks does.
var vaeLegacyNames = map[string]string{"query": "to_q", "key": "to_k", "value": "to_v", "proj_attn": "to_out.0"}
