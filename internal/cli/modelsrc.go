package cli

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/pflag"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/embedded"
	"github.com/rpo-dev/rpo/internal/models"
)

// modelFS returns the model directory dir, or the embedded model name when
// dir is empty, with a label for messages and provenance.
func modelFS(dir, name string) (fs.FS, string, error) {
	if dir != "" {
		return os.DirFS(dir), dir, nil
	}
	fsys, err := embedded.Model(name)
	return fsys, embedded.Label(name), err
}

// openT2I loads the text-to-image model of --model (the embedded one when
// empty): an rpo model directory or a Stable Diffusion diffusers directory.
// It returns the model, an identifier of its weights (for caches) and a
// label for messages and provenance.
func openT2I(dir string, sd models.SDOptions) (*models.T2I, string, string, error) {
	if dir == "" {
		if sd.Resolution != 0 || sd.Variant != "" || sd.OriginalConfig != "" {
			return nil, "", "", fmt.Errorf("--resolution, --weight-variant and --original-config apply to Stable Diffusion models (--model DIR) only")
		}
		fsys, label, err := modelFS(dir, embedded.T2I)
		if err != nil {
			return nil, "", label, err
		}
		m, err := models.LoadT2IFrom(fsys, label)
		if err != nil {
			return nil, "", label, err
		}
		id, err := ckpt.ModelID(fsys)
		return m, id, label, err
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, "", dir, fmt.Errorf("--model %s: %w", dir, err)
	} else if !fi.IsDir() && !models.IsSingleFile(dir) {
		return nil, "", dir, fmt.Errorf("--model %s: not a model (an rpo model directory, a diffusers Stable Diffusion directory, or a single .safetensors checkpoint)", dir)
	}
	m, err := models.OpenT2I(dir, sd)
	if err != nil {
		return nil, "", dir, err
	}
	id, err := models.ModelID(dir)
	return m, id, dir, err
}

// openEncoder loads an encoder model directory (the embedded name when dir
// is empty).
func openEncoder(dir, name string) (*models.Encoder, string, error) {
	if dir != "" && models.IsTransformersDir(dir) { // CLIPModel, ViTModel (DINO)
		e, err := models.LoadTransformersEncoder(dir)
		return e, dir, err
	}
	fsys, label, err := modelFS(dir, name)
	if err != nil {
		return nil, label, err
	}
	e, err := models.LoadEncoderFrom(fsys, label)
	return e, label, err
}

// modelID identifies the weights of the model directory dir (the embedded
// name when dir is empty): rpo.ModelID.
func modelID(dir, name string) (string, error) {
	if dir != "" && models.IsTransformersDir(dir) {
		return models.DirID(dir)
	}
	fsys, _, err := modelFS(dir, name)
	if err != nil {
		return "", err
	}
	return ckpt.ModelID(fsys)
}

// SDFlags are the options of commands that open a Stable Diffusion model.
type SDFlags struct {
	Resolution int    `mapstructure:"resolution" yaml:"resolution,omitempty"`
	Variant    string `mapstructure:"weight_variant" yaml:"weight_variant,omitempty"`
	Original   string `mapstructure:"original_config" yaml:"original_config,omitempty"`
}

func (f SDFlags) options() models.SDOptions {
	return models.SDOptions{Resolution: f.Resolution, Variant: f.Variant, OriginalConfig: f.Original}
}

// addSDFlags declares --resolution and --variant.
func addSDFlags(f *pflag.FlagSet) {
	f.Int("resolution", 0, "Stable Diffusion: image side in pixels, a multiple of the VAE and U-Net factor (default: the model's, 512 for SD 1.5); lower is faster")
	f.String("original-config", "", "Stable Diffusion single-file checkpoint: its original LDM config yaml (v1-inference.yaml, v2-inference-v.yaml; default: FILE.yaml beside the checkpoint, else SD 1.x/2.x defaults)")
	f.String("weight-variant", "", `Stable Diffusion: weight file variant, "fp16" for diffusion_pytorch_model.fp16.safetensors (default: the plain names)`)
}
