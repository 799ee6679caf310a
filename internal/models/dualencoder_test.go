package models

import (
	"fmt"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/text"
)

func TestContrastiveLossHandChecked(t *testing.T) {
	// two orthonormal pairs that match: logits diag 1/τ, off-diagonal 0;
	// each CE = −log(e^{1/τ}/(e^{1/τ}+1)) = log(1 + e^{−1/τ})
	tau := 0.5
	b := nn.NewBuilder(nn.NewStore(tensor.Float64, 1), nil)
	a := b.Constant("a", []float64{1, 0, 0, 1}, 2, 2)
	c := b.Constant("c", []float64{1, 0, 0, 1}, 2, 2)
	var loss *G.Node
	if err := nn.Build(func() { loss = ContrastiveLoss(b, a, c, tau) }); err != nil {
		t.Fatal(err)
	}
	p, err := nn.Compile(b, loss, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Run()
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Log(1 + math.Exp(-1/tau)); math.Abs(got-want) > 1e-12 {
		t.Fatalf("loss %.15f, want %.15f", got, want)
	}
}

func TestDualEncoderGrad(t *testing.T) {
	tk := text.NewTokenizer(4)
	tc := text.EncoderConfig{Vocab: tk.Size(), MaxLen: 4, Width: 4, Layers: 1, Heads: 2}
	c := EncoderConfig{Channels: []int{4, 4}, Groups: 2, Embed: 3, Text: &tc, Temperature: 0.2}
	oh := make([]float32, 2*4*tk.Size())
	ids := append(append([]int{}, mustIDs(tk, "a dog")...), mustIDs(tk, "a red can")...)
	text.OneHot(ids, tk.Size(), oh)
	ohv := make([]float64, len(oh))
	for i, v := range oh {
		ohv[i] = float64(v)
	}
	for _, v := range []struct {
		stem int
		pool string
	}{{1, ""}, {2, ""}, {2, "meanmax"}} { // 3×3 at full resolution; the 4×4 stride-2 patchifying stem; mean and max pooling
		c.Stem, c.Pool = v.stem, v.pool
		stem := fmt.Sprintf("%d, pool %q", v.stem, v.pool)
		img := nn.RandN(tensor.Float64, 3, 2, 3, 8, 8)
		res, err := nn.GradCheck(nil, []*tensor.Dense{img}, 1e-6, func(b *nn.Builder, xs G.Nodes) *G.Node {
			onehot := b.Constant("onehot", ohv, 2*4, tk.Size())
			return ContrastiveLoss(b, ImageEmbedding(b, c, xs[0]), TextEmbedding(b, c, onehot, 2), c.Temperature)
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.MaxRelErr > 1e-6 {
			t.Fatalf("dual encoder (stem %s) gradient %.3g at %s", stem, res.MaxRelErr, res.Where)
		}
	}
}

func mustIDs(tk *text.Tokenizer, s string) []int {
	ids, _, _ := tk.Encode(s)
	return ids
}
