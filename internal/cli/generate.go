package cli

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
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
	Latents  string  `mapstructure:"latents" yaml:"latents"`
	LoRA     string  `mapstructure:"lora" yaml:"lora"`
	LoRAScl  float64 `mapstructure:"lora_scale" yaml:"lora_scale"`
	SaveLat  bool    `mapstructure:"save_latents" yaml:"save_latents"`
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
	f.String("latents", "", `start from the initial latents in this safetensors file (a float32 tensor "latents" of shape (n, channels, side, side)); n images, -n ignored`)
	f.Bool("save-latents", false, "also write the initial latents of every image to latents.safetensors in --out (for the same image in another implementation)")
	f.String("lora", "", "apply the LoRA adapters of this file (pytorch_lora_weights.safetensors, diffusers' format) to --model")
	f.Float64("lora-scale", 1, "strength of --lora (diffusers' lora_scale)")
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
	if o.LoRA != "" {
		if m, err = m.WithLoRA(o.LoRA, o.LoRAScl); err != nil {
			return err
		}
		defer m.Close()
	}
	var given []float32 // --latents
	if o.Latents != "" {
		if given, err = readLatents(o.Latents, m); err != nil {
			return err
		}
		if n := len(given) / m.LatentSize(); n != o.N {
			if o.N != 4 { // not the default: the user asked for another count
				o.Logger.Warn("--latents sets the number of images; -n is ignored", "latents", n, "n", o.N)
			}
			o.N = n
		}
	}
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
	var all []float32 // --save-latents
	written := 0
	batches := (o.N + o.Batch - 1) / o.Batch
	phase := NewPhase(o.Err, o.Logger, "generate") // the denoising steps of every batch
	for lo := 0; lo < o.N; lo += o.Batch {
		hi := min(lo+o.Batch, o.N)
		b := lo / o.Batch
		s.Progress = func(d, n int) { phase.Report(b*n+d, batches*n) }
		prompts, seeds := make([]string, hi-lo), make([]uint64, hi-lo)
		for i := range prompts {
			prompts[i], seeds[i] = o.Prompt, o.Seed+uint64(lo+i)
		}
		per := m.LatentSize()
		x := m.InitialLatents(seeds)
		if given != nil {
			x = append([]float32(nil), given[lo*per:hi*per]...)
		}
		if o.SaveLat {
			all = append(all, x...)
		}
		lat, err := m.Sample(prompts, x, models.SampleRNG(seeds[0]), s)
		var imgs []*image.RGBA
		if err == nil {
			imgs, err = m.DecodeLatents(lat, len(prompts))
		}
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
		// the batch's buffers are garbage now: collecting them here keeps
		// the heap of batch k+1 where batch k's was (left to the pacer, it
		// grows to twice the live heap over a long run: -n 512 peaked at
		// 1.67× the RSS of -n 32)
		runtime.GC()
	}
	if o.SaveLat {
		side := m.Config.LatentSide()
		f := &ckpt.File{Tensors: map[string]ckpt.Tensor{"latents": ckpt.EncodeFloat32([]int{o.N, m.Config.LatentChannels(), side, side}, all)}}
		if err := ckpt.Write(filepath.Join(o.OutDir, "latents.safetensors"), f); err != nil {
			return err
		}
	}
	gp := filepath.Join(o.OutDir, "grid.png")
	if err := imageio.SavePNG(gp, imageio.Grid(grid, 4, 2, color.White)); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "wrote %d images of %q and %s\n", written, o.Prompt, gp)
	return nil
}

// readLatents reads --latents: a float32 tensor "latents" of shape (n, C,
// side, side) for model m.
func readLatents(path string, m *models.T2I) ([]float32, error) {
	f, err := ckpt.Read(path)
	if err != nil {
		return nil, fmt.Errorf("--latents %s: %w", path, err)
	}
	t, ok := f.Tensors["latents"]
	if !ok {
		return nil, fmt.Errorf("--latents %s has no tensor named \"latents\" (it has %s)", path, strings.Join(f.Names(), ", "))
	}
	side, c := m.Config.LatentSide(), m.Config.LatentChannels()
	if len(t.Shape) != 4 || t.Shape[0] < 1 || t.Shape[1] != c || t.Shape[2] != side || t.Shape[3] != side || !t.DType.IsFloat() {
		return nil, fmt.Errorf("--latents %s: tensor \"latents\" is %s %v; the model takes (n, %d, %d, %d) float latents at resolution %d",
			path, t.DType, t.Shape, c, side, side, m.Config.Resolution)
	}
	x := t.Float32s()
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("--latents %s: element %d is %v", path, i, v)
		}
	}
	return x, nil
}
