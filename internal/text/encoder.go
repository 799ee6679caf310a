package text

import (
	G "gorgonia.org/gorgonia"

	"github.com/rpo-dev/rpo/internal/nn"
)

// EncoderConfig is the text transformer.
type EncoderConfig struct {
	Vocab  int `yaml:"vocab"`   // token ids (Tokenizer.Size)
	MaxLen int `yaml:"max_len"` // tokens per prompt
	Width  int `yaml:"width"`   // model width = cross-attention context width
	Layers int `yaml:"layers"`
	Heads  int `yaml:"heads"`
}

// Encode builds the token states (B, MaxLen, Width) of the id sequences
// given as one-hot rows onehot (B·MaxLen, Vocab): token and position
// embeddings, Layers pre-LayerNorm blocks (self-attention, then an MLP of
// width 4·Width with SiLU), a final LayerNorm. Every token attends to every
// token (padding included: its embedding is learnt), as CLIP's text model
// without the causal mask.
func Encode(b *nn.Builder, c EncoderConfig, onehot *G.Node, batch int) *G.Node {
	s := b.Scope("text")
	emb := s.Param("token_embedding", []int{c.Vocab, c.Width}, nn.Normal(0.02), c.Vocab, c.Width)
	pos := s.Param("position_embedding", []int{c.MaxLen, c.Width}, nn.Normal(0.01), c.MaxLen, c.Width)
	h := must(G.Mul(onehot, emb)) // (B·L, W)
	posAll := s.Reshape(must(G.Concat(0, repeat(pos, batch)...)), batch*c.MaxLen, c.Width)
	h = s.Add(h, posAll)
	for i := 0; i < c.Layers; i++ {
		l := s.Scopef("layers.%d", i)
		a := l.Attention("attn", l.Reshape(l.LayerNorm("norm1", h), batch, c.MaxLen, c.Width), nil, c.Heads)
		h = l.Add(h, l.Reshape(a, batch*c.MaxLen, c.Width))
		m := l.Linear("mlp.fc1", l.LayerNorm("norm2", h), 4*c.Width, true)
		m = l.Linear("mlp.fc2", l.SiLU(m), c.Width, true)
		h = l.Add(h, m)
	}
	h = s.LayerNorm("final_norm", h)
	return s.Reshape(h, batch, c.MaxLen, c.Width)
}

func repeat(n *G.Node, k int) []*G.Node {
	out := make([]*G.Node, k)
	for i := range out {
		out[i] = n
	}
	return out
}

func must(n *G.Node, err error) *G.Node {
	if err != nil {
		panic(nn.BuildError{Err: err})
	}
	return n
}

// OneHot writes the one-hot rows of ids (B·MaxLen ids) into dst
// (B·MaxLen, vocab), zeroing it first.
func OneHot(ids []int, vocab int, dst []float32) {
	clear(dst)
	for i, id := range ids {
		dst[i*vocab+id] = 1
	}
}

// DefaultEncoder is the embedded text encoder: width 128, 2 layers, 4 heads.
func DefaultEncoder(t *Tokenizer) EncoderConfig {
	return EncoderConfig{Vocab: t.Size(), MaxLen: t.MaxLen, Width: 128, Layers: 2, Heads: 4}
}
