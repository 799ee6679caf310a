package models

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"path/filepath"

	G "gorgonia.org/gorgonia"

	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/text"
)

// ALIGN in the transformers layout (kakaobrain/align-base, the paper's
// reward model): an EfficientNet image tower whose embedding is the mean of
// its last block's features (no projection), and a BERT text tower whose
// embedding is the [CLS] token of the last layer through text_projection.

// EfficientNetConfig is transformers' AlignVisionConfig (or
// EfficientNetConfig): the compound-scaled MBConv stages. Missing keys take
// AlignVisionConfig's defaults (EfficientNet-B7).
type EfficientNetConfig struct {
	ImageSize        int     `json:"image_size"`
	NumChannels      int     `json:"num_channels"`
	WidthCoefficient float64 `json:"width_coefficient"`
	DepthCoefficient float64 `json:"depth_coefficient"`
	DepthDivisor     int     `json:"depth_divisor"`
	KernelSizes      []int   `json:"kernel_sizes"`
	InChannels       []int   `json:"in_channels"`
	OutChannels      []int   `json:"out_channels"`
	DepthwisePadding []int   `json:"depthwise_padding"`
	Strides          []int   `json:"strides"`
	NumBlockRepeats  []int   `json:"num_block_repeats"`
	ExpandRatios     []int   `json:"expand_ratios"`
	SqueezeRatio     float64 `json:"squeeze_expansion_ratio"`
	HiddenAct        string  `json:"hidden_act"`
	PoolingType      string  `json:"pooling_type"`
	BatchNormEps     float64 `json:"batch_norm_eps"`
}

func (c *EfficientNetConfig) defaults() {
	def := func(v *[]int, d ...int) {
		if *v == nil {
			*v = d
		}
	}
	if c.ImageSize == 0 {
		c.ImageSize = 600
	}
	if c.NumChannels == 0 {
		c.NumChannels = 3
	}
	if c.WidthCoefficient == 0 {
		c.WidthCoefficient = 2.0
	}
	if c.DepthCoefficient == 0 {
		c.DepthCoefficient = 3.1
	}
	if c.DepthDivisor == 0 {
		c.DepthDivisor = 8
	}
	def(&c.KernelSizes, 3, 3, 5, 3, 5, 5, 3)
	def(&c.InChannels, 32, 16, 24, 40, 80, 112, 192)
	def(&c.OutChannels, 16, 24, 40, 80, 112, 192, 320)
	def(&c.Strides, 1, 2, 2, 2, 1, 2, 1)
	def(&c.NumBlockRepeats, 1, 2, 2, 3, 3, 4, 1)
	def(&c.ExpandRatios, 1, 6, 6, 6, 6, 6, 6)
	if c.SqueezeRatio == 0 {
		c.SqueezeRatio = 0.25
	}
	if c.HiddenAct == "" {
		c.HiddenAct = "swish"
	}
	if c.PoolingType == "" {
		c.PoolingType = "mean"
	}
	if c.BatchNormEps == 0 {
		c.BatchNormEps = 1e-3
	}
}

func (c *EfficientNetConfig) validate() error {
	c.defaults()
	n := len(c.InChannels)
	for _, l := range []struct {
		name string
		v    []int
	}{{"kernel_sizes", c.KernelSizes}, {"out_channels", c.OutChannels}, {"strides", c.Strides}, {"num_block_repeats", c.NumBlockRepeats}, {"expand_ratios", c.ExpandRatios}} {
		if len(l.v) != n {
			return fmt.Errorf("%s has %d entries, in_channels %d", l.name, len(l.v), n)
		}
		for _, x := range l.v {
			if x < 1 {
				return fmt.Errorf("%s: %d is not positive", l.name, x)
			}
		}
	}
	for i, k := range c.KernelSizes {
		if k%2 == 0 {
			return fmt.Errorf("kernel_sizes[%d] = %d: only odd kernels", i, k)
		}
		if c.Strides[i] > 2 {
			return fmt.Errorf("strides[%d] = %d: only strides 1 and 2", i, c.Strides[i])
		}
	}
	switch {
	case n == 0:
		return fmt.Errorf("in_channels is empty")
	case c.NumChannels != 3:
		return fmt.Errorf("num_channels %d: only RGB models", c.NumChannels)
	case c.WidthCoefficient <= 0 || c.DepthCoefficient <= 0 || c.DepthDivisor < 1 || c.SqueezeRatio <= 0:
		return fmt.Errorf("width_coefficient, depth_coefficient, depth_divisor and squeeze_expansion_ratio must be positive")
	case c.HiddenAct != "swish" && c.HiddenAct != "silu":
		return fmt.Errorf("hidden_act %q is not supported (swish)", c.HiddenAct)
	case c.PoolingType != "mean":
		return fmt.Errorf("pooling_type %q is not supported (mean)", c.PoolingType)
	case c.BatchNormEps < 0:
		return fmt.Errorf("batch_norm_eps %g is negative", c.BatchNormEps)
	}
	return nil
}

