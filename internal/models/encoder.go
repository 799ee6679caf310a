package models

import (
	"fmt"
	"image"
	"io/fs"
	"path/filepath"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/text"
)

// EncoderFamily is the model.yaml family of the embedding models.
const EncoderFamily = "rpo-encoder"

// Encoder is a loaded embedding model (align-mini, clip-mini, dino-mini):
// it maps images (and prompts, for dual encoders) to unit vectors.
type Encoder struct {
	Config    EncoderConfig
	Tokenizer *text.Tokenizer // nil for image-only models
	Store     *nn.Store
	imgProgs  map[int]*embedProgram
	txtProgs  map[int]*embedProgram
	hf        *hfEncoder // a transformers-layout model (CLIPModel, ViTModel); nil for the embedded family
}

// Dual reports whether the encoder has a text tower (align-mini,
// clip-mini, CLIP) besides the image tower.
func (e *Encoder) Dual() bool {
	if e.hf != nil {
		return e.hf.text != nil || e.hf.align != nil
	}
	return e.Config.Text != nil
}

type embedProgram struct {
	prog   *nn.Program
	in     *tensor.Dense
	mask   *tensor.Dense // a BERT text tower's attention mask
	out    G.Value
	tokens int // a transformers model's output rows per input (it embeds one of them)
}

// NewEncoder builds an encoder with fresh weights on store (nil: a new
// seeded one).
func NewEncoder(c EncoderConfig, store *nn.Store, seed uint64) (*Encoder, error) {
	if c.Pool != "" && c.Pool != "mean" && c.Pool != "meanmax" {
		return nil, fmt.Errorf("models: %s: pool %q is not mean or meanmax", c.Name, c.Pool)
	}
	if store == nil {
		store = nn.NewStore(tensor.Float32, seed)
	}
	e := &Encoder{Config: c, Store: store, imgProgs: map[int]*embedProgram{}, txtProgs: map[int]*embedProgram{}}
	if c.Text != nil {
		e.Tokenizer = text.NewTokenizer(c.Text.MaxLen)
		if e.Tokenizer.Size() != c.Text.Vocab {
			return nil, fmt.Errorf("models: %s has %d token ids, the tokenizer %d", c.Name, c.Text.Vocab, e.Tokenizer.Size())
		}
		if _, err := e.textProgram(1); err != nil {
			return nil, err
		}
	}
	if _, err := e.imageProgram(1); err != nil {
		return nil, err
	}
	return e, nil
}

// ImageSide is the side of the images the encoder takes.
const ImageSide = 64

func (e *Encoder) imageProgram(n int) (*embedProgram, error) {
	if p, ok := e.imgProgs[n]; ok {
		return p, nil
	}
	b := nn.NewBuilder(e.Store, nil)
	p := &embedProgram{}
	var x *G.Node
	side := ImageSide
	if e.hf != nil {
		side = e.hf.side
	}
	x, p.in = b.InputData("x", n, 3, side, side)
	switch {
	case e.hf != nil && e.hf.align != nil:
		p.tokens = 1 // one pooled row per image
	case e.hf != nil:
		g := side / e.hf.vision.PatchSize
		p.tokens = g*g + 1
	}
	if err := nn.Build(func() {
		if e.hf != nil {
			G.Read(e.hf.visionGraph(b, x), &p.out)
			return
		}
		G.Read(ImageEmbedding(b, e.Config, x), &p.out)
	}); err != nil {
		return nil, err
	}
	prog, err := nn.Compile(b, nil, false)
	if err != nil {
		return nil, err
	}
	p.prog = prog
	e.imgProgs[n] = p
	return p, nil
}

