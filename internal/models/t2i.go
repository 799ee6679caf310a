package models

import (
	"fmt"
	"image"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/text"
)

// T2IFamily is the model.yaml family of the text-to-image model.
const T2IFamily = "rpo-t2i"

// T2IConfig is the text-to-image model in the shape of Stable Diffusion:
// a latent autoencoder, a text encoder, and a conditional U-Net on latents.
type T2IConfig struct {
	Resolution  int                  `yaml:"resolution"` // image side, 64
	MaxLen      int                  `yaml:"max_len"`    // tokens per prompt
	Autoencoder AutoencoderConfig    `yaml:"autoencoder"`
	Text        text.EncoderConfig   `yaml:"text"`
	UNet        UNetConfig           `yaml:"unet"`
	Prediction  diffusion.Prediction `yaml:"prediction"`
	// SD is set for a Stable Diffusion model (the fields above it then
	// unused but Resolution, MaxLen and Prediction).
	SD *SDConfig `yaml:"sd,omitempty"`
}

// PromptTokenizer turns prompts into fixed-length token ids: the embedded
// closed-vocabulary tokenizer, or CLIP's BPE.
type PromptTokenizer interface {
	Encode(prompt string) (ids []int, unknown []string, truncated bool)
	Size() int
}

// DefaultT2I is the embedded model's architecture around an autoencoder.
func DefaultT2I(ae AutoencoderConfig) T2IConfig {
	tk := text.NewTokenizer(16)
	tc := text.DefaultEncoder(tk)
	u, _ := EmbeddedShapes()
	u.ContextDim = tc.Width
	u.InChannels, u.OutChannels = ae.LatentChannels, ae.LatentChannels
	return T2IConfig{Resolution: 64, MaxLen: 16, Autoencoder: ae, Text: tc, UNet: u, Prediction: diffusion.Epsilon}
}

// LatentSide is the side of the latents.
func (c T2IConfig) LatentSide() int {
	if c.SD != nil {
		return c.Resolution / c.SD.VAE.Factor()
	}
	return c.Resolution >> (len(c.Autoencoder.Channels) - 1)
}

// LatentChannels is the number of latent channels.
func (c T2IConfig) LatentChannels() int {
	if c.SD != nil {
		return c.SD.VAE.LatentChannels
	}
	return c.Autoencoder.LatentChannels
}

// scalingFactor is the factor between the autoencoder's latents and the
// diffusion model's.
func (c T2IConfig) scalingFactor() float32 {
	sf := c.Autoencoder.ScalingFactor
	if c.SD != nil {
		sf = c.SD.VAE.ScalingFactor
	}
	if sf == 0 {
		return 1
	}
	return float32(sf)
}

// T2I is a loaded text-to-image model: its stores (the autoencoder's; the
// denoiser's, holding "text.*" and "unet.*"), tokenizer and schedule, and
// compiled programs by batch size.
type T2I struct {
	Config    T2IConfig
	Tokenizer PromptTokenizer
	AE        *nn.Store
	Denoiser  *nn.Store
	Text      *nn.Store // Stable Diffusion's frozen text encoder (nil: the text encoder is in Denoiser)
	Schedule  *diffusion.Schedule
	denoise   map[int]*denoiseProgram
	texts     map[int]*textBatchProgram // the embedded text encoder by rows (guided sampling)
	decode    map[int]*decodeProgram
	encode    map[int]*encodeProgram
	text      *textProgram
	states    map[string][]float32 // text encoder states by token ids
	ownsText  bool                 // text was compiled for this model, not shared by WithDenoiser
}

// NewT2I builds a model with freshly initialised weights (seeded).
func NewT2I(c T2IConfig, seed uint64) (*T2I, error) {
	return T2IWithStores(c, nn.NewStore(tensor.Float32, seed), nn.NewStore(tensor.Float32, seed+1))
}

// T2IWithStores builds a model on existing stores (a training run's EMA
// weights, say); parameters missing from them are created.
func T2IWithStores(c T2IConfig, ae, denoiser *nn.Store) (*T2I, error) {
	m := &T2I{Config: c, Tokenizer: text.NewTokenizer(c.MaxLen), AE: ae, Denoiser: denoiser,
		Schedule: diffusion.SD(), denoise: map[int]*denoiseProgram{}, decode: map[int]*decodeProgram{}, encode: map[int]*encodeProgram{}}
	if m.Tokenizer.Size() != c.Text.Vocab {
		return nil, fmt.Errorf("models: the text encoder has %d token ids, the tokenizer %d", c.Text.Vocab, m.Tokenizer.Size())
	}
	if err := m.declare(); err != nil {
		return nil, err
	}
	return m, nil
}

