package models

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/text"
)

// SDFamily is the model.yaml family of a Stable Diffusion fine-tune: its
// U-Net in unet/ (diffusers layout), the rest read from its base.
const SDFamily = "sd"

// SDConfig is a Stable Diffusion model read from a diffusers directory.
type SDConfig struct {
	Base      string                    `yaml:"base"` // the diffusers directory of the VAE, text encoder, tokenizer and scheduler
	UNet      SDUNetConfig              `yaml:"-"`
	VAE       SDVAEConfig               `yaml:"-"`
	Text      CLIPTextConfig            `yaml:"-"`
	Scheduler diffusion.SchedulerConfig `yaml:"-"`
	variant   string                    // the weight files' variant
	original  string                    // a single file's LDM yaml (given or beside it)
	tuned     string                    // a fine-tune's directory (its unet/), "" for the base
}

// IsDiffusersDir reports whether dir looks like a diffusers pipeline
// directory (model_index.json or unet/config.json).
func IsDiffusersDir(dir string) bool {
	for _, f := range []string{"model_index.json", filepath.Join("unet", "config.json")} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// readJSON decodes dir/name into v, naming the file in errors.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("models: %s: %w", path, err)
	}
	return nil
}

// LoadDiffusers reads a Stable Diffusion 1.x/2.x pipeline directory
// (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/)
// with weights in safetensors (fp32, fp16 or bf16; sharded with an index;
// variant "fp16" for *.fp16.safetensors, "" for the plain names).
// resolution 0 means the model's own (unet sample_size × the VAE factor).
func LoadDiffusers(dir string, resolution int, variant string) (*T2I, error) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	sc := &SDConfig{Base: dir, variant: variant}
	var mi struct {
		Class string `json:"_class_name"`
	}
	if err := readJSON(filepath.Join(dir, "model_index.json"), &mi); err == nil {
		if mi.Class != "" && !strings.HasPrefix(mi.Class, "StableDiffusion") {
			return nil, fmt.Errorf("models: %s: %q is not a Stable Diffusion pipeline", filepath.Join(dir, "model_index.json"), mi.Class)
		}
	} else if !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "no such file") {
		return nil, err
	}
	checks := []struct {
		file string
		v    any
		ok   func() error
	}{
		{"unet/config.json", &sc.UNet, sc.UNet.Validate},
		{"vae/config.json", &sc.VAE, sc.VAE.Validate},
		{"text_encoder/config.json", &sc.Text, sc.Text.Validate},
	}
	for _, c := range checks {
		p := filepath.Join(dir, c.file)
		if err := readJSON(p, c.v); err != nil {
			return nil, err
		}
		if err := c.ok(); err != nil {
			return nil, fmt.Errorf("models: %s: %w", p, err)
		}
	}
	schedFile := filepath.Join(dir, "scheduler", "scheduler_config.json")
	if err := readJSON(schedFile, &sc.Scheduler); err != nil {
		return nil, err
	}
	if err := sc.Scheduler.Validate(); err != nil {
		return nil, fmt.Errorf("models: %s: %w", schedFile, err)
	}
	tk, err := text.LoadBPE(filepath.Join(dir, "tokenizer"))
	if err != nil {
		return nil, err
	}
	if sc.UNet.ContextDim() != sc.Text.HiddenSize {
		return nil, fmt.Errorf("models: %s: cross_attention_dim %d differs from the text encoder's hidden_size %d",
			filepath.Join(dir, "unet", "config.json"), sc.UNet.ContextDim(), sc.Text.HiddenSize)
	}
	if tk.Size() > sc.Text.VocabSize {
		return nil, fmt.Errorf("models: %s: the tokenizer has %d ids, the text encoder %d", dir, tk.Size(), sc.Text.VocabSize)
	}
	m, err := newSD(sc, tk, resolution)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		sub, name, prefix string
		store             *nn.Store
	}{
		{"unet", "diffusion_pytorch_model", "unet.", m.Denoiser},
		{"vae", "diffusion_pytorch_model", "", m.AE},
		{"text_encoder", "model", "", m.Text},
	} {
		f, label, release, err := ReadWeights(filepath.Join(dir, c.sub), c.name, variant)
		if err != nil {
			return nil, err
		}
		if c.sub == "vae" {
			renameLegacyVAE(f)
		}
		err = loadPrefixed(c.store, f, c.prefix, label)
		release()
		if err != nil {
			return nil, err
		}
	}
	debug.FreeOSMemory() // a large model's load leaves garbage the size of a component
	return m, nil
}

