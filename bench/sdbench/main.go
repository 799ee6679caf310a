// Command sdbench times Stable Diffusion's U-Net in rpo at real shapes, the
// counterpart of bench/sd_torch.py (make bench-compare MODELS=sd15).
//
//	sdbench -model DIR -mode fwd32|fwd64|train32
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	G "gorgonia.org/gorgonia"

	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/rpo"
)

func rss(field string) float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field) {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, field)), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

func main() {
	dir := flag.String("model", "", "diffusers directory")
	mode := flag.String("mode", "fwd32", "fwd32, fwd64, train32, or lora32/lora64 (an RPO policy step with rank-4 LoRA: batch 2, gradients of the adapters only)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the timed runs")
	plan := flag.Bool("plan", true, "share the owned operators' output buffers by liveness (nn.PlanBuffers)")
	flag.Parse()
	nn.PlanBuffers = *plan

	loadStart := time.Now()
	side, batch, runs := 32, 2, 2
	var lora *nn.LoRA
	switch *mode {
	case "fwd64":
		side, runs = 64, 1
	case "train32":
		batch = 1
	case "lora32", "lora64":
		l := rpo.DefaultLoRA()
		lora = &l
		if *mode == "lora64" {
			side, runs = 64, 1
		}
	}
	m, err := models.LoadDiffusers(*dir, side*8, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	store := m.Denoiser
	if lora != nil {
		store = store.Overlay()
	}
	b := nn.NewBuilder(store, nil)
	b.LoRA = lora
	in := m.NewDenoiseBatch(b, batch, true)
	var loss *G.Node
	var out G.Value
	train := *mode == "train32" || lora != nil
	if err := nn.Build(func() {
		pred := in.Prediction(b)
		if train {
			loss = b.MSE(pred, in.TargetNode())
		} else {
			G.Read(pred, &out)
		}
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var trainable func(string) bool
	if lora != nil {
		trainable = nn.IsLoRAParam
	}
	prog, err := nn.CompileTrainable(b, loss, train, trainable)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rng := rand.New(rand.NewPCG(0, 1))
	for _, d := range [][]float32{in.X.Data().([]float32), in.Ctx.Data().([]float32), in.Target.Data().([]float32)} {
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
	}
	ts := make([]float64, batch)
	for i := range ts {
		ts[i] = 500
	}
	in.SetTimesteps(ts)
	runtime.GC()
	base := rss("VmRSS:")
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	load := time.Since(loadStart).Seconds()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var times []float64
	for r := 0; r < runs; r++ {
		s := time.Now()
		if _, err := prog.Run(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		times = append(times, time.Since(s).Seconds())
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{"impl": "rpo", "mode": *mode, "seconds": times[len(times)-1], "all": times,
		"peak_mib": rss("VmHWM:"), "base_mib": base, "threads": runtime.GOMAXPROCS(0), "load_s": load, "plan": prog.Plan.String()})
}
