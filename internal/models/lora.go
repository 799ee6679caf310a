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

// KohyaLoRAFile is the kept model's adapters in the kohya/A1111 format,
// written beside LoRAFile in every kept LoRA model (there is no flag to
// choose one: both are small).
const KohyaLoRAFile = "lora_kohya.safetensors"

// kohyaName is the kohya/A1111 key of a U-Net layer: "lora_unet_" and the
// diffusers module path with "_" for ".".
func kohyaName(layer string) string {
	return "lora_unet_" + strings.ReplaceAll(strings.TrimPrefix(layer, "unet."), ".", "_")
}

// SaveKohyaLoRA writes the adapters in the kohya/A1111 format:
// lora_unet_<path>.lora_down.weight, .lora_up.weight and .alpha (float32).
func SaveKohyaLoRA(path string, store *nn.Store, l *nn.LoRA) error {
	f, err := kohyaFile(store, l)
	if err != nil {
		return err
	}
	return ckpt.Write(path, f)
}

func kohyaFile(store *nn.Store, l *nn.LoRA) (*ckpt.File, error) {
	f := &ckpt.File{Metadata: map[string]string{"ss_network_module": "networks.lora", "ss_network_dim": strconv.Itoa(l.Rank),
		"ss_network_alpha": strconv.FormatFloat(l.EffectiveAlpha(), 'g', -1, 64)}, Tensors: map[string]ckpt.Tensor{}}
	for _, n := range store.Names() {
		layer, ok := strings.CutSuffix(n, ".lora.down.weight")
		if !ok {
			continue
		}
		k := kohyaName(layer)
		for suffix, t := range map[string]*tensor.Dense{".lora_down.weight": store.Lookup(n), ".lora_up.weight": store.Lookup(layer + ".lora.up.weight")} {
			f.Tensors[k+suffix] = ckpt.Encode(ckpt.F32, t.Shape().Clone(), nn.Float64s(t))
		}
		f.Tensors[k+".alpha"] = ckpt.Encode(ckpt.F32, []int{}, []float64{l.EffectiveAlpha()})
	}
	if len(f.Tensors) == 0 {
		return nil, fmt.Errorf("models: no adapters to save")
	}
	return f, nil
}

// SaveLoRA writes the adapters of store (float32) with their α and r.
func SaveLoRA(path string, store *nn.Store, l *nn.LoRA) error {
	f, err := loraFile(store, l)
	if err != nil {
		return err
	}
	return ckpt.Write(path, f)
}

func loraFile(store *nn.Store, l *nn.LoRA) (*ckpt.File, error) {
	f := &ckpt.File{Metadata: map[string]string{"format": "pt", "lora_rank": strconv.Itoa(l.Rank),
		"lora_alpha": strconv.FormatFloat(l.EffectiveAlpha(), 'g', -1, 64), "lora_targets": strings.Join(l.Targets, ",")}}
	ckpt.FromStore(store.Subset(nn.IsLoRAParam), ckpt.F32, "", f)
	if len(f.Tensors) == 0 {
		return nil, fmt.Errorf("models: no adapters to save")
	}
	return f, nil
}

// SaveSDLoRA writes a Stable Diffusion LoRA fine-tune as a model directory
// of adapters only: model.yaml (family sd, the base, the adapters' file),
// pytorch_lora_weights.safetensors and lora_kohya.safetensors — megabytes
// where the merged U-Net is gigabytes. Opening it loads the base and merges.
func SaveSDLoRA(dir string, base *T2I, policy *nn.Store, l *nn.LoRA, prov ckpt.Provenance) error {
	sc := base.Config.SD
	if sc == nil {
		return fmt.Errorf("models: SaveSDLoRA needs a Stable Diffusion base")
	}
	info := &ckpt.ModelInfo{Family: SDFamily, Provenance: prov}
	arch := sdArchitecture{Base: sc.Base, Resolution: base.Config.Resolution, Variant: sc.variant, OriginalConfig: sc.original, LoRA: LoRAFile}
	if err := info.SetArchitecture(arch); err != nil {
		return err
	}
	lf, err := loraFile(policy, l)
	if err != nil {
		return err
	}
	kf, err := kohyaFile(policy, l)
	if err != nil {
		return err
	}
	kb, err := kf.Marshal()
	if err != nil {
		return err
	}
	return ckpt.WriteModelDirFiles(dir, info, map[string]*ckpt.File{strings.TrimSuffix(LoRAFile, ".safetensors"): lf},
		map[string][]byte{KohyaLoRAFile: kb})
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
	kohya := map[string]string{} // kohya key of each layer → its name
	for _, n := range m.Denoiser.Names() {
		if layer, ok := strings.CutSuffix(n, ".weight"); ok {
			kohya[kohyaName(layer)] = layer
		}
	}
	alphas := map[string]float64{}
	rank := 0
	for n, t := range f.Tensors {
		if strings.HasPrefix(n, "lora_unet_") { // kohya/A1111: map to diffusers' names
			base, suffix, _ := strings.Cut(n, ".")
			layer, ok := kohya[base]
			if !ok {
				return nil, fmt.Errorf("models: --lora %s: tensor %q adapts a layer the model does not have", path, n)
			}
			switch suffix {
			case "alpha":
				alphas[layer] = t.Float64s()[0]
				continue
			case "lora_down.weight":
				n = layer + ".lora.down.weight"
			case "lora_up.weight":
				n = layer + ".lora.up.weight"
			default:
				return nil, fmt.Errorf("models: --lora %s: tensor %q is not a LoRA down, up or alpha", path, n)
			}
		} else if strings.HasPrefix(n, "lora_te") {
			return nil, fmt.Errorf("models: --lora %s: text-encoder adapters (%s) are not applied; rpo trains the U-Net only", path, n)
		}
		if !nn.IsLoRAParam(n) {
			return nil, fmt.Errorf("models: --lora %s: tensor %q is not an adapter (diffusers' <layer>.lora.down.weight / .lora.up.weight, or kohya's lora_unet_…)", path, n)
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
	for layer, a := range alphas { // kohya: one α per layer; rpo merges with one
		if k := a / float64(rank); len(alphas) > 0 && alphaOverRank != 1 && k != alphaOverRank {
			return nil, fmt.Errorf("models: --lora %s: the layers' α differ (%s: %g), which rpo does not merge", path, layer, a)
		}
		alphaOverRank = a / float64(rank)
	}
	merged, err := nn.MergeLoRA(over, alphaOverRank, scale)
	if err != nil {
		return nil, fmt.Errorf("models: --lora %s: %w", path, err)
	}
	return m.WithDenoiser(merged)
}
