package models

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/text"
)

// A single-file checkpoint holds a whole Stable Diffusion model in the
// original (CompVis LDM) layout, as A1111 and ComfyUI users have them
// (v1-5-pruned-emaonly.safetensors): model.diffusion_model.* (the U-Net),
// first_stage_model.* (the VAE), cond_stage_model.transformer.* (SD 1.x's
// CLIP text model) or cond_stage_model.model.* (SD 2.x's OpenCLIP). rpo maps
// the names to diffusers' on load, as diffusers' convert_from_ckpt does, and
// infers the configuration from the tensor shapes; what the shapes do not
// say (attention heads, prediction type, image size) comes from the
// original config (the LDM yaml: --original-config, or FILE.yaml beside the
// checkpoint, as A1111 reads it), else from SD 1.x's and 2.x's defaults.

// IsSingleFile reports whether path is a single-file checkpoint rpo reads
// or refuses by name (.safetensors; .ckpt/.pt/.bin pickles).
func IsSingleFile(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() {
		return false
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".safetensors", ".ckpt", ".pt", ".pth", ".bin":
		return true
	}
	return false
}

// ldmConfig is the part of an original LDM config yaml rpo reads.
type ldmConfig struct {
	Model struct {
		Params struct {
			Parameterization string `yaml:"parameterization"`
			UNetConfig       struct {
				Params struct {
					ImageSize              int   `yaml:"image_size"`
					NumHeads               int   `yaml:"num_heads"`
					NumHeadChannels        int   `yaml:"num_head_channels"`
					UseLinearInTransformer *bool `yaml:"use_linear_in_transformer"`
				} `yaml:"params"`
			} `yaml:"unet_config"`
		} `yaml:"params"`
	} `yaml:"model"`
}

