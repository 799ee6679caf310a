package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"

	"github.com/rpo-dev/rpo/internal/nn"
)

// PerBlock is a diffusers config value that is one number for every block
// or a list with one per block (attention_head_dim: 8 or [5, 10, 20, 20]).
type PerBlock []int

// UnmarshalJSON reads a number, a list of numbers, or null.
func (p *PerBlock) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*p = nil
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var l []int
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		*p = l
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*p = PerBlock{n}
	return nil
}

// At is the value of block i.
func (p PerBlock) At(i int) int {
	if len(p) == 1 {
		return p[0]
	}
	return p[i]
}

// SDUNetConfig is diffusers' UNet2DConditionModel configuration
// (unet/config.json) in the subset Stable Diffusion 1.x/2.x use.
type SDUNetConfig struct {
	InChannels                int      `json:"in_channels"`
	OutChannels               int      `json:"out_channels"`
	SampleSize                int      `json:"sample_size"`
	BlockOutChannels          []int    `json:"block_out_channels"`
	LayersPerBlock            PerBlock `json:"layers_per_block"`
	DownBlockTypes            []string `json:"down_block_types"`
	UpBlockTypes              []string `json:"up_block_types"`
	MidBlockType              *string  `json:"mid_block_type"`
	AttentionHeadDim          PerBlock `json:"attention_head_dim"`
	NumAttentionHeads         PerBlock `json:"num_attention_heads"`
	CrossAttentionDim         PerBlock `json:"cross_attention_dim"`
	UseLinearProjection       bool     `json:"use_linear_projection"`
	UpcastAttention           bool     `json:"upcast_attention"`
	TransformerLayersPerBlock PerBlock `json:"transformer_layers_per_block"`
	NormNumGroups             int      `json:"norm_num_groups"`
	NormEps                   float64  `json:"norm_eps"`
	FlipSinToCos              *bool    `json:"flip_sin_to_cos"`
	FreqShift                 float64  `json:"freq_shift"`
	ConvInKernel              int      `json:"conv_in_kernel"`
	ConvOutKernel             int      `json:"conv_out_kernel"`
	DownsamplePadding         *int     `json:"downsample_padding"`
	// settings SD does not use; rpo refuses a model that sets them
	ClassEmbedType       *string  `json:"class_embed_type"`
	AdditionEmbedType    *string  `json:"addition_embed_type"`
	TimeEmbeddingType    *string  `json:"time_embedding_type"`
	ResnetTimeScaleShift *string  `json:"resnet_time_scale_shift"`
	OnlyCrossAttention   any      `json:"only_cross_attention"`
	DualCrossAttention   bool     `json:"dual_cross_attention"`
	CenterInputSample    bool     `json:"center_input_sample"`
	EncoderHidDim        *int     `json:"encoder_hid_dim"`
	TimeCondProjDim      *int     `json:"time_cond_proj_dim"`
	ActFn                *string  `json:"act_fn"`
	AttentionType        *string  `json:"attention_type"`
	MidBlockScaleFactor  *float64 `json:"mid_block_scale_factor"`
	NumClassEmbeds       *int     `json:"num_class_embeds"`
}

// defaults fills what a config may leave out with diffusers' defaults.
func (c *SDUNetConfig) defaults() {
	if c.InChannels == 0 {
		c.InChannels = 4
	}
	if c.OutChannels == 0 {
		c.OutChannels = 4
	}
	if c.BlockOutChannels == nil {
		c.BlockOutChannels = []int{320, 640, 1280, 1280}
	}
	if c.LayersPerBlock == nil {
		c.LayersPerBlock = PerBlock{2}
	}
	if c.AttentionHeadDim == nil {
		c.AttentionHeadDim = PerBlock{8}
	}
	if c.CrossAttentionDim == nil {
		c.CrossAttentionDim = PerBlock{1280}
	}
	if c.TransformerLayersPerBlock == nil {
		c.TransformerLayersPerBlock = PerBlock{1}
	}
	if c.NormNumGroups == 0 {
		c.NormNumGroups = 32
	}
	if c.NormEps == 0 {
		c.NormEps = 1e-5
	}
	if c.FlipSinToCos == nil {
		t := true
		c.FlipSinToCos = &t
	}
	if c.ConvInKernel == 0 {
		c.ConvInKernel = 3
	}
	if c.ConvOutKernel == 0 {
		c.ConvOutKernel = 3
	}
}

// heads is the number of attention heads of block i: num_attention_heads,
// or attention_head_dim, which in Stable Diffusion's configs means the
// number of heads (diffusers keeps the misnomer for compatibility).
func (c *SDUNetConfig) heads(i int) int {
	if c.NumAttentionHeads != nil {
		return c.NumAttentionHeads.At(i)
	}
	return c.AttentionHeadDim.At(i)
}