// newSD builds an SD model with fresh weights (every parameter created).
func newSD(sc *SDConfig, tk *text.BPE, resolution int) (*T2I, error) {
	if resolution == 0 {
		resolution = sc.UNet.SampleSize * sc.VAE.Factor()
	}
	f := sc.VAE.Factor() << (len(sc.UNet.BlockOutChannels) - 1)
	if resolution < f || resolution%f != 0 {
		return nil, fmt.Errorf("models: resolution %d is not a positive multiple of %d (the VAE's factor %d × the U-Net's %d levels)",
			resolution, f, sc.VAE.Factor(), len(sc.UNet.BlockOutChannels))
	}
	c := T2IConfig{Resolution: resolution, MaxLen: tk.MaxLen, Prediction: sc.Scheduler.Prediction(), SD: sc}
	m := &T2I{Config: c, Tokenizer: tk, AE: nn.NewStore(tensor.Float32, 1), Denoiser: nn.NewStore(tensor.Float32, 2),
		Text: nn.NewStore(tensor.Float32, 3), Schedule: sc.Scheduler.Schedule(),
		denoise: map[int]*denoiseProgram{}, decode: map[int]*decodeProgram{}, encode: map[int]*encodeProgram{}}
	for _, s := range []*nn.Store{m.AE, m.Denoiser, m.Text} { // every weight comes from the files next
		s.ZeroInit(true)
		defer s.ZeroInit(false)
	}
	if err := m.declare(); err != nil {
		return nil, err
	}
	return m, nil
}

// ReadWeights reads the weights of one component directory: name.safetensors
// (or name.<variant>.safetensors), or the shards listed in
// name.safetensors.index.json. A PyTorch pickle (.bin) is refused with how
// to convert it. It returns the tensors and the file name for messages.
func ReadWeights(dir, name, variant string) (*ckpt.File, string, func(), error) {
	var releases []func()
	release := func() {
		for _, r := range releases {
			r()
		}
	}
	f, label, err := readWeights(dir, name, variant, &releases)
	if err != nil && variant != "" { // a component without the variant: its plain files, as for a partial fp16 upload
		if g, l, err2 := readWeights(dir, name, "", &releases); err2 == nil {
			f, label, err = g, l, nil
		}
	}
	if err != nil {
		release()
		return nil, label, func() {}, err
	}
	return f, label, release, nil
}

func readWeights(dir, name, variant string, releases *[]func()) (*ckpt.File, string, error) {
	base := name
	if variant != "" {
		base += "." + variant
	}
	single := filepath.Join(dir, base+".safetensors")
	if _, err := os.Stat(single); err == nil {
		f, rel, err := ckpt.Map(single)
		if err != nil {
			return nil, single, fmt.Errorf("models: %s: %w", single, err)
		}
		*releases = append(*releases, rel)
		return f, single, nil
	}
	index := single + ".index.json"
	if _, err := os.Stat(index); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := readJSON(index, &idx); err != nil {
			return nil, index, err
		}
		all := &ckpt.File{Metadata: map[string]string{}, Tensors: map[string]ckpt.Tensor{}}
		shards := map[string]bool{}
		for _, s := range idx.WeightMap {
			shards[s] = true
		}
		names := make([]string, 0, len(shards))
		for s := range shards {
			names = append(names, s)
		}
		sort.Strings(names)
		for _, s := range names {
			p := filepath.Join(dir, s)
			f, rel, err := ckpt.Map(p)
			if err != nil {
				return nil, p, fmt.Errorf("models: %s (a shard listed in %s): %w", p, index, err)
			}
			*releases = append(*releases, rel)
			for n, t := range f.Tensors {
				all.Tensors[n] = t
			}
		}
		for n, s := range idx.WeightMap {
			if _, ok := all.Tensors[n]; !ok {
				return nil, index, fmt.Errorf("models: %s lists tensor %q in %s, which does not hold it", index, n, s)
			}
		}
		return all, index, nil
	}
	for _, bin := range []string{base + ".bin", name + ".bin", "pytorch_model.bin"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err == nil {
			return nil, bin, fmt.Errorf("models: %s holds PyTorch pickle weights (%s), which rpo does not read (a pickle can run code); "+
				"convert them once with diffusers: pipe = DiffusionPipeline.from_pretrained(dir); pipe.save_pretrained(dir, safe_serialization=True)",
				dir, bin)
		}
	}
	hint := ""
	if variant == "" {
		if m, _ := filepath.Glob(filepath.Join(dir, name+".*.safetensors")); len(m) > 0 {
			v := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m[0]), name+"."), ".safetensors")
			hint = fmt.Sprintf(" (it has %s: choose it with --weight-variant %s)", filepath.Base(m[0]), v)
		}
	}
	return nil, single, fmt.Errorf("models: %s: no %s or %s%s", dir, filepath.Base(single), filepath.Base(index), hint)
}