// LoadSingleFile reads a single-file checkpoint. original is the LDM yaml
// ("" to look for FILE.yaml beside it, then use the defaults).
func LoadSingleFile(path string, o SDOptions) (*T2I, error) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".safetensors" {
		return nil, fmt.Errorf("models: %s is a PyTorch pickle (%s), which rpo does not read (a pickle can run code); convert it once to safetensors, "+
			"e.g. python -c \"import torch, safetensors.torch as s; sd = torch.load('%s', map_location='cpu'); "+
			"s.save_file({k: v.contiguous() for k, v in sd.get('state_dict', sd).items() if hasattr(v, 'contiguous')}, '%s')\"",
			path, ext, filepath.Base(path), strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))+".safetensors")
	}
	var lc ldmConfig
	orig := o.OriginalConfig
	if orig == "" {
		if p := strings.TrimSuffix(path, filepath.Ext(path)) + ".yaml"; fileExists(p) {
			orig = p
		}
	}
	if orig != "" {
		b, err := os.ReadFile(orig)
		if err != nil {
			return nil, fmt.Errorf("models: original config: %w", err)
		}
		if err := yaml.Unmarshal(b, &lc); err != nil {
			return nil, fmt.Errorf("models: %s: %w", orig, err)
		}
	}
	f, release, err := ckpt.Map(path)
	if err != nil {
		return nil, fmt.Errorf("models: %s: %w", path, err)
	}
	defer debug.FreeOSMemory() // after release: the load's garbage
	defer release()
	parts := map[string]*ckpt.File{}
	for _, p := range []string{"model.diffusion_model.", "first_stage_model.", "cond_stage_model.transformer.", "cond_stage_model.model."} {
		parts[p] = &ckpt.File{Tensors: map[string]ckpt.Tensor{}}
	}
	for n, t := range f.Tensors {
		for p, part := range parts {
			if rest, ok := strings.CutPrefix(n, p); ok {
				part.Tensors[rest] = t
			}
		}
	}
	u, v := parts["model.diffusion_model."], parts["first_stage_model."]
	if len(u.Tensors) == 0 || len(v.Tensors) == 0 {
		return nil, fmt.Errorf("models: %s is not a Stable Diffusion checkpoint in the original layout (no model.diffusion_model.* or first_stage_model.* tensors)", path)
	}
	sd2 := len(parts["cond_stage_model.model."].Tensors) > 0
	if !sd2 && len(parts["cond_stage_model.transformer."].Tensors) == 0 {
		return nil, fmt.Errorf("models: %s has no text encoder (cond_stage_model.transformer.* or cond_stage_model.model.*)", path)
	}
	sc := &SDConfig{Base: path, original: orig}
	unet, err := ldmUNet(u, &sc.UNet, sd2, &lc)
	if err != nil {
		return nil, fmt.Errorf("models: %s: U-Net: %w", path, err)
	}
	vae, err := ldmVAE(v, &sc.VAE)
	if err != nil {
		return nil, fmt.Errorf("models: %s: VAE: %w", path, err)
	}
	var te *ckpt.File
	if sd2 {
		te, err = openCLIPText(parts["cond_stage_model.model."], &sc.Text)
	} else {
		te, err = hfCLIPText(parts["cond_stage_model.transformer."], &sc.Text)
	}
	if err != nil {
		return nil, fmt.Errorf("models: %s: text encoder: %w", path, err)
	}
	for _, c := range []struct {
		key string
		ok  func() error
	}{{"unet", sc.UNet.Validate}, {"vae", sc.VAE.Validate}, {"text encoder", sc.Text.Validate}} {
		if err := c.ok(); err != nil {
			return nil, fmt.Errorf("models: %s: inferred %s configuration: %w", path, c.key, err)
		}
	}
	// the scheduler: SD 1.x/2.x's DDIM; SD 2.x is v-prediction unless the
	// original config says otherwise (as diffusers' from_single_file)
	one := false
	sc.Scheduler = diffusion.SchedulerConfig{Class: "DDIMScheduler", NumTrainSteps: 1000, BetaStart: 0.00085, BetaEnd: 0.012,
		BetaSchedule: "scaled_linear", SetAlphaToOne: &one, StepsOffset: 1, PredictionType: string(diffusion.Epsilon)}
	param := lc.Model.Params.Parameterization
	if param == "v" || param == "" && sd2 && orig == "" {
		sc.Scheduler.PredictionType = string(diffusion.V)
	}
	if err := sc.Scheduler.Validate(); err != nil {
		return nil, err
	}
	pad := "<|endoftext|>"
	if sd2 {
		pad = "!"
	}
	tk, err := text.CLIPBPE(pad)
	if err != nil {
		return nil, err
	}
	if o.Resolution == 0 {
		switch {
		case lc.Model.Params.UNetConfig.Params.ImageSize > 0:
			o.Resolution = lc.Model.Params.UNetConfig.Params.ImageSize * sc.VAE.Factor()
		case sd2 && sc.Scheduler.PredictionType == string(diffusion.V):
			o.Resolution = 768
		default:
			o.Resolution = 512
		}
	}
	sc.UNet.SampleSize = o.Resolution / sc.VAE.Factor()
	m, err := newSD(sc, tk, o.Resolution)
	if err != nil {
		return nil, err
	}
	if err := loadPrefixed(m.Denoiser, unet, "unet.", path+" (model.diffusion_model.*)"); err != nil {
		return nil, err
	}
	if err := loadPrefixed(m.AE, vae, "", path+" (first_stage_model.*)"); err != nil {
		return nil, err
	}
	if err := loadPrefixed(m.Text, te, "", path+" (cond_stage_model.*)"); err != nil {
		return nil, err
	}
	return m, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

var blockIndex = regexp.MustCompile(`^(input_blocks|output_blocks)\.(\d+)\.(\d+)\.`)

