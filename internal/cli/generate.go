package cli

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/imageio"
)

// GenerateOptions are the options of `rpo generate`.
type GenerateOptions struct {
	Global   `mapstructure:",squash" yaml:",inline"`
	Prompt   string  `mapstructure:"prompt" yaml:"prompt"`
	Model    string  `mapstructure:"model" yaml:"model"`
	N        int     `mapstructure:"n" yaml:"n"`
	Seed     uint64  `mapstructure:"seed" yaml:"seed"`
	Steps    int     `mapstructure:"steps" yaml:"steps"`
	Guidance float64 `mapstructure:"guidance" yaml:"guidance"`
	Eta      float64 `mapstructure:"eta" yaml:"eta"`
	Sampler  string  `mapstructure:"sampler" yaml:"sampler"`
	OutDir   string  `mapstructure:"out" yaml:"out"`
	Batch    int     `mapstructure:"batch_size" yaml:"batch_size"`
	Force    bool    `mapstructure:"force" yaml:"force"`
	SDFlags  `mapstructure:",squash" yaml:",inline"`
}

// gridImages is how many images grid.png shows at most.
const gridImages = 64

// NewGenerateCmd builds `rpo generate`.
func NewGenerateCmd(run func(context.Context, *GenerateOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "generate",
		Short:   "Generate images from a prompt",
		Example: `  rpo generate --model runs/pretrain-t2i/model --prompt "a dog on the beach" -n 4 --seed 1`,
		Args:    cobra.NoArgs,
		RunE:    runE(run),
	}
	f := cmd.Flags()
	f.String("prompt", "", "the prompt (required), e.g. \"a sks dog on the beach\"")
	f.String("model", "", "text-to-image model directory (default: the embedded model)")
	f.IntP("n", "n", 4, "images")
	f.Uint64("seed", 0, "seed of image i is seed+i")
	f.Int("steps", 50, "sampler steps")
	f.Float64("guidance", 7.5, "classifier-free guidance scale (1: none)")
	f.Float64("eta", 0, "DDIM η (0: deterministic)")
	f.String("sampler", "ddim", "ddim or ddpm (ancestral)")
	f.String("out", "out", "directory for the PNGs and grid.png (of the first 64)")
	f.Int("batch-size", 32, "images sampled at once (memory grows with it, about 20 MB an image; larger batches are faster); each is written as its batch ends")
	f.Bool("force", false, "write into a directory that already holds images (its earlier PNGs are removed first)")
	addSDFlags(f)
	return cmd
}

// RunGenerate runs `rpo generate`.
func RunGenerate(ctx context.Context, o *GenerateOptions) error {
	if strings.TrimSpace(o.Prompt) == "" {
		return fmt.Errorf("--prompt is required")
	}
	if o.N < 1 {
		return fmt.Errorf("-n must be at least 1")
	}
	if o.Batch < 1 {
		return fmt.Errorf("--batch-size %d: must be at least 1", o.Batch)
	}
	if o.Steps < 1 {
		return fmt.Errorf("--steps %d: must be at least 1", o.Steps)
	}
	old, _ := filepath.Glob(filepath.Join(o.OutDir, "*.png"))
	if len(old) > 0 && !o.Force {
		return fmt.Errorf("--out %s already holds %d PNG images (%s, …): choose another --out, or --force to replace them", o.OutDir, len(old), filepath.Base(old[0]))
	}
	s := diffusion.Sampler{Steps: o.Steps, Guidance: o.Guidance, Eta: o.Eta, Ctx: ctx}
	switch o.Sampler {
	case "ddim":
	case "ddpm":
		s.Ancestral = true
	default:
		return fmt.Errorf("--sampler %q is not ddim or ddpm", o.Sampler)
	}
	m, _, _, err := openT2I(o.Model, o.SDFlags.options())
	if err != nil {
		return err
	}
	defer m.Close()
	if _, unknown, trunc := m.Tokenizer.Encode(o.Prompt); len(unknown) > 0 || trunc {
		if len(unknown) > 0 {
			o.Logger.Warn("words the model does not know are encoded as <unk>", "words", strings.Join(unknown, ", "))
		}
		if trunc {
			o.Logger.Warn("the prompt is longer than the model's context and was cut", "max_tokens", m.Config.MaxLen)
		}
	}
	for _, p := range old { // --force
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return err
	}
	var grid []image.Image
	written := 0
	for lo := 0; lo < o.N; lo += o.Batch {
		hi := min(lo+o.Batch, o.N)
		prompts, seeds := make([]string, hi-lo), make([]uint64, hi-lo)
		for i := range prompts {
			prompts[i], seeds[i] = o.Prompt, o.Seed+uint64(lo+i)
		}
		imgs, err := m.Generate(prompts, seeds, s)
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(o.Err, "interrupted: %d of %d images written to %s\n", written, o.N, o.OutDir)
		}
		if err != nil {
			return err
		}
		for i, im := range imgs {
			if err := imageio.SavePNG(filepath.Join(o.OutDir, fmt.Sprintf("%03d-seed%d.png", lo+i, seeds[i])), im); err != nil {
				return err
			}
			if len(grid) < gridImages {
				grid = append(grid, im)
			}
			written++
		}
	}
	gp := filepath.Join(o.OutDir, "grid.png")
	if err := imageio.SavePNG(gp, imageio.Grid(grid, 4, 2, color.White)); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "wrote %d images of %q and %s\n", written, o.Prompt, gp)
	return nil
}