// WithDenoiser returns a model that shares m's autoencoder, text encoder,
// tokenizer and schedule but denoises with the weights of store (a
// training run's policy); parameters missing from it are created.
func (m *T2I) WithDenoiser(store *nn.Store) (*T2I, error) { return m.with(m.AE, store) }

func (m *T2I) with(ae, denoiser *nn.Store) (*T2I, error) {
	w := &T2I{Config: m.Config, Tokenizer: m.Tokenizer, AE: ae, Denoiser: denoiser, Text: m.Text, Schedule: m.Schedule,
		denoise: map[int]*denoiseProgram{}, decode: map[int]*decodeProgram{}, encode: map[int]*encodeProgram{},
		text: m.text, states: m.states}
	if err := w.declare(); err != nil {
		return nil, err
	}
	return w, nil
}

// Replica returns a model that samples as m does, beside it: copies of m's
// denoiser and autoencoder weights and programs of its own (compiling a
// program writes to the headers of the tensors it reads, so two models
// that run at once share none); Stable Diffusion's text encoder is shared,
// its program run under a lock.
func (m *T2I) Replica() (*T2I, error) { return m.with(m.AE.Clone(), m.Denoiser.Clone()) }

// Bytes is the size of the model's denoiser and autoencoder weights (what
// Replica copies).
func (m *T2I) Bytes() int64 {
	return m.Denoiser.Bytes() + m.AE.Bytes()
}

// declare builds each graph once at batch 1 so that every parameter exists.
func (m *T2I) declare() error {
	c := m.Config
	if _, err := m.denoiser(1); err != nil {
		return err
	}
	if _, err := m.decoder(1); err != nil {
		return err
	}
	b := nn.NewBuilder(m.AE, nil)
	x := b.Input("x", 1, 3, c.Resolution, c.Resolution)
	if err := nn.Build(func() { m.encodeGraph(b, x) }); err != nil {
		return err
	}
	if c.SD != nil {
		if m.text == nil {
			if err := m.buildText(); err != nil {
				return err
			}
		}
	}
	return nil
}

// encodeGraph is the autoencoder's posterior mean of images x.
func (m *T2I) encodeGraph(b *nn.Builder, x *G.Node) *G.Node {
	c := m.Config
	if c.SD != nil {
		return SDVAEEncode(b, &c.SD.VAE, x) // moments; the mean is the first half of the channels
	}
	mean, _ := Encode(b, c.Autoencoder, x)
	return mean
}

// decodeGraph is the autoencoder's decoder of unscaled latents z.
func (m *T2I) decodeGraph(b *nn.Builder, z *G.Node) *G.Node {
	if c := m.Config; c.SD != nil {
		return SDVAEDecode(b, &c.SD.VAE, z)
	}
	return Decode(b, m.Config.Autoencoder, z)
}

// textProgram is Stable Diffusion's text encoder at batch 1.
type textProgram struct {
	// mu: models made by WithDenoiser share the program and the states
	// (a validation beside training steps runs it as the steps do)
	mu   sync.Mutex
	prog *nn.Program
	emb  *tensor.Dense
	out  G.Value
}

func (m *T2I) buildText() error {
	sc := m.Config.SD
	clipTextParams(m.Text, &sc.Text)
	b := nn.NewBuilder(m.Text, nil)
	p := &textProgram{}
	var emb *G.Node
	emb, p.emb = b.InputData("embeddings", m.Config.MaxLen, sc.Text.HiddenSize)
	if err := nn.Build(func() { G.Read(CLIPText(b, &sc.Text, emb, 1, m.Config.MaxLen), &p.out) }); err != nil {
		return err
	}
	prog, err := nn.Compile(b, nil, false)
	if err != nil {
		return err
	}
	p.prog, m.text, m.states, m.ownsText = prog, p, map[string][]float32{}, true
	return nil
}