// ldmUNet infers the U-Net's configuration and maps its names.
func ldmUNet(f *ckpt.File, c *SDUNetConfig, sd2 bool, lc *ldmConfig) (*ckpt.File, error) {
	shape := func(n string) ([]int, error) {
		t, ok := f.Tensors[n]
		if !ok {
			return nil, fmt.Errorf("no tensor model.diffusion_model.%s", n)
		}
		return t.Shape, nil
	}
	in0, err := shape("input_blocks.0.0.weight")
	if err != nil {
		return nil, err
	}
	outW, err := shape("out.2.weight")
	if err != nil {
		return nil, err
	}
	// input block k holds a resnet (k.0), maybe an attention (k.1), or a downsampler (k.0.op)
	inputs := map[int]map[int]bool{}
	for n := range f.Tensors {
		if m := blockIndex.FindStringSubmatch(n); m != nil && m[1] == "input_blocks" {
			k, _ := strconv.Atoi(m[2])
			j, _ := strconv.Atoi(m[3])
			if inputs[k] == nil {
				inputs[k] = map[int]bool{}
			}
			inputs[k][j] = true
		}
	}
	var downs []int
	for k := range inputs {
		if _, ok := f.Tensors[fmt.Sprintf("input_blocks.%d.0.op.weight", k)]; ok {
			downs = append(downs, k)
		}
	}
	sort.Ints(downs)
	levels := len(downs) + 1
	lpb := 0
	if len(downs) > 0 {
		lpb = downs[0] - 1
	} else {
		lpb = len(inputs) - 1
	}
	if lpb < 1 || len(inputs) != 1+levels*lpb+levels-1 {
		return nil, fmt.Errorf("%d input blocks do not make a U-Net of %d levels", len(inputs), levels)
	}
	c.InChannels, c.OutChannels = in0[1], outW[0]
	c.LayersPerBlock = PerBlock{lpb}
	c.BlockOutChannels = make([]int, levels)
	c.DownBlockTypes, c.UpBlockTypes = make([]string, levels), make([]string, levels)
	heads := make([]int, levels)
	depth := 1
	for i := 0; i < levels; i++ {
		k := (lpb+1)*i + 1
		s, err := shape(fmt.Sprintf("input_blocks.%d.0.out_layers.3.weight", k))
		if err != nil {
			return nil, err
		}
		ch := s[0]
		c.BlockOutChannels[i] = ch
		c.DownBlockTypes[i], c.UpBlockTypes[levels-1-i] = "DownBlock2D", "UpBlock2D"
		if inputs[k][1] {
			c.DownBlockTypes[i], c.UpBlockTypes[levels-1-i] = "CrossAttnDownBlock2D", "CrossAttnUpBlock2D"
			ks, err := shape(fmt.Sprintf("input_blocks.%d.1.transformer_blocks.0.attn2.to_k.weight", k))
			if err != nil {
				return nil, err
			}
			c.CrossAttentionDim = PerBlock{ks[1]}
			pi, err := shape(fmt.Sprintf("input_blocks.%d.1.proj_in.weight", k))
			if err != nil {
				return nil, err
			}
			c.UseLinearProjection = len(pi) == 2
			for depth = 0; ; depth++ {
				if _, ok := f.Tensors[fmt.Sprintf("input_blocks.%d.1.transformer_blocks.%d.norm1.weight", k, depth)]; !ok {
					break
				}
			}
		}
		// heads: SD 1.x has 8, SD 2.x heads of 64 channels, unless the original config says
		p := lc.Model.Params.UNetConfig.Params
		switch {
		case p.NumHeadChannels > 0:
			heads[i] = max(1, ch/p.NumHeadChannels)
		case p.NumHeads > 0:
			heads[i] = p.NumHeads
		case sd2:
			heads[i] = max(1, ch/64)
		default:
			heads[i] = 8
		}
	}
	if c.CrossAttentionDim == nil {
		return nil, fmt.Errorf("no cross-attention blocks")
	}
	c.AttentionHeadDim = PerBlock(heads)
	c.TransformerLayersPerBlock = PerBlock{depth}
	c.NormNumGroups = 32 // LDM's normalization() is always GroupNorm(32)
	// the name map, as diffusers' convert_ldm_unet_checkpoint
	m := map[string]string{"time_embed.0": "time_embedding.linear_1", "time_embed.2": "time_embedding.linear_2",
		"input_blocks.0.0": "conv_in", "out.0": "conv_norm_out", "out.2": "conv_out",
		"middle_block.0": "mid_block.resnets.0", "middle_block.1": "mid_block.attentions.0", "middle_block.2": "mid_block.resnets.1"}
	for i := 0; i < levels; i++ {
		for j := 0; j < lpb; j++ {
			m[fmt.Sprintf("input_blocks.%d.0", (lpb+1)*i+j+1)] = fmt.Sprintf("down_blocks.%d.resnets.%d", i, j)
			m[fmt.Sprintf("input_blocks.%d.1", (lpb+1)*i+j+1)] = fmt.Sprintf("down_blocks.%d.attentions.%d", i, j)
		}
		m[fmt.Sprintf("input_blocks.%d.0.op", (lpb+1)*(i+1))] = fmt.Sprintf("down_blocks.%d.downsamplers.0.conv", i)
		up := 1
		if c.UpBlockTypes[i] == "CrossAttnUpBlock2D" {
			up = 2
		}
		for j := 0; j <= lpb; j++ {
			m[fmt.Sprintf("output_blocks.%d.0", (lpb+1)*i+j)] = fmt.Sprintf("up_blocks.%d.resnets.%d", i, j)
			m[fmt.Sprintf("output_blocks.%d.1", (lpb+1)*i+j)] = fmt.Sprintf("up_blocks.%d.attentions.%d", i, j)
		}
		m[fmt.Sprintf("output_blocks.%d.%d", (lpb+1)*i+lpb, up)] = fmt.Sprintf("up_blocks.%d.upsamplers.0", i)
	}
	res := map[string]string{"in_layers.0": "norm1", "in_layers.2": "conv1", "out_layers.0": "norm2", "out_layers.3": "conv2",
		"emb_layers.1": "time_emb_proj", "skip_connection": "conv_shortcut"}
	return renameByPrefix(f, m, func(dst, rest string) string {
		if strings.Contains(dst, ".resnets.") {
			for a, b := range res {
				if r, ok := strings.CutPrefix(rest, a+"."); ok {
					return b + "." + r
				}
			}
		}
		return rest
	})
}