// Validate refuses what the U-Net cannot build, naming the key.
func (c *SDUNetConfig) Validate() error {
	c.defaults()
	n := len(c.BlockOutChannels)
	bad := func(key string, v any) error { return fmt.Errorf("%s %v is not supported", key, v) }
	if n < 1 || len(c.DownBlockTypes) != n || len(c.UpBlockTypes) != n {
		return fmt.Errorf("block_out_channels (%d), down_block_types (%d) and up_block_types (%d) must have one entry per block",
			n, len(c.DownBlockTypes), len(c.UpBlockTypes))
	}
	for _, p := range []struct {
		key string
		v   PerBlock
	}{{"layers_per_block", c.LayersPerBlock}, {"attention_head_dim", c.AttentionHeadDim}, {"num_attention_heads", c.NumAttentionHeads},
		{"cross_attention_dim", c.CrossAttentionDim}, {"transformer_layers_per_block", c.TransformerLayersPerBlock}} {
		if p.v != nil && len(p.v) != 1 && len(p.v) != n {
			return fmt.Errorf("%s has %d entries for %d blocks", p.key, len(p.v), n)
		}
		for _, x := range p.v {
			if x < 1 {
				return fmt.Errorf("%s %v must be positive", p.key, []int(p.v))
			}
		}
	}
	for i, t := range c.DownBlockTypes {
		if t != "CrossAttnDownBlock2D" && t != "DownBlock2D" {
			return bad("down_block_types entry", t)
		}
		ch := c.BlockOutChannels[i]
		if ch%c.NormNumGroups != 0 {
			return fmt.Errorf("block_out_channels %d is not divisible by norm_num_groups %d", ch, c.NormNumGroups)
		}
		if t == "CrossAttnDownBlock2D" && ch%c.heads(i) != 0 {
			return fmt.Errorf("block_out_channels %d is not divisible by %d attention heads", ch, c.heads(i))
		}
	}
	for _, t := range c.UpBlockTypes {
		if t != "CrossAttnUpBlock2D" && t != "UpBlock2D" {
			return bad("up_block_types entry", t)
		}
	}
	if c.MidBlockType != nil && *c.MidBlockType != "UNetMidBlock2DCrossAttn" {
		return bad("mid_block_type", *c.MidBlockType)
	}
	for _, s := range []struct {
		key string
		v   *string
		ok  string
	}{{"class_embed_type", c.ClassEmbedType, ""}, {"addition_embed_type", c.AdditionEmbedType, ""},
		{"time_embedding_type", c.TimeEmbeddingType, "positional"}, {"resnet_time_scale_shift", c.ResnetTimeScaleShift, "default"},
		{"act_fn", c.ActFn, "silu"}, {"attention_type", c.AttentionType, "default"}} {
		if s.v != nil && *s.v != s.ok {
			return bad(s.key, *s.v)
		}
	}
	if b, ok := c.OnlyCrossAttention.(bool); ok && b || c.OnlyCrossAttention != nil && !ok {
		return bad("only_cross_attention", c.OnlyCrossAttention)
	}
	switch {
	case c.DualCrossAttention:
		return bad("dual_cross_attention", true)
	case c.CenterInputSample:
		return bad("center_input_sample", true)
	case c.EncoderHidDim != nil:
		return bad("encoder_hid_dim", *c.EncoderHidDim)
	case c.TimeCondProjDim != nil:
		return bad("time_cond_proj_dim", *c.TimeCondProjDim)
	case c.NumClassEmbeds != nil:
		return bad("num_class_embeds", *c.NumClassEmbeds)
	case c.MidBlockScaleFactor != nil && *c.MidBlockScaleFactor != 1:
		return bad("mid_block_scale_factor", *c.MidBlockScaleFactor)
	case c.DownsamplePadding != nil && *c.DownsamplePadding != 1:
		return bad("downsample_padding", *c.DownsamplePadding)
	case c.ConvInKernel%2 != 1 || c.ConvOutKernel%2 != 1:
		return fmt.Errorf("conv_in_kernel %d and conv_out_kernel %d must be odd", c.ConvInKernel, c.ConvOutKernel)
	}
	return nil
}

// TimeDim is the width of the sinusoidal timestep features (block_out_channels[0]).
func (c *SDUNetConfig) TimeDim() int { return c.BlockOutChannels[0] }

// ContextDim is the width of the text states it cross-attends to.
func (c *SDUNetConfig) ContextDim() int { return c.CrossAttentionDim.At(0) }

