package models

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/text"
)

// Real embedding models in the transformers layout (config.json,
// model.safetensors, preprocessor_config.json): CLIPModel
// (openai/clip-vit-base-patch16, -patch32, -large-patch14) for CLIP-I,
// CLIP-T and a reward, and ViTModel (facebook/dino-vits16, -vitb16) for
// DreamBench's DINO metric, the CLS token of the last layer after the final
// layer norm.

// ViTConfig is a vision transformer: transformers' CLIPVisionConfig or
// ViTConfig.
type ViTConfig struct {
	HiddenSize        int     `json:"hidden_size"`
	IntermediateSize  int     `json:"intermediate_size"`
	NumAttentionHeads int     `json:"num_attention_heads"`
	NumHiddenLayers   int     `json:"num_hidden_layers"`
	ImageSize         int     `json:"image_size"`
	PatchSize         int     `json:"patch_size"`
	HiddenAct         string  `json:"hidden_act"`
	LayerNormEps      float64 `json:"layer_norm_eps"`
	NumChannels       int     `json:"num_channels"`
}

func (c *ViTConfig) validate(act string, eps float64) error {
	if c.HiddenAct == "" {
		c.HiddenAct = act
	}
	if c.LayerNormEps == 0 {
		c.LayerNormEps = eps
	}
	if c.NumChannels == 0 {
		c.NumChannels = 3
	}
	switch {
	case c.HiddenSize < 1 || c.NumHiddenLayers < 1 || c.IntermediateSize < 1:
		return fmt.Errorf("hidden_size, intermediate_size and num_hidden_layers must be positive")
	case c.NumAttentionHeads < 1 || c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("hidden_size %d is not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.PatchSize < 1 || c.ImageSize < c.PatchSize || c.ImageSize%c.PatchSize != 0:
		return fmt.Errorf("image_size %d is not a multiple of patch_size %d", c.ImageSize, c.PatchSize)
	case c.NumChannels != 3:
		return fmt.Errorf("num_channels %d: only RGB models", c.NumChannels)
	case c.HiddenAct != "gelu" && c.HiddenAct != "quick_gelu":
		return fmt.Errorf("hidden_act %q is not supported (gelu or quick_gelu)", c.HiddenAct)
	}
	return nil
}

// Preprocess is preprocessor_config.json: resize (the shortest edge, or to
// a fixed size), centre crop, scale to [0, 1], normalise.
type Preprocess struct {
	Size      json.RawMessage `json:"size"`
	CropSize  json.RawMessage `json:"crop_size"`
	ImageMean []float64       `json:"image_mean"`
	ImageStd  []float64       `json:"image_std"`
	Normalize *bool           `json:"do_normalize"`
}

// hfEncoder is a transformers-layout embedding model.
type hfEncoder struct {
	kind      string // "clip" or "vit"
	vision    ViTConfig
	text      *CLIPTextConfig
	proj      int // projection_dim (CLIP's, ALIGN's)
	side      int // the model's input side
	mean, std [3]float32
	bpe       *text.BPE
	eosArgmax bool
	align     *alignModel // an AlignModel (kind "align")
}

// IsTransformersDir reports whether dir holds a transformers model (config.json).
func IsTransformersDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "config.json"))
	return err == nil
}

