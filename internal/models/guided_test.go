package models

import (
	"math"
	"testing"

	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/embedded"
)

// TestGuidedSharingIsExact: guided sampling that runs the U-Net's text-free
// levels once for both halves gives the bits of the doubled batch.
func TestGuidedSharingIsExact(t *testing.T) {
	fsys, err := embedded.Model(embedded.T2I)
	if err != nil {
		t.Fatal(err)
	}
	sample := func(shared bool) []float32 {
		noSharedLevels = !shared
		defer func() { noSharedLevels = false }()
		m, err := LoadT2IFrom(fsys, embedded.Label(embedded.T2I))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		prompts, seeds := []string{"a dog on the beach", "a red backpack", "a sks dog"}, []uint64{1, 2, 3}
		lat, err := m.Sample(prompts, m.InitialLatents(seeds), SampleRNG(1), diffusion.Sampler{Steps: 3, Guidance: 7.5})
		if err != nil {
			t.Fatal(err)
		}
		return lat
	}
	if m := embeddedAttnFrom(t); m == 0 {
		t.Fatal("the embedded U-Net has attention at its first level: nothing is shared")
	}
	a, b := sample(false), sample(true)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("latent %d: %g shared, %g doubled", i, b[i], a[i])
		}
	}
}

func embeddedAttnFrom(t *testing.T) int {
	fsys, err := embedded.Model(embedded.T2I)
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadT2IFrom(fsys, embedded.Label(embedded.T2I))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	return m.Config.UNet.attnFrom()
}