func (e *Encoder) textProgram(n int) (*embedProgram, error) {
	if p, ok := e.txtProgs[n]; ok {
		return p, nil
	}
	b := nn.NewBuilder(e.Store, nil)
	p := &embedProgram{}
	if h := e.hf; h != nil && h.align != nil { // BERT on summed embeddings with the padding masked, projected
		a := h.align
		l := a.wp.MaxLen
		var emb, mask *G.Node
		emb, p.in = b.InputData("embeddings", n*l, a.text.HiddenSize)
		mask, p.mask = b.InputData("mask", n*a.text.NumAttentionHeads, l, l)
		p.tokens = l
		if err := nn.Build(func() {
			hs := bertGraph(b, &a.text, emb, mask, n, l)
			G.Read(b.Linear("text_projection", hs, h.proj, true), &p.out)
		}); err != nil {
			return nil, err
		}
	} else if h != nil { // CLIP's text tower on token + position embeddings, projected
		var emb *G.Node
		emb, p.in = b.InputData("embeddings", n*h.bpe.MaxLen, h.text.HiddenSize)
		p.tokens = h.bpe.MaxLen
		if err := nn.Build(func() {
			hs := CLIPText(b, h.text, emb, n, h.bpe.MaxLen)
			hs = b.Reshape(hs, n*h.bpe.MaxLen, h.text.HiddenSize)
			G.Read(b.Linear("text_projection", hs, h.proj, false), &p.out)
		}); err != nil {
			return nil, err
		}
	} else {
		tc := *e.Config.Text
		var oh *G.Node
		oh, p.in = b.InputData("onehot", n*tc.MaxLen, tc.Vocab)
		if err := nn.Build(func() { G.Read(TextEmbedding(b, e.Config, oh, n), &p.out) }); err != nil {
			return nil, err
		}
	}
	prog, err := nn.Compile(b, nil, false)
	if err != nil {
		return nil, err
	}
	p.prog = prog
	e.txtProgs[n] = p
	return p, nil
}

// EmbedImages returns the unit embeddings of square images.
func (e *Encoder) EmbedImages(imgs []*image.RGBA) ([][]float64, error) {
	if h := e.hf; h != nil && len(imgs) > h.imageBatch() { // in chunks: a program's buffers grow with its batch
		var out [][]float64
		for lo := 0; lo < len(imgs); lo += h.imageBatch() {
			emb, err := e.EmbedImages(imgs[lo:min(lo+h.imageBatch(), len(imgs))])
			if err != nil {
				return nil, err
			}
			out = append(out, emb...)
		}
		return out, nil
	}
	p, err := e.imageProgram(len(imgs))
	if err != nil {
		return nil, err
	}
	if h := e.hf; h != nil {
		per := 3 * h.side * h.side
		d := p.in.Data().([]float32)
		for i, im := range imgs {
			if b := im.Bounds(); b.Dx() != b.Dy() {
				return nil, fmt.Errorf("models: %s takes square images, got %v", e.Config.Name, b.Size())
			}
			h.pixels(im, d[i*per:(i+1)*per])
		}
		return e.runHF(p, len(imgs), nil)
	}
	per := 3 * ImageSide * ImageSide
	d := p.in.Data().([]float32)
	for i, im := range imgs {
		if b := im.Bounds(); b.Dx() != b.Dy() {
			return nil, fmt.Errorf("models: %s takes square images, got %v", e.Config.Name, b.Size())
		}
		imageio.ToCHW(imageio.Resize(im, ImageSide), d[i*per:(i+1)*per]) // a larger model's images, shrunk
	}
	return e.run(p, len(imgs))
}

// EmbedTexts returns the unit embeddings of prompts (dual encoders only).
func (e *Encoder) EmbedTexts(prompts []string) ([][]float64, error) {
	if !e.Dual() {
		return nil, fmt.Errorf("models: %s has no text tower", e.Config.Name)
	}
	p, err := e.textProgram(len(prompts))
	if err != nil {
		return nil, err
	}
	if h := e.hf; h != nil && h.align != nil { // the [CLS] token
		var ids []int
		lengths := make([]int, len(prompts))
		for i, s := range prompts {
			id, n := h.align.wp.Encode(s)
			ids, lengths[i] = append(ids, id...), n
		}
		if err := bertEmbed(e.Store, &h.align.text, ids, lengths, h.align.wp.MaxLen, p.in.Data().([]float32), p.mask.Data().([]float32)); err != nil {
			return nil, err
		}
		return e.runHF(p, len(prompts), make([]int, len(prompts)))
	}
	if h := e.hf; h != nil {
		var ids []int
		eos := make([]int, len(prompts))
		for i, s := range prompts {
			id, _, _ := h.bpe.Encode(s)
			for j, v := range id { // the pooled token: EOS (the highest id in legacy CLIP configs)
				if h.eosArgmax && v > id[eos[i]] || !h.eosArgmax && v == h.bpe.EOS && eos[i] == 0 {
					eos[i] = j
				}
			}
			ids = append(ids, id...)
		}
		if err := CLIPTextEmbed(e.Store, h.text, ids, h.bpe.MaxLen, p.in.Data().([]float32)); err != nil {
			return nil, err
		}
		return e.runHF(p, len(prompts), eos)
	}
	ids := make([]int, 0, len(prompts)*e.Config.Text.MaxLen)
	for _, s := range prompts {
		id, _, _ := e.Tokenizer.Encode(s)
		ids = append(ids, id...)
	}
	text.OneHot(ids, e.Config.Text.Vocab, p.in.Data().([]float32))
	return e.run(p, len(prompts))
}

