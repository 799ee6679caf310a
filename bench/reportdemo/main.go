// Command reportdemo writes an evaluation report of tiny random models on
// three MiniDreamBench subjects, so that the report's HTML can be checked in
// a browser without trained models (make report-check).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/dreambench"
	"github.com/rpo-dev/rpo/internal/eval"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/rpo"
	"github.com/rpo-dev/rpo/internal/world"
)

func main() {
	out := flag.String("out", "tmp/report-demo", "output directory")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "reportdemo:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	data := filepath.Join(out, "minidreambench")
	if err := world.Export(data, 0); err != nil {
		return err
	}
	b, err := dreambench.Load(data)
	if err != nil {
		return err
	}
	base, err := models.NewT2I(models.TinyT2IConfig(16), 1)
	if err != nil {
		return err
	}
	defer base.Close()
	enc := func(name string, dual bool, seed uint64) (*models.Encoder, error) {
		return models.NewEncoder(models.TinyEncoderConfig(name, dual, 16), nil, seed)
	}
	m := eval.Models{Base: base, BaseID: "demo"}
	if m.Align, err = enc("align", true, 1); err != nil {
		return err
	}
	if m.Clip, err = enc("clip", true, 2); err != nil {
		return err
	}
	if m.Dino, err = enc("dino", false, 3); err != nil {
		return err
	}
	o := eval.Options{Bench: b, BenchName: "MiniDreamBench variant 0 (demo: untrained tiny models)", Out: out, Subjects: []string{"dog", "backpack", "teapot"},
		Method: eval.Method{Name: "rpo", Train: true, Loss: rpo.LossWeights{Sim: 1, Pref: 1}, Rule: "best@0.5", Steps: 8, LR: 1e-3},
		Token:  "sks", ImagesPerPrompt: 2, Sampler: diffusion.Sampler{Steps: 3, Guidance: 7.5}, LambdaVal: 0.5, Version: "demo"}
	rules, err := rpo.ParseRules("best@0.5,last", 0.5)
	if err != nil {
		return err
	}
	o.Train = rpo.Options{Beta: 1, Rules: rules, ValEvery: 2, ValPerPrompt: 1, ValSampler: diffusion.Sampler{Steps: 2, Guidance: 7.5},
		NegPerPrompt: 1, NegSampler: diffusion.Sampler{Steps: 2, Guidance: 7.5}, LabelMode: rpo.Bernoulli, CheckpointEvery: time.Hour}
	if err := eval.Run(context.Background(), o, m, nil); err != nil {
		return err
	}
	rep, err := eval.Merge([]string{out}, out, eval.Meta{Bench: o.BenchName, Method: "rpo", Training: "tiny: 8 steps, lr 0.001, validation every 2 steps", Models: []string{"tiny random models"},
		PromptCleaning: "token removed, class kept", Seeds: "0 + 1000·prompt + image", ImagesPerPrompt: 2, Sampler: "DDIM 3 steps, guidance 7.5", LambdaVal: 0.5, Version: "demo"})
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s/report.html (%d subjects)\n", out, len(rep.Subjects))
	return nil
}