// LoadTransformersEncoder reads a CLIPModel or ViTModel directory.
func LoadTransformersEncoder(dir string) (*Encoder, error) {
	var raw struct {
		ModelType  string          `json:"model_type"`
		Archs      []string        `json:"architectures"`
		Text       json.RawMessage `json:"text_config"`
		Vision     json.RawMessage `json:"vision_config"`
		Projection int             `json:"projection_dim"`
		EOSTokenID int             `json:"eos_token_id"`
		ViTConfig                  // a ViTModel's own keys
	}
	cfgPath := filepath.Join(dir, "config.json")
	if err := readJSON(cfgPath, &raw); err != nil {
		return nil, err
	}
	h := &hfEncoder{}
	switch raw.ModelType {
	case "clip":
		h.kind = "clip"
		if err := json.Unmarshal(raw.Vision, &h.vision); err != nil {
			return nil, fmt.Errorf("models: %s: vision_config: %w", cfgPath, err)
		}
		if err := h.vision.validate("quick_gelu", 1e-5); err != nil {
			return nil, fmt.Errorf("models: %s: vision_config: %w", cfgPath, err)
		}
		h.text = &CLIPTextConfig{}
		var tc struct {
			EOS *int `json:"eos_token_id"`
		}
		json.Unmarshal(raw.Text, &tc)
		if err := json.Unmarshal(raw.Text, h.text); err != nil {
			return nil, fmt.Errorf("models: %s: text_config: %w", cfgPath, err)
		}
		if h.text.VocabSize == 0 {
			h.text.VocabSize = 49408
		}
		if err := h.text.Validate(); err != nil {
			return nil, fmt.Errorf("models: %s: text_config: %w", cfgPath, err)
		}
		// transformers pools the text at the EOS token: the position of the
		// highest id in legacy configs (eos_token_id 2), as openai CLIP
		h.eosArgmax = tc.EOS == nil || *tc.EOS == 2
		h.proj = raw.Projection
		if h.proj == 0 {
			h.proj = 512
		}
		var bpe *text.BPE
		var err error
		if fileExists(filepath.Join(dir, "vocab.json")) {
			bpe, err = text.LoadBPE(dir)
		} else { // the vocabulary of every CLIP
			bpe, err = text.CLIPBPE("<|endoftext|>")
		}
		if err != nil {
			return nil, err
		}
		h.bpe = bpe
		h.bpe.MaxLen = min(h.bpe.MaxLen, h.text.MaxPositionEmbeddings)
	case "vit":
		h.kind = "vit"
		h.vision = raw.ViTConfig
		if err := h.vision.validate("gelu", 1e-12); err != nil {
			return nil, fmt.Errorf("models: %s: %w", cfgPath, err)
		}
	case "align":
		h.kind = "align"
		h.proj = raw.Projection
		if h.proj == 0 {
			h.proj = 640 // AlignConfig's default
		}
		a, err := loadAlignConfig(dir, raw.Vision, raw.Text, h.proj)
		if err != nil {
			return nil, err
		}
		h.align = a
	default:
		return nil, fmt.Errorf("models: %s: model_type %q is not clip, vit or align (CLIPModel, ViTModel, AlignModel)", cfgPath, raw.ModelType)
	}
	h.side = h.vision.ImageSize
	h.mean, h.std = [3]float32{0.5, 0.5, 0.5}, [3]float32{0.5, 0.5, 0.5}
	var pp Preprocess
	ppPath := filepath.Join(dir, "preprocessor_config.json")
	if h.align != nil {
		h.side = h.align.pix.side
	} else if err := readJSON(ppPath, &pp); err == nil {
		if len(pp.ImageMean) == 3 && len(pp.ImageStd) == 3 && (pp.Normalize == nil || *pp.Normalize) {
			for i := range h.mean {
				h.mean[i], h.std[i] = float32(pp.ImageMean[i]), float32(pp.ImageStd[i])
			}
		}
	} else if fileExists(ppPath) {
		return nil, err
	}
	e := &Encoder{Config: EncoderConfig{Name: filepath.Base(filepath.Clean(dir))}, Store: nn.NewStore(tensor.Float32, 1),
		imgProgs: map[int]*embedProgram{}, txtProgs: map[int]*embedProgram{}, hf: h}
	e.Store.ZeroInit(true) // every weight comes from model.safetensors
	defer e.Store.ZeroInit(false)
	if _, err := e.imageProgram(1); err != nil {
		return nil, err
	}
	if h.text != nil {
		clipTextParams(e.Store, h.text)
	}
	if h.align != nil {
		bertParams(e.Store, &h.align.text)
	}
	if e.Dual() {
		if _, err := e.textProgram(1); err != nil {
			return nil, err
		}
	}
	f, label, release, err := ReadWeights(dir, "model", "")
	if err != nil {
		return nil, err
	}
	defer release()
	g := &ckpt.File{Tensors: map[string]ckpt.Tensor{}}
	for n, t := range f.Tensors {
		if !t.DType.IsFloat() || n == "logit_scale" || h.kind == "vit" && (n == "pooler.dense.weight" || n == "pooler.dense.bias") ||
			h.kind == "align" && (n == "temperature" || n == "text_model.pooler.dense.weight" || n == "text_model.pooler.dense.bias") {
			continue // position_ids, num_batches_tracked; the temperatures and the poolers are not used for cosines and CLS features
		}
		g.Tensors[n] = t
	}
	if err := ckpt.LoadStore(e.Store, g, "", label); err != nil {
		return nil, err
	}
	debug.FreeOSMemory()
	return e, nil
}