// runHF runs a transformers model's program and returns the unit
// embedding of token 0 of each image, or of token at[i] of each prompt.
func (e *Encoder) runHF(p *embedProgram, n int, at []int) ([][]float64, error) {
	if _, err := p.prog.Run(); err != nil {
		return nil, err
	}
	flat := p.out.Data().([]float32)
	width := len(flat) / n / p.tokens
	return pickUnit(flat, n, p.tokens, width, func(i int) int {
		if at == nil {
			return 0
		}
		return at[i]
	}), nil
}

func (e *Encoder) run(p *embedProgram, n int) ([][]float64, error) {
	if _, err := p.prog.Run(); err != nil {
		return nil, err
	}
	flat := p.out.Data().([]float32)
	d := e.Config.Embed
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, d)
		for k := range out[i] {
			out[i][k] = float64(flat[i*d+k])
		}
	}
	return out, nil
}

// Save writes the encoder's model directory (encoder.safetensors, F16).
func (e *Encoder) Save(dir string, prov ckpt.Provenance) error {
	info := &ckpt.ModelInfo{Family: EncoderFamily, Provenance: prov}
	if err := info.SetArchitecture(e.Config); err != nil {
		return err
	}
	f := &ckpt.File{Metadata: map[string]string{"name": e.Config.Name}}
	ckpt.FromStore(e.Store, ckpt.F16, "", f)
	return ckpt.WriteModelDir(dir, info, map[string]*ckpt.File{"encoder": f})
}

// LoadEncoder reads an encoder model directory.
func LoadEncoder(dir string) (*Encoder, error) {
	info, err := ckpt.ReadModelDir(dir)
	if err != nil {
		return nil, err
	}
	return loadEncoder(info, dir)
}

// LoadEncoderFrom reads an encoder model directory from a file system (an
// embedded model); label names it in messages.
func LoadEncoderFrom(fsys fs.FS, label string) (*Encoder, error) {
	info, err := ckpt.ReadModelFS(fsys, ".", label)
	if err != nil {
		return nil, err
	}
	return loadEncoder(info, label)
}

func loadEncoder(info *ckpt.ModelInfo, dir string) (*Encoder, error) {
	if info.Family != EncoderFamily {
		return nil, fmt.Errorf("models: %s is a %q model, not %q", dir, info.Family, EncoderFamily)
	}
	var c EncoderConfig
	if err := info.DecodeArchitecture(&c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("models: %s: model.yaml: architecture: %w", dir, err)
	}
	e, err := NewEncoder(c, nil, 0)
	if err != nil {
		return nil, err
	}
	f, err := info.Open("encoder")
	if err != nil {
		return nil, err
	}
	if err := ckpt.LoadStore(e.Store, f, "", filepath.Join(dir, info.Files["encoder"])); err != nil {
		return nil, err
	}
	return e, nil
}

// Close releases the compiled programs.
func (e *Encoder) Close() {
	for _, p := range e.imgProgs {
		p.prog.Close()
	}
	for _, p := range e.txtProgs {
		p.prog.Close()
	}
}

// Side is the side of the images the encoder's network takes.
func (e *Encoder) Side() int {
	if e.hf != nil {
		return e.hf.side
	}
	return ImageSide
}

// LoadSide is the side images are read at before the encoder's own
// preprocessing: its 64 pixels for the embedded family; for transformers
// models 512, the side rpo eval reads DreamBench's references at, so that
// rpo score and rpo eval give the same numbers for the same photos.
func (e *Encoder) LoadSide() int {
	if e.hf != nil {
		return 512
	}
	return ImageSide
}
