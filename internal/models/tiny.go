package models

import (
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/text"
)

// TinyT2IConfig is a text-to-image model small enough to train and sample
// in milliseconds: for tests and demos, never for pictures.
func TinyT2IConfig(maxLen int) T2IConfig {
	tk := text.NewTokenizer(maxLen)
	return T2IConfig{
		Resolution: 64, MaxLen: maxLen,
		Autoencoder: AutoencoderConfig{Channels: []int{4, 8, 8}, LatentChannels: 2, Groups: 2, ScalingFactor: 0.5},
		Text:        text.EncoderConfig{Vocab: tk.Size(), MaxLen: maxLen, Width: 8, Layers: 1, Heads: 2},
		UNet:        UNetConfig{InChannels: 2, OutChannels: 2, Channels: []int{8, 16}, Groups: 4, Heads: 2, TimeDim: 16, ContextDim: 8},
		Prediction:  diffusion.Epsilon,
	}
}

// TinyEncoderConfig is an embedding model of the same scale (dual: with a
// text tower of context maxLen).
func TinyEncoderConfig(name string, dual bool, maxLen int) EncoderConfig {
	c := EncoderConfig{Name: name, Channels: []int{4, 8}, Groups: 2, Embed: 8, Temperature: 0.1}
	if dual {
		tk := text.NewTokenizer(maxLen)
		c.Text = &text.EncoderConfig{Vocab: tk.Size(), MaxLen: maxLen, Width: 8, Layers: 1, Heads: 2}
	}
	return c
}