// renameLegacyVAE maps old attention names (query, key, value, proj_attn)
// of a VAE to today's.
func renameLegacyVAE(f *ckpt.File) {
	for n, t := range f.Tensors {
		i := strings.Index(n, ".attentions.0.")
		if i < 0 {
			continue
		}
		rest := n[i+len(".attentions.0."):]
		for old, now := range vaeLegacyNames {
			if strings.HasPrefix(rest, old+".") {
				delete(f.Tensors, n)
				// old VAEs stored the projections as 1×1 convolutions: (out, in, 1, 1)
				if len(t.Shape) == 4 && t.Shape[2] == 1 && t.Shape[3] == 1 {
					t.Shape = t.Shape[:2]
				}
				f.Tensors[n[:i]+".attentions.0."+now+strings.TrimPrefix(rest, old)] = t
			}
		}
	}
}

// loadPrefixed loads f's float tensors into store under prefix+name;
// integer buffers (position_ids) are skipped.
func loadPrefixed(store *nn.Store, f *ckpt.File, prefix, label string) error {
	g := &ckpt.File{Metadata: f.Metadata, Tensors: map[string]ckpt.Tensor{}}
	for n, t := range f.Tensors {
		if !t.DType.IsFloat() {
			continue
		}
		g.Tensors[prefix+n] = t
	}
	return ckpt.LoadStore(store, g, "", label)
}

// SDOptions are how a Stable Diffusion model is opened.
type SDOptions struct {
	Resolution     int    // image side; 0: the model's own
	Variant        string // weight file variant ("fp16"); "": the plain names
	OriginalConfig string // a single-file checkpoint's LDM yaml ("": FILE.yaml beside it, if any)
}

// sdArchitecture is a Stable Diffusion fine-tune's model.yaml architecture.
type sdArchitecture struct {
	Base       string `yaml:"base"`       // the diffusers directory of the other components
	Resolution int    `yaml:"resolution"` // the image side it was trained at
	Variant    string `yaml:"variant,omitempty"`
	// OriginalConfig is a single-file base's LDM yaml, when one was given
	OriginalConfig string `yaml:"original_config,omitempty"`
	// LoRA names the directory's adapters file when it holds adapters
	// instead of a U-Net (merged into the base on load)
	LoRA string `yaml:"lora,omitempty"`
}

const sdUNetFile = "unet/diffusion_pytorch_model"

// saveSD writes a fine-tune's directory: model.yaml (family sd, the base
// directory) and unet/ in the diffusers layout (config.json as the base's,
// diffusion_pytorch_model.safetensors in float32), which diffusers'
// UNet2DConditionModel.from_pretrained loads as it is.
func (m *T2I) saveSD(dir string, prov ckpt.Provenance) error {
	sc := m.Config.SD
	info := &ckpt.ModelInfo{Family: SDFamily, Provenance: prov}
	if err := info.SetArchitecture(sdArchitecture{Base: sc.Base, Resolution: m.Config.Resolution, Variant: sc.variant, OriginalConfig: sc.original}); err != nil {
		return err
	}
	cfg, err := os.ReadFile(filepath.Join(sc.unetDir(), "config.json"))
	if os.IsNotExist(err) && IsSingleFile(sc.Base) { // a single file has none: write diffusers' from the inferred one
		cfg, err = sc.UNet.diffusersJSON()
	}
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	f := &ckpt.File{Metadata: map[string]string{"format": "pt"}, Tensors: map[string]ckpt.Tensor{}}
	for _, n := range m.Denoiser.Names() {
		if name, ok := strings.CutPrefix(n, "unet."); ok {
			t := m.Denoiser.Lookup(n)
			f.Tensors[name] = ckpt.Encode(ckpt.F32, t.Shape().Clone(), nn.Float64s(t))
		}
	}
	return ckpt.WriteModelDirFiles(dir, info, map[string]*ckpt.File{sdUNetFile: f}, map[string][]byte{"unet/config.json": cfg})
}

// unetDir is where the U-Net's config.json is: the base's unet/, or a
// fine-tune's own.
func (sc *SDConfig) unetDir() string {
	if sc.tuned != "" {
		return filepath.Join(sc.tuned, "unet")
	}
	return filepath.Join(sc.Base, "unet")
}