// TextStates returns the text encoder's last hidden states (MaxLen·width)
// for one prompt's token ids, computed once per prompt.
func (m *T2I) TextStates(ids []int) ([]float32, error) {
	m.text.mu.Lock()
	defer m.text.mu.Unlock()
	key := fmt.Sprint(ids)
	if s, ok := m.states[key]; ok {
		return s, nil
	}
	sc := m.Config.SD
	if err := CLIPTextEmbed(m.Text, &sc.Text, ids, m.Config.MaxLen, m.text.emb.Data().([]float32)); err != nil {
		return nil, err
	}
	if _, err := m.text.prog.Run(); err != nil {
		return nil, err
	}
	s := append([]float32(nil), m.text.out.Data().([]float32)...)
	if len(m.states) < 4096 {
		m.states[key] = s
	}
	return s, nil
}

// DenoiserGraph builds the denoiser of a batch on b (whose store holds
// "text.*" and "unet.*"): prompts as one-hot rows (B·MaxLen, Vocab), noisy
// latents x (B, C, S, S), sinusoidal timestep features tEmb (B, C0); it
// returns the U-Net's prediction.
func (c T2IConfig) DenoiserGraph(b *nn.Builder, onehot, x, tEmb *G.Node, batch int) *G.Node {
	ctx := text.Encode(b, c.Text, onehot, batch)
	return UNet(b.Scope("unet"), c.UNet, x, tEmb, ctx)
}

// encodeTexts writes the embedded text encoder's states of n rows of
// token ids into dst: the graph a denoiser runs on its one-hot rows, as a
// program of its own (compiled once per row count, run once per
// sampling instead of once per denoising step).
func (m *T2I) encodeTexts(ids []int, n int, dst []float32) error {
	p, ok := m.texts[n]
	if !ok {
		c := m.Config
		b := nn.NewBuilder(m.Denoiser, nil)
		p = &textBatchProgram{}
		var onehot *G.Node
		onehot, p.onehot = b.InputData("onehot", n*c.MaxLen, c.Text.Vocab)
		if err := nn.Build(func() { G.Read(text.Encode(b, c.Text, onehot, n), &p.out) }); err != nil {
			return err
		}
		prog, err := nn.Compile(b, nil, false)
		if err != nil {
			return err
		}
		p.prog = prog
		if m.texts == nil {
			m.texts = map[int]*textBatchProgram{}
		}
		m.texts[n] = p
	}
	text.OneHot(ids, m.Config.Text.Vocab, p.onehot.Data().([]float32))
	if _, err := p.prog.Run(); err != nil {
		return err
	}
	copy(dst, p.out.Data().([]float32))
	return nil
}

// textBatchProgram is the embedded text encoder on a batch of rows.
type textBatchProgram struct {
	prog   *nn.Program
	onehot *tensor.Dense
	out    G.Value
}

// noSharedLevels turns GuidedUNet off (TestGuidedSharingIsExact compares).
var noSharedLevels = false

type denoiseProgram struct {
	prog  *nn.Program
	batch *DenoiseBatch
	out   G.Value
}

func (m *T2I) denoiser(n int) (*denoiseProgram, error) { return m.denoiserOf(n, false) }

// denoiserOf is denoiser, or with guided a guided sampling batch of n
// prompt rows (DenoiseBatch.Guided; the embedded family only).
func (m *T2I) denoiserOf(n int, guided bool) (*denoiseProgram, error) {
	key := n
	if guided {
		key = -n
	}
	if p, ok := m.denoise[key]; ok {
		return p, nil
	}
	b := nn.NewBuilder(m.Denoiser, nil)
	p := &denoiseProgram{batch: m.newDenoiseBatch(b, n, false, guided)}
	if err := nn.Build(func() { G.Read(p.batch.Prediction(b), &p.out) }); err != nil {
		return nil, err
	}
	prog, err := nn.Compile(b, nil, false)
	if err != nil {
		return nil, err
	}
	p.prog = prog
	m.denoise[key] = p
	return p, nil
}

type decodeProgram struct {
	prog *nn.Program
	z    *tensor.Dense
	out  G.Value
}

func (m *T2I) decoder(n int) (*decodeProgram, error) {
	if p, ok := m.decode[n]; ok {
		return p, nil
	}
	c := m.Config
	b := nn.NewBuilder(m.AE, nil)
	p := &decodeProgram{}
	s := c.LatentSide()
	var z *G.Node
	z, p.z = b.InputData("z", n, c.LatentChannels(), s, s)
	if err := nn.Build(func() { G.Read(m.decodeGraph(b, z), &p.out) }); err != nil {
		return nil, err
	}
	prog, err := nn.Compile(b, nil, false)
	if err != nil {
		return nil, err
	}
	p.prog = prog
	m.decode[n] = p
	return p, nil
}