// TimestepFeatures is diffusers' get_timestep_embedding for the U-Net:
// e = t·exp(−ln(10000)·i/(half − freq_shift)) for i < half, features
// [sin e, cos e], or [cos e, sin e] with flip_sin_to_cos.
func (c *SDUNetConfig) TimestepFeatures(ts []float64) []float64 {
	dim := c.TimeDim()
	half := dim / 2
	out := make([]float64, len(ts)*dim)
	for r, t := range ts {
		for i := 0; i < half; i++ {
			// float32 frequencies, as torch computes them
			e := float32(-math.Log(10000)) * float32(i) / float32(float64(half)-c.FreqShift)
			a := float64(float32(t) * float32(math.Exp(float64(e))))
			s, co := math.Sin(a), math.Cos(a)
			if *c.FlipSinToCos {
				s, co = co, s
			}
			out[r*dim+i], out[r*dim+half+i] = s, co
		}
	}
	return out
}

// SDUNet builds UNet2DConditionModel's prediction for x (B, C, H, W) at the
// timesteps whose features are tFeat (B, TimeDim) under the text states
// ctx (B, L, ContextDim). Parameter names are diffusers' (down_blocks.0.
// resnets.1.conv1.weight), so a diffusers state dict loads as it is.
func SDUNet(b *nn.Builder, c *SDUNetConfig, x, tFeat, ctx *G.Node) *G.Node {
	ch := c.BlockOutChannels
	temb := b.Linear("time_embedding.linear_1", tFeat, 4*ch[0], true)
	temb = b.Linear("time_embedding.linear_2", b.SiLU(temb), 4*ch[0], true)

	h := b.Conv("conv_in", x, ch[0], c.ConvInKernel, 1, c.ConvInKernel/2)
	skips := []*G.Node{h}
	for i, typ := range c.DownBlockTypes {
		d := b.Scopef("down_blocks.%d", i)
		for j := 0; j < c.LayersPerBlock.At(i); j++ {
			h = sdResnet(d.Scopef("resnets.%d", j), h, temb, ch[i], c.NormNumGroups, c.NormEps)
			if typ == "CrossAttnDownBlock2D" {
				h = c.transformer(d.Scopef("attentions.%d", j), h, ctx, i)
			}
			skips = append(skips, h)
		}
		if i < len(ch)-1 {
			h = d.Conv("downsamplers.0.conv", h, ch[i], 3, 2, 1)
			skips = append(skips, h)
		}
	}
	last := len(ch) - 1
	m := b.Scope("mid_block")
	h = sdResnet(m.Scope("resnets.0"), h, temb, ch[last], c.NormNumGroups, c.NormEps)
	h = c.transformer(m.Scope("attentions.0"), h, ctx, last)
	h = sdResnet(m.Scope("resnets.1"), h, temb, ch[last], c.NormNumGroups, c.NormEps)
	for i, typ := range c.UpBlockTypes {
		lvl := last - i // the down block whose resolution and settings it mirrors
		u := b.Scopef("up_blocks.%d", i)
		for j := 0; j <= c.LayersPerBlock.At(lvl); j++ {
			skip := skips[len(skips)-1]
			skips = skips[:len(skips)-1]
			h = u.ConcatChannels(h, skip)
			h = sdResnet(u.Scopef("resnets.%d", j), h, temb, ch[lvl], c.NormNumGroups, c.NormEps)
			if typ == "CrossAttnUpBlock2D" {
				h = c.transformer(u.Scopef("attentions.%d", j), h, ctx, lvl)
			}
		}
		if i < last {
			h = u.Conv("upsamplers.0.conv", u.Upsample2x(h), ch[lvl], 3, 1, 1)
		}
	}
	h = b.GroupNormEps("conv_norm_out", h, c.NormNumGroups, c.NormEps, true)
	return b.Conv("conv_out", h, c.OutChannels, c.ConvOutKernel, 1, c.ConvOutKernel/2)
}

// sdResnet is diffusers' ResnetBlock2D: GroupNorm, SiLU, 3×3 conv, plus the
// projected time embedding (when temb is not nil), GroupNorm, SiLU, 3×3
// conv, and a 1×1 conv_shortcut when the channel count changes.
func sdResnet(b *nn.Builder, x, temb *G.Node, out, groups int, eps float64) *G.Node {
	in := x.Shape()[1]
	h := b.GroupNormEps("norm1", x, groups, eps, true)
	h = b.Conv("conv1", h, out, 3, 1, 1)
	if temb != nil {
		t := b.Linear("time_emb_proj", b.SiLU(temb), out, true)
		h = b.AddChannel(h, t)
	}
	h = b.GroupNormEps("norm2", h, groups, eps, true)
	h = b.Conv("conv2", h, out, 3, 1, 1)
	if in != out {
		x = b.Conv("conv_shortcut", x, out, 1, 1, 0)
	}
	return b.Add(x, h)
}