// roundFilters is EfficientNet's width scaling: channels·width rounded to
// the nearest multiple of depth_divisor, never 10% below.
func (c *EfficientNetConfig) roundFilters(ch int) int {
	d := float64(c.DepthDivisor)
	v := float64(ch) * c.WidthCoefficient
	n := math.Max(d, float64(int(v+d/2)/c.DepthDivisor*c.DepthDivisor))
	if n < 0.9*v {
		n += d
	}
	return int(n)
}

// roundRepeats is EfficientNet's depth scaling.
func (c *EfficientNetConfig) roundRepeats(r int) int {
	return int(math.Ceil(c.DepthCoefficient * float64(r)))
}

// OutDim is the width of the image embedding: the last stage's channels.
func (c *EfficientNetConfig) OutDim() int { return c.roundFilters(c.OutChannels[len(c.OutChannels)-1]) }

// BERTConfig is transformers' AlignTextConfig (BertConfig).
type BERTConfig struct {
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	IntermediateSize      int     `json:"intermediate_size"`
	HiddenAct             string  `json:"hidden_act"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TypeVocabSize         int     `json:"type_vocab_size"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	PositionEmbeddingType string  `json:"position_embedding_type"`
}

func (c *BERTConfig) validate() error {
	for _, d := range []struct {
		v   *int
		def int
	}{{&c.VocabSize, 30522}, {&c.HiddenSize, 768}, {&c.NumHiddenLayers, 12}, {&c.NumAttentionHeads, 12}, {&c.IntermediateSize, 3072}, {&c.MaxPositionEmbeddings, 512}, {&c.TypeVocabSize, 2}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.HiddenAct == "" {
		c.HiddenAct = "gelu"
	}
	if c.LayerNormEps == 0 {
		c.LayerNormEps = 1e-12
	}
	switch {
	case c.VocabSize < 1 || c.HiddenSize < 1 || c.NumHiddenLayers < 1 || c.IntermediateSize < 1 || c.MaxPositionEmbeddings < 2 || c.TypeVocabSize < 1:
		return fmt.Errorf("vocab_size, hidden_size, num_hidden_layers, intermediate_size, max_position_embeddings and type_vocab_size must be positive")
	case c.NumAttentionHeads < 1 || c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("hidden_size %d is not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.HiddenAct != "gelu":
		return fmt.Errorf("hidden_act %q is not supported (gelu)", c.HiddenAct)
	case c.PositionEmbeddingType != "" && c.PositionEmbeddingType != "absolute":
		return fmt.Errorf("position_embedding_type %q is not supported (absolute)", c.PositionEmbeddingType)
	}
	return nil
}

// EfficientNetPreprocess is EfficientNetImageProcessor's
// preprocessor_config.json: resize to a fixed size, optional centre crop,
// rescale (with rescale_offset: (v − 127.5)·factor), optional
// normalisation, and with include_top a second division by the std.
type EfficientNetPreprocess struct {
	Size struct {
		Height int `json:"height"`
		Width  int `json:"width"`
	} `json:"size"`
	CropSize struct {
		Height int `json:"height"`
		Width  int `json:"width"`
	} `json:"crop_size"`
	Resample     *int      `json:"resample"`
	DoResize     *bool     `json:"do_resize"`
	DoCenterCrop *bool     `json:"do_center_crop"`
	DoRescale    *bool     `json:"do_rescale"`
	RescaleScale *float64  `json:"rescale_factor"`
	Offset       bool      `json:"rescale_offset"`
	DoNormalize  *bool     `json:"do_normalize"`
	IncludeTop   *bool     `json:"include_top"`
	Mean         []float64 `json:"image_mean"`
	Std          []float64 `json:"image_std"`
}

// alignPixels is the resolved preprocessing: resize to resize×resize with
// filter, crop to side, then v·scale + shift per channel on 0–255 values.
type alignPixels struct {
	resize, side int
	filter       imageio.Filter
	scale, shift [3]float32
}

func resolveAlignPixels(p *EfficientNetPreprocess, path string) (alignPixels, error) {
	on := func(b *bool, def bool) bool {
		if b == nil {
			return def
		}
		return *b
	}
	if p.Size.Height == 0 && p.Size.Width == 0 {
		p.Size.Height, p.Size.Width = 346, 346
	}
	if p.CropSize.Height == 0 && p.CropSize.Width == 0 {
		p.CropSize.Height, p.CropSize.Width = 289, 289
	}
	if p.Size.Height != p.Size.Width || p.CropSize.Height != p.CropSize.Width {
		return alignPixels{}, fmt.Errorf("models: %s: size %v and crop_size %v must be square", path, p.Size, p.CropSize)
	}
	a := alignPixels{resize: p.Size.Height, side: p.Size.Height}
	if !on(p.DoResize, true) {
		return a, fmt.Errorf("models: %s: do_resize false is not supported (images of every size would reach the network)", path)
	}
	if on(p.DoCenterCrop, false) {
		a.side = p.CropSize.Height
	}
	if a.side < 32 || a.side > a.resize {
		return a, fmt.Errorf("models: %s: crop %d of a %d-pixel resize", path, a.side, a.resize)
	}
	resample := 0 // EfficientNetImageProcessor's default, PIL.Image.NEAREST
	if p.Resample != nil {
		resample = *p.Resample
	}
	f, err := imageio.PILFilter(resample)
	if err != nil {
		return a, fmt.Errorf("models: %s: %w", path, err)
	}
	a.filter = f
	mean, std := [3]float64{0.5, 0.5, 0.5}, [3]float64{0.5, 0.5, 0.5} // IMAGENET_STANDARD_MEAN/STD
	if len(p.Mean) == 3 {
		copy(mean[:], p.Mean)
	}
	if len(p.Std) == 3 {
		copy(std[:], p.Std)
	}
	factor := 1.0 / 255
	if p.RescaleScale != nil {
		factor = *p.RescaleScale
	}
	for c := 0; c < 3; c++ {
		sc, sh := 1.0, 0.0 // on 0–255 values
		if on(p.DoRescale, true) {
			sc = factor
			if p.Offset {
				sh = -127.5 * factor
			}
		}
		if on(p.DoNormalize, true) {
			if std[c] <= 0 {
				return a, fmt.Errorf("models: %s: image_std %v must be positive", path, p.Std)
			}
			sc, sh = sc/std[c], (sh-mean[c])/std[c]
		}
		if on(p.IncludeTop, true) {
			sc, sh = sc/std[c], sh/std[c]
		}
		a.scale[c], a.shift[c] = float32(sc), float32(sh)
	}
	return a, nil
}

// efficientNetGraph builds AlignVisionModel's pooled output (N, OutDim)
// for pixels x (N, 3, S, S): the stem (a stride-2 3×3 convolution after a
// bottom-right zero pad), the MBConv blocks (1×1 expansion, depthwise k×k,
// squeeze-and-excitation, 1×1 projection, a residual on every block but a
// stage's first), and the mean over positions. BatchNorm runs with its
// running statistics.
func efficientNetGraph(b *nn.Builder, c *EfficientNetConfig, x *G.Node) *G.Node {
	v := b.Scope("vision_model")
	eps := c.BatchNormEps
	stem := c.roundFilters(32)
	e := v.Scope("embeddings")
	h := e.ConvNoBias("convolution", e.PadBottomRight(x), stem, 3, 2, 0)
	h = e.SiLU(e.BatchNorm("batchnorm", h, eps))
	pad := map[int]bool{}
	for _, i := range c.DepthwisePadding {
		pad[i] = true
	}
	block := 0
	for i := range c.InChannels {
		in, out := c.roundFilters(c.InChannels[i]), c.roundFilters(c.OutChannels[i])
		k := c.KernelSizes[i]
		for j := 0; j < c.roundRepeats(c.NumBlockRepeats[i]); j++ {
			stride := c.Strides[i]
			if j > 0 {
				stride, in = 1, out
			}
			blk := v.Scopef("encoder.blocks.%d", block)
			res := h
			width := in
			if c.ExpandRatios[i] != 1 {
				width = in * c.ExpandRatios[i]
				ex := blk.Scope("expansion")
				h = ex.SiLU(ex.BatchNorm("expand_bn", ex.ConvNoBias("expand_conv", h, width, 1, 1, 0), eps))
			}
			dw := blk.Scope("depthwise_conv")
			p := k / 2 // "same" at stride 1; at stride 2 correct_pad's (k/2 − 1, k/2), or k/2 on both sides for the blocks in depthwise_padding
			if stride == 2 && !pad[block] {
				h, p = dw.PadBottomRight(h), k/2-1
			}
			h = dw.SiLU(dw.BatchNorm("depthwise_norm", dw.DepthwiseConv("depthwise_conv", h, k, stride, p), eps))
			se := blk.Scope("squeeze_excite")
			squeezed := max(1, int(float64(in)*c.SqueezeRatio))
			g := se.MeanPositions(h)
			g = se.SiLU(se.PointwiseLinear("reduce", g, squeezed))
			g = se.Sigmoid(se.PointwiseLinear("expand", g, width))
			h = se.ScaleChannel(h, g)
			pr := blk.Scope("projection")
			h = pr.BatchNorm("project_bn", pr.ConvNoBias("project_conv", h, out, 1, 1, 0), eps)
			if j > 0 { // transformers: stride 1 and not id_skip
				h = blk.Add(h, res)
			}
			block++
		}
	}
	return v.MeanPositions(h)
}

// bertGraph builds AlignTextModel's last hidden state (B·L, D) from the
// summed word, position and token-type embeddings emb (B·L, D)
// (bertEmbed) and the additive key mask (B·heads, L, L) of the padding:
// the embedding LayerNorm, then post-LayerNorm layers of self-attention
// and a GELU MLP.
func bertGraph(b *nn.Builder, c *BERTConfig, emb, mask *G.Node, batch, length int) *G.Node {
	t := b.Scope("text_model")
	d, eps := c.HiddenSize, c.LayerNormEps
	h := t.Scope("embeddings").LayerNormEps("LayerNorm", emb, eps)
	for i := 0; i < c.NumHiddenLayers; i++ {
		l := t.Scopef("encoder.layer.%d", i)
		sa := l.Scope("attention.self")
		q := sa.Linear("query", h, d, true)
		k := sa.Linear("key", h, d, true)
		v := sa.Linear("value", h, d, true)
		o := l.Scope("attention.output")
		h = o.LayerNormEps("LayerNorm", o.Add(o.Linear("dense", sa.MultiHead(q, k, v, batch, length, length, c.NumAttentionHeads, mask), d, true), h), eps)
		m := l.Linear("intermediate.dense", h, c.IntermediateSize, true)
		m = l.Activate(m, nn.GELU)
		out := l.Scope("output")
		h = out.LayerNormEps("LayerNorm", out.Add(out.Linear("dense", m, d, true), h), eps)
	}
	return h
}

// bertParams declares the embeddings in the store (bertEmbed reads them
// outside the graph).
func bertParams(store *nn.Store, c *BERTConfig) {
	store.Get("text_model.embeddings.word_embeddings.weight", []int{c.VocabSize, c.HiddenSize}, nn.Normal(0.02), c.VocabSize, c.HiddenSize)
	store.Get("text_model.embeddings.position_embeddings.weight", []int{c.MaxPositionEmbeddings, c.HiddenSize}, nn.Normal(0.02), c.MaxPositionEmbeddings, c.HiddenSize)
	store.Get("text_model.embeddings.token_type_embeddings.weight", []int{c.TypeVocabSize, c.HiddenSize}, nn.Normal(0.02), c.TypeVocabSize, c.HiddenSize)
}

// bertEmbed writes BERT's input for token ids (B·L, row after row; token
// type 0) into dst, and the attention mask of the padding (keys at and
// after lengths[i] get −1e30) into mask (B·heads, L, L).
func bertEmbed(store *nn.Store, c *BERTConfig, ids, lengths []int, length int, dst, mask []float32) error {
	we := store.Lookup("text_model.embeddings.word_embeddings.weight").Data().([]float32)
	pe := store.Lookup("text_model.embeddings.position_embeddings.weight").Data().([]float32)
	te := store.Lookup("text_model.embeddings.token_type_embeddings.weight").Data().([]float32)
	d := c.HiddenSize
	if length > c.MaxPositionEmbeddings {
		return fmt.Errorf("models: %d tokens, the text model has %d positions", length, c.MaxPositionEmbeddings)
	}
	for r, id := range ids {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("models: token id %d outside the text model's %d", id, c.VocabSize)
		}
		p := r % length
		for j := 0; j < d; j++ {
			dst[r*d+j] = we[id*d+j] + pe[p*d+j] + te[j]
		}
	}
	heads := c.NumAttentionHeads
	for i, n := range lengths {
		for hd := 0; hd < heads; hd++ {
			m := mask[(i*heads+hd)*length*length : (i*heads+hd+1)*length*length]
			for q := 0; q < length; q++ {
				for k := 0; k < length; k++ {
					m[q*length+k] = 0
					if k >= n {
						m[q*length+k] = -1e30
					}
				}
			}
		}
	}
	return nil
}

// alignModel is what an ALIGN directory adds to hfEncoder.
type alignModel struct {
	vision EfficientNetConfig
	text   BERTConfig
	pix    alignPixels
	wp     *text.WordPiece
}

// loadAlignConfig reads an AlignModel's config.json, its
// preprocessor_config.json and its tokenizer.
func loadAlignConfig(dir string, vision, txt json.RawMessage, proj int) (*alignModel, error) {
	cfgPath := filepath.Join(dir, "config.json")
	a := &alignModel{}
	if len(vision) > 0 {
		if err := json.Unmarshal(vision, &a.vision); err != nil {
			return nil, fmt.Errorf("models: %s: vision_config: %w", cfgPath, err)
		}
	}
	if err := a.vision.validate(); err != nil {
		return nil, fmt.Errorf("models: %s: vision_config: %w", cfgPath, err)
	}
	if len(txt) > 0 {
		if err := json.Unmarshal(txt, &a.text); err != nil {
			return nil, fmt.Errorf("models: %s: text_config: %w", cfgPath, err)
		}
	}
	if err := a.text.validate(); err != nil {
		return nil, fmt.Errorf("models: %s: text_config: %w", cfgPath, err)
	}
	if proj != a.vision.OutDim() {
		return nil, fmt.Errorf("models: %s: projection_dim %d differs from the image tower's width %d (ALIGN compares them directly)", cfgPath, proj, a.vision.OutDim())
	}
	var pp EfficientNetPreprocess
	ppPath := filepath.Join(dir, "preprocessor_config.json")
	if fileExists(ppPath) {
		if err := readJSON(ppPath, &pp); err != nil {
			return nil, err
		}
	} else { // transformers' convert_align_tf_to_hf processor
		t, f, bil := true, false, 2
		s := 1 / 127.5
		pp = EfficientNetPreprocess{DoCenterCrop: &t, RescaleScale: &s, Offset: true, DoNormalize: &f, IncludeTop: &f, Resample: &bil}
	}
	pix, err := resolveAlignPixels(&pp, ppPath)
	if err != nil {
		return nil, err
	}
	a.pix = pix
	wp, err := text.LoadWordPiece(dir)
	if err != nil {
		return nil, fmt.Errorf("models: %s: %w", dir, err)
	}
	if wp.Size() > a.text.VocabSize {
		return nil, fmt.Errorf("models: %s: vocab.txt has %d tokens, text_config.vocab_size %d", dir, wp.Size(), a.text.VocabSize)
	}
	wp.MaxLen = min(wp.MaxLen, a.text.MaxPositionEmbeddings)
	a.wp = wp
	return a, nil
}

// pixels writes ALIGN's input for a square image into dst (3·S·S).
func (a *alignModel) pixels(img *image.RGBA, dst []float32) {
	big := imageio.ResizeWith(img, a.pix.resize, a.pix.filter)
	off := (a.pix.resize - a.pix.side) / 2 // transformers' center_crop: top = (H − h) // 2
	s := a.pix.side
	per := s * s
	for y := 0; y < s; y++ {
		for x := 0; x < s; x++ {
			i := big.PixOffset(x+off, y+off)
			for c := 0; c < 3; c++ {
				dst[c*per+y*s+x] = float32(big.Pix[i+c])*a.pix.scale[c] + a.pix.shift[c]
			}
		}
	}
}
