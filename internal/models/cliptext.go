package models

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/rpo-dev/rpo/internal/nn"
)

// CLIPTextConfig is transformers' CLIPTextConfig (text_encoder/config.json).
type CLIPTextConfig struct {
	HiddenSize            int     `json:"hidden_size"`
	IntermediateSize      int     `json:"intermediate_size"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	VocabSize             int     `json:"vocab_size"`
	HiddenAct             string  `json:"hidden_act"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
}

// Validate fills transformers' defaults and refuses what cannot be built.
func (c *CLIPTextConfig) Validate() error {
	if c.HiddenAct == "" {
		c.HiddenAct = "quick_gelu"
	}
	if c.LayerNormEps == 0 {
		c.LayerNormEps = 1e-5
	}
	if c.MaxPositionEmbeddings == 0 {
		c.MaxPositionEmbeddings = 77
	}
	switch {
	case c.HiddenSize < 1 || c.IntermediateSize < 1 || c.NumHiddenLayers < 1 || c.VocabSize < 1:
		return fmt.Errorf("hidden_size, intermediate_size, num_hidden_layers and vocab_size must be positive")
	case c.NumAttentionHeads < 1 || c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("hidden_size %d is not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.HiddenAct != "quick_gelu" && c.HiddenAct != "gelu":
		return fmt.Errorf("hidden_act %q is not supported (quick_gelu or gelu)", c.HiddenAct)
	}
	return nil
}

// CLIPText builds CLIPTextModel's last hidden state (B, L, D) from the
// token embeddings plus position embeddings emb (B·L, D) (CLIPTextEmbed):
// pre-LayerNorm blocks of causal self-attention and an MLP, then
// final_layer_norm, what Stable Diffusion conditions on.
func CLIPText(b *nn.Builder, c *CLIPTextConfig, emb *G.Node, batch, length int) *G.Node {
	t := b.Scope("text_model")
	d := c.HiddenSize
	mask := make([]float64, batch*c.NumAttentionHeads*length*length)
	for i := 0; i < batch*c.NumAttentionHeads; i++ {
		for q := 0; q < length; q++ {
			for k := q + 1; k < length; k++ {
				mask[(i*length+q)*length+k] = -1e30 // a token attends to itself and those before it
			}
		}
	}
	causal := b.Constant(fmt.Sprintf("causal-mask-%dx%d", batch, length), mask, batch*c.NumAttentionHeads, length, length)
	h := emb
	for i := 0; i < c.NumHiddenLayers; i++ {
		l := t.Scopef("encoder.layers.%d", i)
		a := l.LayerNormEps("layer_norm1", h, c.LayerNormEps)
		sa := l.Scope("self_attn")
		q := sa.Linear("q_proj", a, d, true)
		k := sa.Linear("k_proj", a, d, true)
		v := sa.Linear("v_proj", a, d, true)
		h = l.Add(h, sa.Linear("out_proj", sa.MultiHead(q, k, v, batch, length, length, c.NumAttentionHeads, causal), d, true))
		m := l.Linear("mlp.fc1", l.LayerNormEps("layer_norm2", h, c.LayerNormEps), c.IntermediateSize, true)
		m = l.Linear("mlp.fc2", l.Activate(m, nn.Activation(c.HiddenAct)), d, true)
		h = l.Add(h, m)
	}
	h = t.LayerNormEps("final_layer_norm", h, c.LayerNormEps)
	return b.Reshape(h, batch, length, d)
}

// CLIPTextEmbed writes the input of CLIPText for token ids (B·L, row after
// row) into dst (B·L·D): token embedding plus position embedding, from the
// store's text_model.embeddings.* tensors.
func CLIPTextEmbed(store *nn.Store, c *CLIPTextConfig, ids []int, length int, dst []float32) error {
	tok := store.Lookup("text_model.embeddings.token_embedding.weight")
	pos := store.Lookup("text_model.embeddings.position_embedding.weight")
	if tok == nil || pos == nil {
		return fmt.Errorf("models: the text encoder has no token or position embedding")
	}
	te, pe := tok.Data().([]float32), pos.Data().([]float32)
	d := c.HiddenSize
	for r, id := range ids {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("models: token id %d outside the text encoder's %d", id, c.VocabSize)
		}
		p := r % length
		for j := 0; j < d; j++ {
			dst[r*d+j] = te[id*d+j] + pe[p*d+j]
		}
	}
	return nil
}

// clipTextParams declares the embeddings in the store (CLIPText reads them
// outside the graph).
func clipTextParams(store *nn.Store, c *CLIPTextConfig) {
	store.Get("text_model.embeddings.token_embedding.weight", []int{c.VocabSize, c.HiddenSize}, nn.Normal(0.02), c.VocabSize, c.HiddenSize)
	store.Get("text_model.embeddings.position_embedding.weight", []int{c.MaxPositionEmbeddings, c.HiddenSize}, nn.Normal(0.01), c.MaxPositionEmbeddings, c.HiddenSize)
}
