// Command rpobench times one U-Net training step (forward, backward, AdamW)
// and one forward pass with rpo's engine, on the same architectures and
// shapes as bench/unet_torch.py, and prints one JSON line; with it the
// GFLOP/s of the engine's GEMM on a large square product, the peak that
// model FLOPs utilisation is measured against.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/gemm"

	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/nn"
)

func main() {
	model := flag.String("model", "a", "a (GORGONIA.md's Model A) or embedded")
	steps := flag.Int("steps", 5, "timed steps")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the timed training steps to this file")
	profileForward := flag.Bool("profile-forward", false, "profile the timed forward passes instead of the training steps")
	sample := flag.Int("sample", 0, "instead: time one denoising step of a guided sampling batch of this many images (2× rows, forward only) and its peak RSS")
	flag.Parse()
	var cfg models.UNetConfig
	var shape models.RegressionShape
	switch *model {
	case "a":
		cfg, shape = models.ModelA(), models.ModelAShape()
	case "embedded":
		cfg, shape = models.EmbeddedShapes()
	default:
		fmt.Fprintf(os.Stderr, "rpobench: unknown model %q\n", *model)
		os.Exit(2)
	}
	time1 := func(train bool) (float64, int) {
		store := nn.NewStore(tensor.Float32, 1)
		s, err := models.NewRegressionStep(store, cfg, nil, shape, train)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rpobench:", err)
			os.Exit(1)
		}
		defer s.Close()
		opt := nn.NewAdamW(1e-4)
		run := func() {
			if _, err := s.Program.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "rpobench:", err)
				os.Exit(1)
			}
			if train {
				opt.Update(store, s.Program.Grads())
			}
		}
		run()
		if train != *profileForward && *profile != "" {
			f, err := os.Create(*profile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "rpobench:", err)
				os.Exit(1)
			}
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
		times := make([]float64, *steps)
		for i := range times {
			start := time.Now()
			run()
			times[i] = float64(time.Since(start).Microseconds()) / 1000
		}
		sort.Float64s(times)
		return times[len(times)/2], store.Count() // the median step
	}
	if *sample > 0 {
		shape.Batch = 2 * *sample // conditional and unconditional rows
		fwd, params := time1(false)
		out, _ := json.Marshal(map[string]any{"impl": "rpo (" + nn.BLASName() + ")", "model": *model, "params": params, "mode": "sample",
			"images": *sample, "forward_ms": round(fwd), "peak_mib": round(peakRSS())})
		fmt.Println(string(out))
		return
	}
	train, params := time1(true)
	fwd, _ := time1(false)
	out, _ := json.Marshal(map[string]any{"impl": "rpo (" + nn.BLASName() + ")", "model": *model, "params": params,
		"train_ms": round(train), "forward_ms": round(fwd), "peak_mib": round(peakRSS()), "gemm_gflops": round(gemmPeak())})
	fmt.Println(string(out))
}

// gemmPeak is the median GFLOP/s of rpo's GEMM on a 1024³ product.
func gemmPeak() float64 {
	const n = 1024
	rng := rand.New(rand.NewPCG(1, 2))
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = rng.Float32()-0.5, rng.Float32()-0.5
	}
	gemm.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
	rates := make([]float64, 7)
	for i := range rates {
		start := time.Now()
		gemm.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		rates[i] = 2 * n * n * n / time.Since(start).Seconds() / 1e9
	}
	sort.Float64s(rates)
	return rates[len(rates)/2]
}

func round(v float64) float64 { return float64(int(v*10+0.5)) / 10 }

// peakRSS is VmHWM from /proc/self/status, in MiB.
func peakRSS() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
