package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/models"
)

// SelftestOptions are the options of `rpo selftest`.
type SelftestOptions struct {
	Global       `mapstructure:",squash" yaml:",inline"`
	Steps        int     `mapstructure:"steps" yaml:"steps"`
	LR           float64 `mapstructure:"lr" yaml:"lr"`
	Batch        int     `mapstructure:"batch" yaml:"batch"`
	Resolution   int     `mapstructure:"resolution" yaml:"resolution"`
	Seed         uint64  `mapstructure:"seed" yaml:"seed"`
	MinReduction float64 `mapstructure:"min_reduction" yaml:"min_reduction"`
	OutDir       string  `mapstructure:"out" yaml:"out"`
	LogEvery     int     `mapstructure:"log_every" yaml:"log_every"`
}

// NewSelftestCmd builds `rpo selftest`; run does the work.
func NewSelftestCmd(run func(context.Context, *SelftestOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "selftest",
		Short: "Check the engine on this machine: a small U-Net must overfit one batch",
		Long: `Train a small conditional U-Net (owned operators, gorgonia autodiff, AdamW)
on one fixed random batch and check that the loss falls at least
--min-reduction times. With --out, write the trained U-Net as a model
directory (model.yaml + unet.safetensors).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := &SelftestOptions{}
			if err := resolve(cmd, opts, &opts.Global); err != nil {
				return err
			}
			return run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.Int("steps", 300, "training steps")
	f.Float64("lr", 3e-3, "AdamW learning rate")
	f.Int("batch", 2, "batch size")
	f.Int("resolution", 8, "image side (divisible by 2)")
	f.Uint64("seed", 42, "seed of the parameters and of the batch")
	f.Float64("min-reduction", 10, "the loss must fall at least this many times")
	f.String("out", "", "write the trained U-Net as a model directory here")
	f.Int("log-every", 50, "when not on a terminal, log every this many steps")
	return cmd
}

// RunSelftest runs `rpo selftest`.
func RunSelftest(ctx context.Context, o *SelftestOptions) error {
	cfg := models.SelfCheckConfig()
	prog := NewProgress(o.Err, o.Logger, "selftest", o.Steps, o.LogEvery)
	start := time.Now()
	store, res, err := models.SelfCheck(ctx, models.SelfCheckOptions{
		UNet:  cfg,
		Shape: models.RegressionShape{Batch: o.Batch, Resolution: o.Resolution, ContextLen: 3, Seed: o.Seed},
		Steps: o.Steps, LR: o.LR, Seed: o.Seed,
	}, func(step int, loss, norm float64) {
		prog.Step(step, fmt.Sprintf("loss %.3g", loss), "loss", loss, "grad_norm", norm)
	})
	prog.Close()
	if err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	elapsed := time.Since(start)
	b := ReadBuildInfo()
	fmt.Fprintf(o.Out, "selftest: U-Net of %d parameters, %d steps in %s (%.1f ms/step), BLAS %s\n",
		res.Parameters, res.Steps, elapsed.Round(time.Millisecond), float64(elapsed.Milliseconds())/float64(res.Steps), b.BLAS)
	fmt.Fprintf(o.Out, "selftest: loss %.4g → %.4g (%.3g× lower; required %g×)\n", res.FirstLoss, res.LastLoss, res.Reduction(), o.MinReduction)
	if res.Reduction() < o.MinReduction {
		return fmt.Errorf("selftest: FAILED: the loss fell only %.3g×", res.Reduction())
	}
	if o.OutDir != "" {
		info := &ckpt.ModelInfo{Family: "rpo-unet", Provenance: ckpt.Provenance{
			Tool: "rpo " + b.Version, Command: "rpo selftest", Created: time.Now().UTC(), Seed: o.Seed,
			Notes: "engine self-check: overfits one fixed random batch; not a useful image model",
		}}
		if err := info.SetArchitecture(cfg); err != nil {
			return err
		}
		file := &ckpt.File{Metadata: map[string]string{"step": fmt.Sprint(res.Steps)}}
		ckpt.FromStore(store, ckpt.F32, "", file)
		if err := ckpt.WriteModelDir(o.OutDir, info, map[string]*ckpt.File{"unet": file}); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "selftest: wrote %s\n", o.OutDir)
	}
	fmt.Fprintln(o.Out, "selftest: PASS")
	return nil
}
