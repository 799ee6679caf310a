package world

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkRender renders pretraining scenes on all cores; images/s is the
// throughput that feeds training on the fly.
func BenchmarkRender(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
		for pb.Next() {
			s, _ := SampleScene(rng, DefaultSampleOptions())
			s.Render()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