// renameByPrefix renames every tensor by the longest prefix of m it starts
// with (rest renamed by inner); a tensor no prefix covers is an error.
func renameByPrefix(f *ckpt.File, m map[string]string, inner func(dst, rest string) string) (*ckpt.File, error) {
	out := &ckpt.File{Tensors: map[string]ckpt.Tensor{}}
	for n, t := range f.Tensors {
		best := ""
		for p := range m {
			if strings.HasPrefix(n, p+".") && len(p) > len(best) {
				best = p
			}
		}
		if best == "" {
			return nil, fmt.Errorf("tensor %q is not part of a Stable Diffusion 1.x/2.x model", n)
		}
		out.Tensors[m[best]+"."+inner(m[best], n[len(best)+1:])] = t
	}
	return out, nil
}

// ldmVAE infers the VAE's configuration and maps its names.
func ldmVAE(f *ckpt.File, c *SDVAEConfig) (*ckpt.File, error) {
	levels, lpb := 0, 0
	for n := range f.Tensors {
		var i, j int
		if k, _ := fmt.Sscanf(n, "encoder.down.%d.block.%d.", &i, &j); k == 2 {
			levels, lpb = max(levels, i+1), max(lpb, j+1)
		}
	}
	if levels == 0 {
		return nil, fmt.Errorf("no encoder.down.* tensors")
	}
	c.BlockOutChannels = make([]int, levels)
	for i := range c.BlockOutChannels {
		t, ok := f.Tensors[fmt.Sprintf("encoder.down.%d.block.0.conv1.weight", i)]
		if !ok {
			return nil, fmt.Errorf("no tensor first_stage_model.encoder.down.%d.block.0.conv1.weight", i)
		}
		c.BlockOutChannels[i] = t.Shape[0]
	}
	pq, ok := f.Tensors["post_quant_conv.weight"]
	if !ok {
		return nil, fmt.Errorf("no tensor first_stage_model.post_quant_conv.weight")
	}
	c.LatentChannels, c.LayersPerBlock = pq.Shape[0], lpb
	c.DownBlockTypes, c.UpBlockTypes = make([]string, levels), make([]string, levels)
	for i := range c.DownBlockTypes {
		c.DownBlockTypes[i], c.UpBlockTypes[i] = "DownEncoderBlock2D", "UpDecoderBlock2D"
	}
	c.NormNumGroups = 32 // as LDM's Normalize
	m := map[string]string{"encoder.conv_in": "encoder.conv_in", "encoder.conv_out": "encoder.conv_out", "decoder.conv_in": "decoder.conv_in",
		"decoder.conv_out": "decoder.conv_out", "quant_conv": "quant_conv", "post_quant_conv": "post_quant_conv",
		"encoder.norm_out": "encoder.conv_norm_out", "decoder.norm_out": "decoder.conv_norm_out",
		"encoder.mid.attn_1": "encoder.mid_block.attentions.0", "decoder.mid.attn_1": "decoder.mid_block.attentions.0"}
	for _, s := range []string{"encoder", "decoder"} {
		for j := 0; j < 2; j++ {
			m[fmt.Sprintf("%s.mid.block_%d", s, j+1)] = fmt.Sprintf("%s.mid_block.resnets.%d", s, j)
		}
	}
	for i := 0; i < levels; i++ {
		for j := 0; j < lpb; j++ {
			m[fmt.Sprintf("encoder.down.%d.block.%d", i, j)] = fmt.Sprintf("encoder.down_blocks.%d.resnets.%d", i, j)
		}
		m[fmt.Sprintf("encoder.down.%d.downsample", i)] = fmt.Sprintf("encoder.down_blocks.%d.downsamplers.0", i)
		for j := 0; j <= lpb; j++ {
			m[fmt.Sprintf("decoder.up.%d.block.%d", levels-1-i, j)] = fmt.Sprintf("decoder.up_blocks.%d.resnets.%d", i, j)
		}
		m[fmt.Sprintf("decoder.up.%d.upsample", levels-1-i)] = fmt.Sprintf("decoder.up_blocks.%d.upsamplers.0", i)
	}
	attn := map[string]string{"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"}
	out, err := renameByPrefix(f, m, func(dst, rest string) string {
		if strings.Contains(dst, "attentions") {
			a, b, _ := strings.Cut(rest, ".")
			return attn[a] + "." + b
		}
		return strings.Replace(rest, "nin_shortcut", "conv_shortcut", 1)
	})
	if err != nil {
		return nil, err
	}
	for n, t := range out.Tensors { // the attention projections are 1×1 convolutions in LDM
		if strings.Contains(n, "attentions.0.to_") && len(t.Shape) == 4 {
			t.Shape = t.Shape[:2]
			out.Tensors[n] = t
		}
	}
	return out, nil
}

