package models_test

import (
	"testing"

	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/embedded"
	"github.com/rpo-dev/rpo/internal/models"
)

// BenchmarkGenerateEmbedded times what validation and evaluation spend
// their time on: the embedded model drawing 32 images (guided, so the
// U-Net runs on 64 rows) with 10 DDIM steps.
func BenchmarkGenerateEmbedded(b *testing.B) {
	fsys, err := embedded.Model(embedded.T2I)
	if err != nil {
		b.Fatal(err)
	}
	m, err := models.LoadT2IFrom(fsys, embedded.Label(embedded.T2I))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	prompts, seeds := make([]string, 32), make([]uint64, 32)
	for i := range prompts {
		prompts[i], seeds[i] = "a dog on the beach", uint64(i)
	}
	for i := 0; i < b.N; i++ {
		if _, err := m.Generate(prompts, seeds, diffusion.Sampler{Steps: 10, Guidance: 7.5}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
}
