package models

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/text"
)

// EncoderConfig is an embedding model: a convolutional image tower and,
// for the dual encoders (align-mini, clip-mini), a transformer text tower,
// each projected to a shared, L2-normalised space of width Embed. dino-mini
// has the image tower only.
type EncoderConfig struct {
	Name        string              `yaml:"name"`        // align-mini, clip-mini, dino-mini
	Channels    []int               `yaml:"channels"`    // image tower: one ResBlock per level, stride-2 convolutions between
	Groups      int                 `yaml:"groups"`      // GroupNorm groups
	Pool        string              `yaml:"pool"`        // global pooling before the projection: "mean" (default) or "meanmax" (mean and max concatenated: small objects on large backgrounds keep their features)
	Stem        int                 `yaml:"stem"`        // stride of conv_in (2: a 4×4 patchifying convolution to half resolution, as ViTs patchify; 0 or 1: 3×3 at full resolution)
	Embed       int                 `yaml:"embed"`       // shared embedding width
	Text        *text.EncoderConfig `yaml:"text"`        // nil for an image-only model
	Temperature float64             `yaml:"temperature"` // τ of the contrastive logits
}

// ImageEmbedding builds the L2-normalised embeddings (B, Embed) of images
// x (B, 3, S, S) in [−1, 1]: conv_in (strided when Stem > 1), per level a ResBlock (and a stride-2
// convolution before every level but the first), GroupNorm+SiLU, global
// average pooling (and global max pooling beside it when Pool is
// "meanmax"), a linear projection.
func ImageEmbedding(b *nn.Builder, c EncoderConfig, x *G.Node) *G.Node {
	s := b.Scope("image")
	var h *G.Node
	if c.Stem > 1 {
		h = s.Conv("conv_in", x, c.Channels[0], 2*c.Stem, c.Stem, c.Stem/2)
	} else {
		h = s.Conv("conv_in", x, c.Channels[0], 3, 1, 1)
	}
	for i, ch := range c.Channels {
		l := s.Scopef("levels.%d", i)
		if i > 0 {
			h = l.Conv("downsample", h, ch, 3, 2, 1)
		}
		h = l.ResBlock("res", h, nil, ch, c.Groups)
	}
	h = s.GroupNorm("norm_out", h, c.Groups, true)
	hs := h.Shape()
	n, ch := hs[0], hs[1]
	pooled := s.Reshape(must(G.Mean(s.Reshape(h, n*ch, hs[2]*hs[3]), 1)), n, ch)
	if c.Pool == "meanmax" {
		mx := must(G.MaxPool2D(h, tensor.Shape{hs[2], hs[3]}, []int{0, 0}, []int{hs[2], hs[3]})) // (n, ch, 1, 1)
		pooled = s.Reshape(must(nn.ConcatChannels(s.Reshape(pooled, n, ch, 1, 1), mx)), n, 2*ch)
	}
	return L2Normalize(s, s.Linear("proj", pooled, c.Embed, false))
}

// TextEmbedding builds the L2-normalised embeddings (B, Embed) of prompts
// given as one-hot rows (B·MaxLen, Vocab): the text encoder's state at the
// first token (<bos>, which attends to every token) through a linear
// projection.
func TextEmbedding(b *nn.Builder, c EncoderConfig, onehot *G.Node, batch int) *G.Node {
	tc := *c.Text
	states := text.Encode(b, tc, onehot, batch) // (B, L, W)
	flat := b.Reshape(states, batch*tc.MaxLen, tc.Width)
	sel := make([]float64, batch*batch*tc.MaxLen) // picks row i·L of flat for output i
	for i := 0; i < batch; i++ {
		sel[i*batch*tc.MaxLen+i*tc.MaxLen] = 1
	}
	first := must(G.Mul(b.Constant("bos_select", sel, batch, batch*tc.MaxLen), flat))
	return L2Normalize(b, b.Scope("text").Linear("proj", first, c.Embed, false))
}

// L2Normalize divides each row of x (B, D) by its Euclidean norm (+1e-12).
func L2Normalize(b *nn.Builder, x *G.Node) *G.Node {
	sq := must(G.Sum(must(G.Square(x)), 1))
	inv := must(G.Pow(must(G.Add(sq, b.Scalar(1e-12))), b.Scalar(-0.5)))
	return must(G.BroadcastHadamardProd(x, inv, nil, []byte{1}))
}

// ContrastiveLoss is the symmetric InfoNCE loss of CLIP and ALIGN for
// matched rows of a and b (both (B, D), L2-normalised): logits = a·bᵀ/τ,
// loss = ½·(CE(logits, diag) + CE(logitsᵀ, diag)).
func ContrastiveLoss(b *nn.Builder, a, c *G.Node, tau float64) *G.Node {
	n := a.Shape()[0]
	logits := must(G.Mul(must(G.Mul(a, must(G.Transpose(c)))), b.Scalar(1/tau)))
	eye := make([]float64, n*n)
	for i := 0; i < n; i++ {
		eye[i*n+i] = 1
	}
	id := b.Constant("contrastive_eye", eye, n, n)
	ce := func(l *G.Node) *G.Node {
		ls := must(G.LogSoftMax(l, 1))
		picked := b.Reshape(must(G.HadamardProd(ls, id)), n*n)
		return must(G.Mul(must(G.Sum(picked)), b.Scalar(-1/float64(n))))
	}
	return must(G.Mul(must(G.Add(ce(logits), ce(must(G.Transpose(logits))))), b.Scalar(0.5)))
}

func must(n *G.Node, err error) *G.Node {
	if err != nil {
		panic(nn.BuildError{Err: err})
	}
	return n
}

// AlignMini, ClipMini and DinoMini are the three embedding models: two dual
// encoders of different architectures (trained separately, with other
// seeds, as ALIGN and CLIP are different models) and an image-only
// identity encoder.
func AlignMini(tk *text.Tokenizer) EncoderConfig {
	tc := text.EncoderConfig{Vocab: tk.Size(), MaxLen: tk.MaxLen, Width: 128, Layers: 2, Heads: 4}
	return EncoderConfig{Name: "align-mini", Channels: []int{32, 64, 128}, Groups: 8, Stem: 2, Pool: "meanmax", Embed: 128, Text: &tc, Temperature: 0.07}
}

// ClipMini: a narrower image tower, a narrower text tower and a smaller
// shared space than align-mini. (A deeper image tower was tried first, four
// levels down to 4×4, and a 3-layer text tower: after 1000 steps it was at
// chance on class and its text tower ignored class and colour words.)
func ClipMini(tk *text.Tokenizer) EncoderConfig {
	tc := text.EncoderConfig{Vocab: tk.Size(), MaxLen: tk.MaxLen, Width: 96, Layers: 2, Heads: 4}
	return EncoderConfig{Name: "clip-mini", Channels: []int{24, 48, 96}, Groups: 8, Stem: 2, Pool: "meanmax", Embed: 96, Text: &tc, Temperature: 0.07}
}

// DinoMini: image only.
func DinoMini() EncoderConfig {
	return EncoderConfig{Name: "dino-mini", Channels: []int{32, 64, 128, 128}, Groups: 8, Stem: 2, Pool: "meanmax", Embed: 128, Temperature: 0.1}
}