// hfCLIPText is SD 1.x's text encoder: transformers' CLIPTextModel under
// cond_stage_model.transformer. (older files lack the text_model. level).
func hfCLIPText(f *ckpt.File, c *CLIPTextConfig) (*ckpt.File, error) {
	out := &ckpt.File{Tensors: map[string]ckpt.Tensor{}}
	for n, t := range f.Tensors {
		if !strings.HasPrefix(n, "text_model.") {
			n = "text_model." + n
		}
		out.Tensors[n] = t
	}
	return out, inferCLIPText(out, c, "quick_gelu")
}

// inferCLIPText reads a CLIPTextModel's configuration from its tensors
// (heads of 64 channels, as CLIP ViT-L/14's and OpenCLIP ViT-H's).
func inferCLIPText(f *ckpt.File, c *CLIPTextConfig, act string) error {
	tok, ok := f.Tensors["text_model.embeddings.token_embedding.weight"]
	if !ok {
		return fmt.Errorf("no token embedding")
	}
	pos, ok := f.Tensors["text_model.embeddings.position_embedding.weight"]
	if !ok {
		return fmt.Errorf("no position embedding")
	}
	fc1, ok := f.Tensors["text_model.encoder.layers.0.mlp.fc1.weight"]
	if !ok {
		return fmt.Errorf("no layer 0")
	}
	layers := 0
	for {
		if _, ok := f.Tensors[fmt.Sprintf("text_model.encoder.layers.%d.mlp.fc1.weight", layers)]; !ok {
			break
		}
		layers++
	}
	*c = CLIPTextConfig{HiddenSize: tok.Shape[1], IntermediateSize: fc1.Shape[0], NumAttentionHeads: max(1, tok.Shape[1]/64),
		NumHiddenLayers: layers, MaxPositionEmbeddings: pos.Shape[0], VocabSize: tok.Shape[0], HiddenAct: act, LayerNormEps: 1e-5}
	return nil
}