// loadSDTuned opens a fine-tune directory: its base with the fine-tune's
// U-Net weights.
func loadSDTuned(info *ckpt.ModelInfo, dir string, o SDOptions) (*T2I, error) {
	var a sdArchitecture
	if err := info.DecodeArchitecture(&a); err != nil {
		return nil, err
	}
	if o.Resolution == 0 {
		o.Resolution = a.Resolution
	}
	if o.Variant == "" {
		o.Variant = a.Variant
	}
	var m *T2I
	var err error
	switch {
	case IsSingleFile(a.Base):
		o.OriginalConfig = a.OriginalConfig
		m, err = LoadSingleFile(a.Base, o)
	case IsDiffusersDir(a.Base):
		m, err = LoadDiffusers(a.Base, o.Resolution, o.Variant)
	default:
		return nil, fmt.Errorf("models: %s: its base %s is not a diffusers directory or a checkpoint file (moved?)", filepath.Join(dir, ckpt.ModelYAML), a.Base)
	}
	if err != nil {
		return nil, err
	}
	if a.LoRA != "" {
		if _, err := info.Open(strings.TrimSuffix(a.LoRA, ".safetensors")); err != nil { // its digest
			return nil, err
		}
		tuned, err := m.WithLoRA(filepath.Join(dir, a.LoRA), 1)
		m.Close()
		return tuned, err
	}
	f, err := info.Open(sdUNetFile)
	if err != nil {
		return nil, err
	}
	if err := loadPrefixed(m.Denoiser, f, "unet.", filepath.Join(dir, sdUNetFile+".safetensors")); err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(dir); err == nil {
		m.Config.SD.tuned = abs
	}
	return m, nil
}

// OpenT2I opens a text-to-image model directory of either family: a
// diffusers Stable Diffusion directory, a Stable Diffusion fine-tune
// written by rpo, or an rpo-t2i model directory.
func OpenT2I(dir string, o SDOptions) (*T2I, error) {
	if IsSingleFile(dir) {
		return LoadSingleFile(dir, o)
	}
	if IsDiffusersDir(dir) {
		return LoadDiffusers(dir, o.Resolution, o.Variant)
	}
	info, err := ckpt.ReadModelDir(dir)
	if err != nil {
		return nil, err
	}
	if info.Family == SDFamily {
		return loadSDTuned(info, dir, o)
	}
	if o.Resolution != 0 || o.Variant != "" || o.OriginalConfig != "" {
		return nil, fmt.Errorf("models: %s is an embedded-family model: --resolution, --weight-variant and --original-config apply to Stable Diffusion models only", dir)
	}
	return loadT2I(info, dir)
}

// DirID identifies the configuration and weight files of a transformers
// directory (the SHA-256 of its .json and .safetensors files).
func DirID(dir string) (string, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	sort.Strings(files)
	h := sha256.New()
	for _, p := range files {
		if !strings.HasSuffix(p, ".json") && !strings.HasSuffix(p, ".safetensors") {
			continue
		}
		fh, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("models: %w", err)
		}
		fmt.Fprintf(h, "%s:", filepath.Base(p))
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", fmt.Errorf("models: %s: %w", p, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// ModelID identifies a model's weights for caches (negatives): for a
// diffusers directory the SHA-256 of its configuration and weight files,
// else ckpt.ModelID of the model directory.
func ModelID(dir string) (string, error) {
	if IsSingleFile(dir) {
		return fileID(dir)
	}
	if !IsDiffusersDir(dir) {
		return ckpt.ModelID(os.DirFS(dir))
	}
	h := sha256.New()
	for _, sub := range []string{"unet", "vae", "text_encoder", "tokenizer", "scheduler"} {
		files, _ := filepath.Glob(filepath.Join(dir, sub, "*"))
		sort.Strings(files)
		for _, p := range files {
			if strings.HasSuffix(p, ".bin") {
				continue
			}
			fh, err := os.Open(p)
			if err != nil {
				return "", fmt.Errorf("models: %w", err)
			}
			fmt.Fprintf(h, "%s/%s:", sub, filepath.Base(p))
			_, err = io.Copy(h, fh)
			fh.Close()
			if err != nil {
				return "", fmt.Errorf("models: %s: %w", p, err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// Predict runs a Stable Diffusion U-Net on given inputs: latents x (n rows),
// timesteps ts and text states ctx (n·MaxLen·width), as diffusers'
// unet(x, t, encoder_hidden_states=ctx).sample.
func (m *T2I) Predict(x []float32, ts []float64, ctx []float32) ([]float32, error) {
	if m.Config.SD == nil {
		return nil, fmt.Errorf("models: Predict takes text states, which only Stable Diffusion models use")
	}
	dp, err := m.denoiser(len(ts))
	if err != nil {
		return nil, err
	}
	if len(x) != len(dp.batch.X.Data().([]float32)) || len(ctx) != len(dp.batch.Ctx.Data().([]float32)) {
		return nil, fmt.Errorf("models: Predict: %d latent and %d context values for %d rows", len(x), len(ctx), len(ts))
	}
	copy(dp.batch.X.Data().([]float32), x)
	copy(dp.batch.Ctx.Data().([]float32), ctx)
	dp.batch.SetTimesteps(ts)
	if _, err := dp.prog.Run(); err != nil {
		return nil, err
	}
	return append([]float32(nil), dp.out.Data().([]float32)...), nil
}