// Generate draws one image per (prompt, seed) pair with sampler s
// (classifier-free guidance against the empty prompt): the initial latents
// come from the seed, so the same pair gives the same image.
func (m *T2I) Generate(prompts []string, seeds []uint64, s diffusion.Sampler) ([]*image.RGBA, error) {
	if len(prompts) != len(seeds) {
		return nil, fmt.Errorf("models: %d prompts and %d seeds", len(prompts), len(seeds))
	}
	lat, err := m.Sample(prompts, m.InitialLatents(seeds), SampleRNG(seeds[0]), s)
	if err != nil {
		return nil, err
	}
	return m.DecodeLatents(lat, len(prompts))
}

// InitialLatents are the initial noise latents of seeded generations, one
// LatentSize block per seed.
func (m *T2I) InitialLatents(seeds []uint64) []float32 {
	per := m.LatentSize()
	x := make([]float32, len(seeds)*per)
	for i, seed := range seeds {
		copy(x[i*per:], diffusion.Noise(seed, per))
	}
	return x
}

// SampleRNG is the generator of a generation's further noise (η > 0,
// ancestral sampling), seeded by its first image's seed.
func SampleRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5a3)) }

// LatentSize is the number of values of one image's latents.
func (m *T2I) LatentSize() int {
	side := m.Config.LatentSide()
	return m.Config.LatentChannels() * side * side
}

// Sample runs sampler s from the initial latents x (one LatentSize block
// per prompt, modified in place) and returns the final latents; rng draws
// any further noise (η > 0, ancestral).
func (m *T2I) Sample(prompts []string, x []float32, rng *rand.Rand, s diffusion.Sampler) ([]float32, error) {
	n := len(prompts)
	c := m.Config
	per := m.LatentSize()
	if len(x) != n*per {
		return nil, fmt.Errorf("models: %d initial latent values for %d prompts of %d", len(x), n, per)
	}
	guided := s.Guidance != 1
	rows := n
	if guided {
		rows = 2 * n
	}
	// the embedded U-Net's text-free levels run once for both halves
	shared := guided && c.SD == nil && !noSharedLevels
	dp, err := m.denoiserOf(rows, shared)
	if err != nil {
		return nil, err
	}
	ids := make([]int, 0, rows*c.MaxLen)
	for _, p := range prompts {
		id, _, _ := m.Tokenizer.Encode(p)
		ids = append(ids, id...)
	}
	if guided {
		empty, _, _ := m.Tokenizer.Encode("")
		for i := 0; i < n; i++ {
			ids = append(ids, empty...)
		}
	}
	if err := dp.batch.SetTokens(ids); err != nil {
		return nil, err
	}
	s.Schedule, s.Prediction = m.Schedule, c.Prediction
	model := func(xt []float32, t int) ([]float32, []float32, error) {
		xd := dp.batch.X.Data().([]float32)
		copy(xd, xt)
		if guided && !shared {
			copy(xd[n*per:], xt)
		}
		ts := make([]float64, rows)
		if shared {
			ts = ts[:n]
		}
		for i := range ts {
			ts[i] = float64(t)
		}
		dp.batch.SetTimesteps(ts)
		if _, err := dp.prog.Run(); err != nil {
			return nil, nil, err
		}
		out := dp.out.Data().([]float32)
		cond := append([]float32(nil), out[:n*per]...)
		if !guided {
			return cond, nil, nil
		}
		return cond, append([]float32(nil), out[n*per:2*n*per]...), nil
	}
	return s.Sample(x, rng, model)
}

// DecodeLatents turns n scaled latents into images.
func (m *T2I) DecodeLatents(lat []float32, n int) ([]*image.RGBA, error) {
	c := m.Config
	dec, err := m.decoder(n)
	if err != nil {
		return nil, err
	}
	sf := c.scalingFactor()
	z := dec.z.Data().([]float32)
	for i, v := range lat {
		z[i] = v / sf
	}
	if _, err := dec.prog.Run(); err != nil {
		return nil, err
	}
	out := dec.out.Data().([]float32)
	per := 3 * c.Resolution * c.Resolution
	imgs := make([]*image.RGBA, n)
	for i := range imgs {
		imgs[i] = imageio.FromCHW(out[i*per:(i+1)*per], c.Resolution, c.Resolution)
	}
	return imgs, nil
}