// openCLIPText is SD 2.x's text encoder: OpenCLIP ViT-H's text tower
// (openai CLIP's names) without its last layer, as diffusers converts it.
func openCLIPText(f *ckpt.File, c *CLIPTextConfig) (*ckpt.File, error) {
	out := &ckpt.File{Tensors: map[string]ckpt.Tensor{}}
	blocks := 0
	for n := range f.Tensors {
		var i int
		if k, _ := fmt.Sscanf(n, "transformer.resblocks.%d.", &i); k == 1 {
			blocks = max(blocks, i+1)
		}
	}
	keep := blocks - 1
	simple := map[string]string{"token_embedding.weight": "text_model.embeddings.token_embedding.weight",
		"positional_embedding": "text_model.embeddings.position_embedding.weight",
		"ln_final.weight":      "text_model.final_layer_norm.weight", "ln_final.bias": "text_model.final_layer_norm.bias"}
	inner := map[string]string{"ln_1": "layer_norm1", "ln_2": "layer_norm2", "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2", "attn.out_proj": "self_attn.out_proj"}
	for n, t := range f.Tensors {
		if to, ok := simple[n]; ok {
			out.Tensors[to] = t
			continue
		}
		var i int
		if k, _ := fmt.Sscanf(n, "transformer.resblocks.%d.", &i); k != 1 {
			continue // text_projection, logit_scale: not used by Stable Diffusion
		}
		if i >= keep {
			continue
		}
		rest := strings.TrimPrefix(n, fmt.Sprintf("transformer.resblocks.%d.", i))
		p := fmt.Sprintf("text_model.encoder.layers.%d.", i)
		if kind, ok := strings.CutPrefix(rest, "attn.in_proj_"); ok { // weight or bias: q, k, v stacked
			d := t.Shape[0] / 3
			size := t.DType.Size()
			row := size
			if len(t.Shape) == 2 {
				row *= t.Shape[1]
			}
			for j, q := range []string{"q", "k", "v"} {
				s := t
				s.Shape = append([]int{d}, t.Shape[1:]...)
				s.Data = t.Data[j*d*row : (j+1)*d*row]
				out.Tensors[p+"self_attn."+q+"_proj."+kind] = s
			}
			continue
		}
		done := false
		for a, b := range inner {
			if r, ok := strings.CutPrefix(rest, a+"."); ok {
				out.Tensors[p+b+"."+r] = t
				done = true
			}
		}
		if !done {
			return nil, fmt.Errorf("tensor cond_stage_model.model.%s is not part of OpenCLIP's text tower", n)
		}
	}
	return out, inferCLIPText(out, c, "gelu")
}

// fileID is the SHA-256 of a file (a single-file checkpoint's identity).
func fileID(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", fmt.Errorf("models: %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}
