package text

import (
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/nn"
)

func TestTokenizer(t *testing.T) {
	tk := NewTokenizer(16)
	ids, unknown, trunc := tk.Encode("A sks dog on the beach, in Vincent Van Gogh rendition!")
	if len(unknown) != 0 || trunc {
		t.Fatalf("unknown %v truncated %v", unknown, trunc)
	}
	if ids[0] != BOS || tk.Decode(ids[1:]) != "a sks dog on the beach in vincent van gogh rendition" {
		t.Fatalf("%v → %q", ids, tk.Decode(ids[1:]))
	}
	if ids[12] != EOS || ids[13] != Pad {
		t.Fatalf("%v", ids)
	}
	_, unknown, _ = tk.Encode("a dog on Mars with a laser")
	if strings.Join(unknown, ",") != "mars,laser" {
		t.Errorf("unknown words %v", unknown)
	}
	_, _, trunc = tk.Encode(strings.Repeat("dog ", 20))
	if !trunc {
		t.Error("long prompt not reported as truncated")
	}
	// every identifier and every world word has an id of its own
	seen := map[int]bool{}
	for _, w := range append(append([]string{}, Identifiers...), "stuffed", "animal", "eiffel", "checkered") {
		id, _, _ := tk.Encode(w)
		if id[1] <= Unk || seen[id[1]] {
			t.Errorf("word %q: id %d", w, id[1])
		}
		seen[id[1]] = true
	}
}

func TestEncoderGrad(t *testing.T) {
	c := EncoderConfig{Vocab: 7, MaxLen: 3, Width: 4, Layers: 1, Heads: 2}
	oh := make([]float32, 2*3*7)
	OneHot([]int{1, 4, 2, 1, 5, 6}, 7, oh)
	ohv := make([]float64, len(oh))
	for i, v := range oh {
		ohv[i] = float64(v)
	}
	res, err := nn.GradCheck(nil, []*tensor.Dense{tensor.New(tensor.WithShape(6, 7), tensor.WithBacking(ohv))}, 1e-6, func(b *nn.Builder, xs G.Nodes) *G.Node {
		y := Encode(b, c, xs[0], 2)
		s, err := nn.WeightedSum(b.G, y, 2)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRelErr > 1e-6 {
		t.Fatalf("text encoder gradient %.3g at %s", res.MaxRelErr, res.Where)
	}
}
