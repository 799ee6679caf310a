package models

import (
	"strings"
	"testing"

	"github.com/rpo-dev/rpo/internal/diffusion"
)

// TestValidate: the shipped and tiny architectures pass; impossible values
// are refused naming their keys.
func TestValidate(t *testing.T) {
	if err := TinyT2IConfig(8).Validate(); err != nil {
		t.Fatal(err)
	}
	if err := DefaultT2I(DefaultAutoencoder()).Validate(); err == nil || !strings.Contains(err.Error(), "autoencoder.scaling_factor: 0 must be positive") {
		t.Fatalf("an autoencoder never measured: %v", err) // the scaling factor is measured after training
	}
	for _, c := range []struct {
		edit func(*T2IConfig)
		says string
	}{
		{func(c *T2IConfig) { c.UNet.InChannels = -4 }, "unet.in_channels: -4 must equal autoencoder.latent_channels (2)"},
		{func(c *T2IConfig) { c.UNet.Heads = 0 }, "unet.heads: 0 must be positive"},
		{func(c *T2IConfig) { c.Text.Heads = 3 }, "text.width: 8 must be a multiple of text.heads (3)"},
		{func(c *T2IConfig) { c.Resolution = 30 }, "resolution: 30 must be a multiple of 4"},
		{func(c *T2IConfig) { c.Prediction = diffusion.Prediction("x0") }, "prediction: x0 must be epsilon or v_prediction"},
	} {
		cfg := TinyT2IConfig(8)
		c.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%v (want %q)", err, c.says)
		}
	}
}