// EncodeImages returns the scaled latents (posterior means × scaling
// factor) of images, concatenated: what the diffusion model trains on.
func (m *T2I) EncodeImages(imgs []*image.RGBA) ([]float32, error) {
	c := m.Config
	per := 3 * c.Resolution * c.Resolution
	xs := make([]float32, len(imgs)*per)
	for i, im := range imgs {
		imageio.ToCHW(im, xs[i*per:(i+1)*per])
	}
	return m.EncodeCHW(xs, len(imgs))
}

// EncodeCHW is EncodeImages for n images given as values in [−1, 1]
// (N, 3, H, W).
func (m *T2I) EncodeCHW(xs []float32, n int) ([]float32, error) {
	c := m.Config
	p, ok := m.encode[n]
	if !ok {
		b := nn.NewBuilder(m.AE, nil)
		p = &encodeProgram{}
		var x *G.Node
		x, p.x = b.InputData("x", n, 3, c.Resolution, c.Resolution)
		if err := nn.Build(func() { G.Read(m.encodeGraph(b, x), &p.out) }); err != nil {
			return nil, err
		}
		prog, err := nn.Compile(b, nil, false)
		if err != nil {
			return nil, err
		}
		p.prog = prog
		m.encode[n] = p
	}
	copy(p.x.Data().([]float32), xs)
	if _, err := p.prog.Run(); err != nil {
		return nil, err
	}
	sf := c.scalingFactor()
	all := p.out.Data().([]float32)
	out := make([]float32, 0, len(all))
	side := c.LatentSide()
	per := c.LatentChannels() * side * side
	stride := len(all) / n // SD's encoder gives the moments: mean, then log-variance
	for i := 0; i < n; i++ {
		for _, v := range all[i*stride : i*stride+per] {
			out = append(out, v*sf)
		}
	}
	return out, nil
}

type encodeProgram struct {
	prog *nn.Program
	x    *tensor.Dense
	out  G.Value
}

// Save writes the model directory: model.yaml, autoencoder.safetensors and
// denoiser.safetensors (F16).
func (m *T2I) Save(dir string, prov ckpt.Provenance) error {
	if m.Config.SD != nil {
		return m.saveSD(dir, prov)
	}
	info := &ckpt.ModelInfo{Family: T2IFamily, Provenance: prov}
	if err := info.SetArchitecture(m.Config); err != nil {
		return err
	}
	ae, den := &ckpt.File{}, &ckpt.File{}
	ckpt.FromStore(m.AE, ckpt.F16, "", ae)
	ckpt.FromStore(m.Denoiser, ckpt.F16, "", den)
	return ckpt.WriteModelDir(dir, info, map[string]*ckpt.File{"autoencoder": ae, "denoiser": den})
}

// LoadT2I reads a text-to-image model directory.
func LoadT2I(dir string) (*T2I, error) {
	info, err := ckpt.ReadModelDir(dir)
	if err != nil {
		return nil, err
	}
	if info.Family == SDFamily {
		return loadSDTuned(info, dir, SDOptions{})
	}
	return loadT2I(info, dir)
}

// LoadT2IFrom reads a text-to-image model directory from a file system (an
// embedded model); label names it in messages.
func LoadT2IFrom(fsys fs.FS, label string) (*T2I, error) {
	info, err := ckpt.ReadModelFS(fsys, ".", label)
	if err != nil {
		return nil, err
	}
	return loadT2I(info, label)
}

func loadT2I(info *ckpt.ModelInfo, label string) (*T2I, error) {
	if info.Family != T2IFamily {
		return nil, fmt.Errorf("models: %s is a %q model, not %q", label, info.Family, T2IFamily)
	}
	var c T2IConfig
	if err := info.DecodeArchitecture(&c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("models: %s: %w", filepath.Join(label, ckpt.ModelYAML), err)
	}
	m, err := NewT2I(c, 0)
	if err != nil {
		return nil, err
	}
	for role, store := range map[string]*nn.Store{"autoencoder": m.AE, "denoiser": m.Denoiser} {
		f, err := info.Open(role)
		if err != nil {
			return nil, err
		}
		if err := ckpt.LoadStore(store, f, "", filepath.Join(label, info.Files[role])); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Close releases the compiled programs.
func (m *T2I) Close() {
	for _, p := range m.denoise {
		p.prog.Close()
	}
	for _, p := range m.texts {
		p.prog.Close()
	}
	for _, p := range m.decode {
		p.prog.Close()
	}
	for _, p := range m.encode {
		p.prog.Close()
	}
	if m.text != nil && m.ownsText {
		m.text.prog.Close()
		m.text = nil
	}
}
