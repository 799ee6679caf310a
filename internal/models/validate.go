package models

import (
	"fmt"
	"strings"

	"github.com/rpo-dev/rpo/internal/diffusion"
)

// Validate checks a text-to-image architecture read from a model.yaml, so
// that an impossible value is an error naming its key instead of a panic
// deep in graph building.
func (c T2IConfig) Validate() error {
	var bad []string
	check := func(ok bool, key string, v any, why string) {
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: %v %s", key, v, why))
		}
	}
	positive := func(key string, v int) { check(v > 0, key, v, "must be positive") }
	channels := func(key string, cs []int, groups int) {
		check(len(cs) > 0, key, cs, "must list at least one level")
		for i, ch := range cs {
			check(ch > 0, fmt.Sprintf("%s[%d]", key, i), ch, "must be positive")
			check(groups <= 0 || ch%groups == 0, fmt.Sprintf("%s[%d]", key, i), ch, fmt.Sprintf("must be a multiple of groups (%d)", groups))
		}
	}
	positive("resolution", c.Resolution)
	positive("max_len", c.MaxLen)
	a := c.Autoencoder
	positive("autoencoder.groups", a.Groups)
	channels("autoencoder.channels", a.Channels, a.Groups)
	positive("autoencoder.latent_channels", a.LatentChannels)
	check(a.ScalingFactor > 0, "autoencoder.scaling_factor", a.ScalingFactor, "must be positive")
	if len(a.Channels) > 0 && c.Resolution > 0 {
		f := 1 << (len(a.Channels) - 1)
		check(c.Resolution%f == 0, "resolution", c.Resolution, fmt.Sprintf("must be a multiple of %d (the autoencoder's %d levels)", f, len(a.Channels)))
	}
	t := c.Text
	positive("text.vocab", t.Vocab)
	check(t.MaxLen == c.MaxLen, "text.max_len", t.MaxLen, fmt.Sprintf("must equal max_len (%d)", c.MaxLen))
	positive("text.width", t.Width)
	check(t.Layers >= 0, "text.layers", t.Layers, "must not be negative")
	positive("text.heads", t.Heads)
	check(t.Heads <= 0 || t.Width%t.Heads == 0, "text.width", t.Width, fmt.Sprintf("must be a multiple of text.heads (%d)", t.Heads))
	u := c.UNet
	check(u.InChannels == a.LatentChannels, "unet.in_channels", u.InChannels, fmt.Sprintf("must equal autoencoder.latent_channels (%d)", a.LatentChannels))
	check(u.OutChannels == a.LatentChannels, "unet.out_channels", u.OutChannels, fmt.Sprintf("must equal autoencoder.latent_channels (%d)", a.LatentChannels))
	positive("unet.groups", u.Groups)
	channels("unet.channels", u.Channels, u.Groups)
	positive("unet.heads", u.Heads)
	positive("unet.time_dim", u.TimeDim)
	check(u.ContextDim == t.Width, "unet.context_dim", u.ContextDim, fmt.Sprintf("must equal text.width (%d)", t.Width))
	check(u.AttnLevels >= 0 && u.AttnLevels <= len(u.Channels), "unet.attn_levels", u.AttnLevels, fmt.Sprintf("must be in [0, %d]", len(u.Channels)))
	if u.Heads > 0 && len(u.Channels) > 0 && u.AttnLevels >= 0 && u.AttnLevels <= len(u.Channels) {
		for i := u.attnFrom(); i < len(u.Channels); i++ {
			check(u.Channels[i]%u.Heads == 0, fmt.Sprintf("unet.channels[%d]", i), u.Channels[i], fmt.Sprintf("must be a multiple of unet.heads (%d) at an attention level", u.Heads))
		}
	}
	check(c.Prediction == diffusion.Epsilon || c.Prediction == diffusion.V, "prediction", c.Prediction, fmt.Sprintf("must be %s or %s", diffusion.Epsilon, diffusion.V))
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

// Validate checks an embedding model's architecture read from a
// model.yaml, naming each impossible key.
func (c EncoderConfig) Validate() error {
	var bad []string
	check := func(ok bool, key string, v any, why string) {
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: %v %s", key, v, why))
		}
	}
	positive := func(key string, v int) { check(v > 0, key, v, "must be positive") }
	check(len(c.Channels) > 0, "channels", c.Channels, "must list at least one level")
	positive("groups", c.Groups)
	for i, ch := range c.Channels {
		check(ch > 0, fmt.Sprintf("channels[%d]", i), ch, "must be positive")
		check(c.Groups <= 0 || ch%c.Groups == 0, fmt.Sprintf("channels[%d]", i), ch, fmt.Sprintf("must be a multiple of groups (%d)", c.Groups))
	}
	check(c.Pool == "" || c.Pool == "mean" || c.Pool == "meanmax", "pool", c.Pool, "must be mean or meanmax")
	check(c.Stem >= 0 && c.Stem <= 4 && (c.Stem <= 1 || c.Stem%2 == 0), "stem", c.Stem, "must be 0, 1, 2 or 4")
	if len(c.Channels) > 0 {
		f := max(c.Stem, 1) << (len(c.Channels) - 1)
		check(ImageSide%f == 0 && ImageSide/f >= 1, "channels", c.Channels, fmt.Sprintf("reduce %d pixels by %d: too many levels", ImageSide, f))
	}
	positive("embed", c.Embed)
	check(c.Temperature >= 0, "temperature", c.Temperature, "must not be negative")
	if t := c.Text; t != nil {
		positive("text.vocab", t.Vocab)
		positive("text.max_len", t.MaxLen)
		positive("text.width", t.Width)
		check(t.Layers >= 0, "text.layers", t.Layers, "must not be negative")
		positive("text.heads", t.Heads)
		check(t.Heads <= 0 || t.Width%t.Heads == 0, "text.width", t.Width, fmt.Sprintf("must be a multiple of text.heads (%d)", t.Heads))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}
