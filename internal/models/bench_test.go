package models

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/nn"
)

// peakRSSMiB reads the process's peak resident set size (VmHWM) on Linux;
// 0 elsewhere.
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// benchModelA times Model A (GORGONIA.md) at 32×32, batch 16, float32, with
// 8 context tokens; train adds the backward pass and an AdamW update.
func benchModelA(b *testing.B, train bool) {
	store := nn.NewStore(tensor.Float32, 1)
	s := newDenoiseStep(b, store, ModelA(), nil, 16, 32, 8, 1, train)
	opt := nn.NewAdamW(1e-4)
	step := func() {
		if _, err := s.Program.Run(); err != nil {
			b.Fatal(err)
		}
		if train {
			if _, err := opt.Update(store, s.Program.Grads()); err != nil {
				b.Fatal(err)
			}
		}
	}
	step() // warm up
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
	b.ReportMetric(peakRSSMiB(), "peak-MiB")
}

func BenchmarkModelATrainStep(b *testing.B) { benchModelA(b, true) }
func BenchmarkModelAForward(b *testing.B)   { benchModelA(b, false) }
