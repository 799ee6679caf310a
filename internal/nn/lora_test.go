package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestLoRA checks the adapter's gradients (float64, down and up nonzero),
// that an adapter starts as the identity change (up = 0), and that
// MergeLoRA's weights give the adapted layer's outputs.
func TestLoRA(t *testing.T) {
	lora := &LoRA{Rank: 2, Alpha: 3, Targets: []string{"to_q"}, Under: "unet."}
	store := NewStore(tensor.Float64, 4)
	build := func(b *Builder, xs G.Nodes) *G.Node {
		b.LoRA = lora
		y := b.Scope("unet.attn").Linear("to_q", xs[0], 5, true)
		y2 := b.Scope("unet.attn").Linear("to_k", xs[0], 5, true) // not a target
		s, _ := G.Add(y, y2)
		out, _ := WeightedSum(b.G, s, 9)
		return out
	}
	// nonzero up so that every gradient path is exercised
	b0 := NewBuilder(store, nil)
	build(b0, G.Nodes{b0.Input("x0", 3, 4)})
	for _, n := range store.Names() {
		if IsLoRAParam(n) {
			copy(store.Lookup(n).Data().([]float64), RandN(tensor.Float64, 7, store.Lookup(n).Shape()...).Data().([]float64))
		}
	}
	if store.Lookup("unet.attn.to_k.lora.down.weight") != nil || store.Lookup("unet.attn.to_q.lora.up.weight") == nil {
		t.Fatalf("adapters: %v", store.Names())
	}
	checkLayerGrad(t, "lora", store, []*tensor.Dense{randn(3, 3, 4)}, build)

	// merged weights compute what the adapted layer computes
	x := RandN(tensor.Float64, 5, 3, 4)
	run := func(s *Store, withLoRA bool) []float64 {
		b := NewBuilder(s, nil)
		if withLoRA {
			b.LoRA = lora
		}
		xn := b.Input("x", 3, 4)
		G.Let(xn, x)
		y := b.Scope("unet.attn").Linear("to_q", xn, 5, true)
		var v G.Value
		G.Read(y, &v)
		p, err := Compile(b, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Run(); err != nil {
			t.Fatal(err)
		}
		return append([]float64(nil), v.Data().([]float64)...)
	}
	want := run(store, true)
	merged, err := MergeLoRA(store, lora.Scale(), 1)
	if err != nil {
		t.Fatal(err)
	}
	got := run(merged, false)
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("merged %v, adapted %v", got, want)
		}
	}
	if base := run(store, false); math.Abs(base[0]-want[0]) < 1e-9 {
		t.Errorf("the adapter changed nothing")
	}
}
