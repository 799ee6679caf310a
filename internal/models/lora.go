package models

import (
	"fmt"
	"strconv"
	"strings"

	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/nn"
)

// LoRAFile is the name of a kept model's adapters, diffusers' own
// (pytorch_lora_weights.safetensors: the keys StableDiffusionPipeline.
// load_lora_weights reads, "unet.<layer>.lora.down.weight" and
// ".lora.up.weight"; α and r in the metadata).
const LoRAFile = "pytorch_lora_weights.safetensors"

// SaveLoRA writes the adapters of store (float32) with their α and r.
func SaveLoRA(path string, store *nn.Store, l *nn.LoRA) error {
	f := &ckpt.File{Metadata: map[string]string{"format": "pt", "lora_rank": strconv.Itoa(l.Rank),
		"lora_alpha": strconv.FormatFloat(l.EffectiveAlpha(), 'g', -1, 64), "lora_targets": strings.Join(l.Targets, ",")}}
	ckpt.FromStore(store.Subset(nn.IsLoRAParam), ckpt.F32, "", f)
	if len(f.Tensors) == 0 {
		return fmt.Errorf("models: no adapters to save")
	}
	return ckpt.Write(path, f)
}

// WithLoRA returns m with the adapters of a LoRA file merged into a copy
// of the weights they adapt, scaled by scale (diffusers' lora_scale). Keys
// may carry the pipeline's "unet." prefix or not (UNet2DConditionModel.
// load_attn_procs's); α is the file's lora_alpha (default: the rank).
func (m *T2I) WithLoRA(path string, scale float64) (*T2I, error) {
	f, err := ckpt.Read(path)
	if err != nil {
		return nil, fmt.Errorf("models: --lora %s: %w", path, err)
	}
	over := m.Denoiser.Overlay()
	rank := 0
	for n, t := range f.Tensors {
		if !nn.IsLoRAParam(n) {
			return nil, fmt.Errorf("models: --lora %s: tensor %q is not an adapter (diffusers' <layer>.lora.down.weight / .lora.up.weight); kohya-format files are not read", path, n)
		}
		if !strings.HasPrefix(n, "unet.") {
			n = "unet." + n
		}
		layer := n[:strings.Index(n, ".lora.")]
		if over.Lookup(layer+".weight") == nil {
			return nil, fmt.Errorf("models: --lora %s: tensor %q adapts %s, which the model does not have", path, n, strings.TrimPrefix(layer, "unet."))
		}
		if strings.HasSuffix(n, ".lora.down.weight") {
			rank = t.Shape[0]
		}
		over.Set(n, nn.FromFloat64(tensor.Float32, t.Float64s(), t.Shape...))
	}
	if rank == 0 {
		return nil, fmt.Errorf("models: --lora %s holds no adapters", path)
	}
	alphaOverRank := 1.0
	if a, err := strconv.ParseFloat(f.Metadata["lora_alpha"], 64); err == nil && a > 0 {
		alphaOverRank = a / float64(rank)
	}
	merged, err := nn.MergeLoRA(over, alphaOverRank, scale)
	if err != nil {
		return nil, fmt.Errorf("models: --lora %s: %w", path, err)
	}
	return m.WithDenoiser(merged)
}
