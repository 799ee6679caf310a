package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rpo-dev/rpo/internal/ckpt"

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

// TestValidateEncoder: an embedding model's impossible architecture is
// refused on load naming the directory and the key, not a panic.
func TestValidateEncoder(t *testing.T) {
	if err := TinyEncoderConfig("tiny", true, 8).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		edit func(*EncoderConfig)
		says string
	}{
		{func(c *EncoderConfig) { c.Groups = 0 }, "groups: 0 must be positive"},
		{func(c *EncoderConfig) { c.Channels[1] = -8 }, "channels[1]: -8 must be positive"},
		{func(c *EncoderConfig) { c.Text.Heads = 3 }, "text.width: 8 must be a multiple of text.heads (3)"},
		{func(c *EncoderConfig) { c.Pool = "max" }, "pool: max must be mean or meanmax"},
		{func(c *EncoderConfig) { c.Channels = make([]int, 9); c.Groups = 1 }, "too many levels"},
	} {
		cfg := TinyEncoderConfig("tiny", true, 8)
		c.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%v (want %q)", err, c.says)
		}
	}
	e, err := NewEncoder(TinyEncoderConfig("tiny", false, 8), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "enc")
	if err := e.Save(dir, ckpt.Provenance{Tool: "test"}); err != nil {
		t.Fatal(err)
	}
	e.Close()
	y := filepath.Join(dir, "model.yaml")
	b, _ := os.ReadFile(y)
	if !strings.Contains(string(b), "groups: 2") {
		t.Fatalf("model.yaml has no groups: 2:\n%s", b)
	}
	os.WriteFile(y, []byte(strings.Replace(string(b), "groups: 2", "groups: 0", 1)), 0o644)
	if _, err := LoadEncoder(dir); err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "groups: 0 must be positive") {
		t.Errorf("load of groups: 0: %v", err)
	}
}