// visionGraph builds the per-token outputs of the vision tower for pixels
// x (N, 3, S, S): CLIP's vision_model (patches, class token, positions,
// pre_layrnorm, layers, post_layernorm) and visual_projection, or ViTModel's
// embeddings, layers and final layernorm. Row t of image n is token t; the
// embedding is token 0.
func (h *hfEncoder) visionGraph(b *nn.Builder, x *G.Node) *G.Node {
	if h.align != nil {
		return efficientNetGraph(b, &h.align.vision, x)
	}
	c := h.vision
	n, d, g := x.Shape()[0], c.HiddenSize, c.ImageSize/c.PatchSize
	tokens := g*g + 1
	var s, emb *nn.Builder
	var patch *G.Node
	if h.kind == "clip" {
		s = b.Scope("vision_model")
		emb = s.Scope("embeddings")
		w := emb.Scope("patch_embedding").Param("weight", []int{d, 3, c.PatchSize, c.PatchSize}, nn.KaimingUniform, 3*c.PatchSize*c.PatchSize, d)
		patch = mustNode(nn.Conv2d(x, w, nil, nn.ConvGeom{Stride: c.PatchSize}))
	} else {
		s = b
		emb = b.Scope("embeddings")
		patch = emb.Conv("patch_embeddings.projection", x, d, c.PatchSize, c.PatchSize, 0)
	}
	seq := s.Reshape(s.SwapAxes12(s.Reshape(patch, n, d, g*g)), n, g*g, d) // (N, g², D)
	var cls, pos *G.Node
	if h.kind == "clip" {
		cls = s.Reshape(emb.Param("class_embedding", []int{d}, nn.Normal(0.02), d, d), 1, 1, d)
		pos = s.Reshape(emb.Scope("position_embedding").Param("weight", []int{tokens, d}, nn.Normal(0.02), tokens, d), 1, tokens, d)
	} else {
		cls = emb.Param("cls_token", []int{1, 1, d}, nn.Normal(0.02), d, d)
		pos = emb.Param("position_embeddings", []int{1, tokens, d}, nn.Normal(0.02), tokens, d)
	}
	rows := make([]*G.Node, n)
	for i := range rows {
		xi := mustNode(G.Slice(seq, G.S(i, i+1)))
		xi = s.Reshape(xi, 1, g*g, d)
		rows[i] = s.Add(mustNode(G.Concat(1, cls, xi)), pos)
	}
	hs := s.Reshape(mustNode(G.Concat(0, rows...)), n*tokens, d)
	eps := c.LayerNormEps
	if h.kind == "clip" {
		hs = s.LayerNormEps("pre_layrnorm", hs, eps)
	}
	for i := 0; i < c.NumHiddenLayers; i++ {
		var a, q, k, v, o, mlpIn, mlpOut string
		var l *nn.Builder
		if h.kind == "clip" {
			l = s.Scopef("encoder.layers.%d", i)
			a, q, k, v, o = "layer_norm1", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj"
			mlpIn, mlpOut = "mlp.fc1", "mlp.fc2"
		} else {
			l = s.Scopef("encoder.layer.%d", i)
			a, q, k, v, o = "layernorm_before", "attention.attention.query", "attention.attention.key", "attention.attention.value", "attention.output.dense"
			mlpIn, mlpOut = "intermediate.dense", "output.dense"
		}
		t := l.LayerNormEps(a, hs, eps)
		att := l.MultiHead(l.Linear(q, t, d, true), l.Linear(k, t, d, true), l.Linear(v, t, d, true), n, tokens, tokens, c.NumAttentionHeads, nil)
		hs = l.Add(hs, l.Linear(o, att, d, true))
		norm2 := "layer_norm2"
		if h.kind == "vit" {
			norm2 = "layernorm_after"
		}
		m := l.Linear(mlpIn, l.LayerNormEps(norm2, hs, eps), c.IntermediateSize, true)
		hs = l.Add(hs, l.Linear(mlpOut, l.Activate(m, nn.Activation(c.HiddenAct)), d, true))
	}
	if h.kind == "vit" {
		return s.LayerNormEps("layernorm", hs, eps)
	}
	hs = s.LayerNormEps("post_layernorm", hs, eps)
	return b.Linear("visual_projection", hs, h.proj, false)
}

func mustNode(n *G.Node, err error) *G.Node {
	if err != nil {
		panic(nn.BuildError{Err: err})
	}
	return n
}

// pixels writes an image into dst (3·S·S) as the model takes it: resized
// to its side (Catmull–Rom, antialiased), scaled to [0, 1], normalised.
func (h *hfEncoder) pixels(img *image.RGBA, dst []float32) {
	if h.align != nil {
		h.align.pixels(img, dst)
		return
	}
	imageio.ToCHW(imageio.Resize(img, h.side), dst)
	per := h.side * h.side
	for c := 0; c < 3; c++ {
		for i := c * per; i < (c+1)*per; i++ {
			dst[i] = ((dst[i]+1)/2 - h.mean[c]) / h.std[c]
		}
	}
}

// pick returns token 0 of every image (rows of tokens·width), or with ids
// the EOS token of every prompt, unit-normalised.
func pickUnit(all []float32, n, tokens, width int, at func(i int) int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		row := all[(i*tokens+at(i))*width : (i*tokens+at(i)+1)*width]
		v := make([]float64, width)
		var norm float64
		for j, x := range row {
			v[j] = float64(x)
			norm += v[j] * v[j]
		}
		norm = math.Sqrt(norm)
		for j := range v {
			v[j] /= norm
		}
		out[i] = v
	}
	return out
}

// imageBatch is how many images one program embeds: one for ALIGN, whose
// EfficientNet-B7 keeps about 2 GB of intermediate values per 289-pixel
// image, eight for the vision transformers.
func (h *hfEncoder) imageBatch() int {
	if h.align != nil {
		return 1
	}
	return 8
}