// transformer is diffusers' Transformer2DModel at block level: GroupNorm
// (ε 1e-6), proj_in (1×1 conv, or Linear on tokens with
// use_linear_projection), transformer_layers_per_block BasicTransformerBlocks
// (self-attention, cross-attention to ctx, GEGLU feed-forward, each
// pre-LayerNorm and residual), proj_out, and a residual around it all.
func (c *SDUNetConfig) transformer(b *nn.Builder, x, ctx *G.Node, level int) *G.Node {
	xs := x.Shape()
	n, ch, hh, ww := xs[0], xs[1], xs[2], xs[3]
	heads := c.heads(level)
	t := b.GroupNormEps("norm", x, c.NormNumGroups, 1e-6, false)
	tokens := func(m *G.Node) *G.Node { // (N, C, H, W) → (N·H·W, C)
		m = b.Reshape(m, n, ch, hh*ww)
		return b.Reshape(b.SwapAxes12(m), n*hh*ww, ch)
	}
	if c.UseLinearProjection {
		t = b.Linear("proj_in", tokens(t), ch, true)
	} else {
		t = tokens(b.Conv("proj_in", t, ch, 1, 1, 0))
	}
	cs := ctx.Shape()
	ctx2 := b.Reshape(ctx, cs[0]*cs[1], cs[2])
	for k := 0; k < c.TransformerLayersPerBlock.At(level); k++ {
		blk := b.Scopef("transformer_blocks.%d", k)
		a := blk.LayerNormEps("norm1", t, 1e-5)
		t = blk.Add(t, sdAttention(blk.Scope("attn1"), a, a, n, hh*ww, hh*ww, heads, false))
		a = blk.LayerNormEps("norm2", t, 1e-5)
		t = blk.Add(t, sdAttention(blk.Scope("attn2"), a, ctx2, n, hh*ww, cs[1], heads, false))
		a = blk.LayerNormEps("norm3", t, 1e-5)
		f := blk.Activate(blk.Linear("ff.net.0.proj", a, 8*ch, true), nn.GEGLU)
		t = blk.Add(t, blk.Linear("ff.net.2", f, ch, true))
	}
	toMap := func(m *G.Node) *G.Node { // (N·H·W, C) → (N, C, H, W)
		m = b.SwapAxes12(b.Reshape(m, n, hh*ww, ch))
		return b.Reshape(m, n, ch, hh, ww)
	}
	if c.UseLinearProjection {
		t = toMap(b.Linear("proj_out", t, ch, true))
	} else {
		t = b.Conv("proj_out", toMap(t), ch, 1, 1, 0)
	}
	return b.Add(x, t)
}

// sdAttention is diffusers' Attention on tokens x (B·L, D) over ctx
// (B·Lc, Dc): to_q, to_k, to_v (with bias when bias is set), heads,
// to_out.0 with bias.
func sdAttention(b *nn.Builder, x, ctx *G.Node, bs, l, lc, heads int, bias bool) *G.Node {
	d := x.Shape()[1]
	q := b.Linear("to_q", x, d, bias)
	k := b.Linear("to_k", ctx, d, bias)
	v := b.Linear("to_v", ctx, d, bias)
	return b.Linear("to_out.0", b.MultiHead(q, k, v, bs, l, lc, heads, nil), d, true)
}

// diffusersJSON is the configuration as diffusers' unet/config.json.
func (c *SDUNetConfig) diffusersJSON() ([]byte, error) {
	m := map[string]any{"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.21.4",
		"in_channels": c.InChannels, "out_channels": c.OutChannels, "sample_size": c.SampleSize,
		"block_out_channels": c.BlockOutChannels, "layers_per_block": c.LayersPerBlock.At(0),
		"down_block_types": c.DownBlockTypes, "up_block_types": c.UpBlockTypes, "mid_block_type": "UNetMidBlock2DCrossAttn",
		"attention_head_dim": []int(c.AttentionHeadDim), "cross_attention_dim": c.CrossAttentionDim.At(0),
		"use_linear_projection": c.UseLinearProjection, "upcast_attention": c.UpcastAttention,
		"transformer_layers_per_block": c.TransformerLayersPerBlock.At(0), "norm_num_groups": c.NormNumGroups,
		"norm_eps": c.NormEps, "flip_sin_to_cos": *c.FlipSinToCos, "freq_shift": c.FreqShift,
		"act_fn": "silu", "center_input_sample": false, "downsample_padding": 1}
	if len(c.AttentionHeadDim) == 1 {
		m["attention_head_dim"] = c.AttentionHeadDim[0]
	}
	return json.MarshalIndent(m, "", "  ")
}
