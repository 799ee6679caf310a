package nn

import (
	"math"
	"runtime"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func weighted(b *Builder, y *G.Node) *G.Node { return b.check("weighted")(WeightedSum(b.G, y, 11)) }

func TestLayerGrads(t *testing.T) {
	cases := []struct {
		name   string
		inputs []*tensor.Dense
		build  func(b *Builder, xs G.Nodes) *G.Node
	}{
		{"linear", []*tensor.Dense{randn(1, 3, 4)}, func(b *Builder, xs G.Nodes) *G.Node {
			return weighted(b, b.Linear("fc", xs[0], 5, true))
		}},
		{"conv", []*tensor.Dense{randn(1, 2, 3, 4, 4)}, func(b *Builder, xs G.Nodes) *G.Node {
			return weighted(b, b.Conv("conv", xs[0], 2, 3, 2, 1))
		}},
		{"layernorm", []*tensor.Dense{randn(1, 3, 6)}, func(b *Builder, xs G.Nodes) *G.Node {
			return weighted(b, b.LayerNorm("ln", xs[0]))
		}},
		{"self-attention", []*tensor.Dense{randn(1, 2, 3, 4)}, func(b *Builder, xs G.Nodes) *G.Node {
			return weighted(b, b.Attention("attn", xs[0], nil, 2))
		}},
		{"cross-attention", []*tensor.Dense{randn(1, 2, 3, 4), randn(2, 2, 5, 6)}, func(b *Builder, xs G.Nodes) *G.Node {
			return weighted(b, b.Attention("attn", xs[0], xs[1], 2))
		}},
		{"resblock", []*tensor.Dense{randn(1, 2, 4, 3, 3), randn(2, 2, 6)}, func(b *Builder, xs G.Nodes) *G.Node {
			return weighted(b, b.ResBlock("res", xs[0], xs[1], 6, 2))
		}},
		{"attnblock", []*tensor.Dense{randn(1, 2, 4, 2, 3), randn(2, 2, 3, 5)}, func(b *Builder, xs G.Nodes) *G.Node {
			return weighted(b, b.AttnBlock("tf", xs[0], xs[1], 2, 2))
		}},
		{"mse", []*tensor.Dense{randn(1, 2, 3), randn(2, 2, 3)}, func(b *Builder, xs G.Nodes) *G.Node {
			return b.MSE(xs[0], xs[1])
		}},
		{"weighted mse", []*tensor.Dense{randn(1, 2, 3), randn(2, 2, 3), randn(3, 2, 3)}, func(b *Builder, xs G.Nodes) *G.Node {
			weighted, _ := b.WeightedMSE(xs[0], xs[1], xs[2])
			return weighted
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkLayerGrad(t, c.name, nil, c.inputs, c.build) })
	}
}

// TestStockOpsGrads checks the stock compositions against finite differences
// too, so that the owned-vs-stock comparison compares two checked things.
func TestStockOpsGrads(t *testing.T) {
	inputs := []*tensor.Dense{randn(1, 2, 4, 3, 3), randn(2, 2, 6)}
	res, err := GradCheck(nil, inputs, 1e-6, func(b *Builder, xs G.Nodes) *G.Node {
		b.Ops = Stock{}
		h := b.ResBlock("res", xs[0], xs[1], 6, 2)
		return weighted(b, b.Upsample2x(h))
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRelErr > gradTol {
		t.Errorf("stock resblock: %.3g at %s", res.MaxRelErr, res.Where)
	}
}

func TestTimestepEmbedding(t *testing.T) {
	e := TimestepEmbedding([]float64{0, 10}, 4)
	// ω = (1, 10000^-0.5 = 0.01); t=0: cos 1,1 sin 0,0; t=10: cos(10), cos(0.1), sin(10), sin(0.1)
	want := []float64{1, 1, 0, 0, math.Cos(10), math.Cos(0.1), math.Sin(10), math.Sin(0.1)}
	for i := range want {
		if math.Abs(e[i]-want[i]) > 1e-12 {
			t.Fatalf("element %d: got %g want %g", i, e[i], want[i])
		}
	}
}

func TestStoreInitIndependentOfOrder(t *testing.T) {
	a, b := NewStore(tensor.Float32, 7), NewStore(tensor.Float32, 7)
	a.Get("x.weight", []int{3, 3}, KaimingUniform, 3, 3)
	a.Get("y.weight", []int{2}, KaimingUniform, 3, 3)
	b.Get("y.weight", []int{2}, KaimingUniform, 3, 3)
	b.Get("x.weight", []int{3, 3}, KaimingUniform, 3, 3)
	for _, n := range a.Names() {
		x, y := Float64s(a.Lookup(n)), Float64s(b.Lookup(n))
		for i := range x {
			if x[i] != y[i] {
				t.Fatalf("%s differs with creation order", n)
			}
		}
	}
	if a.Count() != 11 || a.Len() != 2 {
		t.Errorf("count %d len %d", a.Count(), a.Len())
	}
}

// A closed program is garbage: compiling and dropping programs does not
// grow the heap (gorgonia's tape-machine finalizer used to pin each one,
// with the values of its last run, for the life of the process).
func TestClosedProgramsAreCollected(t *testing.T) {
	var ms runtime.MemStats
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	run := func() {
		b := NewBuilder(NewStore(tensor.Float32, 1), nil)
		x, _ := b.InputData("x", 1<<20) // 4 MB, and as much again for each value of the run
		y := G.Must(G.Square(x))
		p, err := Compile(b, G.Must(G.Sum(y)), false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Run(); err != nil {
			t.Fatal(err)
		}
		p.Close()
	}
	run()
	before := heap()
	for i := 0; i < 10; i++ {
		run()
	}
	if grown := int64(heap()) - int64(before); grown > 16<<20 {
		t.Errorf("the heap grew by %d MB over 10 closed programs of ~12 MB each", grown>>20)
	}
}

func TestWeightedMSEHandChecked(t *testing.T) {
	b := NewBuilder(NewStore(tensor.Float64, 1), nil)
	val := func(name string, v ...float64) *G.Node {
		return G.NewTensor(b.G, tensor.Float64, 1, G.WithShape(len(v)), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(v))))
	}
	var loss, plain *G.Node
	if err := Build(func() { loss, plain = b.WeightedMSE(val("a", 1, 2), val("y", 0, 0), val("w", 0.5, 2)) }); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(b.G)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	// (0.5·1² + 2·2²)/2 = 4.25
	if got := loss.Value().Data().(float64); math.Abs(got-4.25) > 1e-12 {
		t.Fatalf("weighted MSE %g, want 4.25", got)
	}
	// (1² + 2²)/2 = 2.5
	if got := plain.Value().Data().(float64); math.Abs(got-2.5) > 1e-12 {
		t.Fatalf("plain MSE %g, want 2.5", got)
	}
}
