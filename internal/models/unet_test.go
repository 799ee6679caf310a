package models

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/nn"
)

func tinyUNet() UNetConfig {
	return UNetConfig{InChannels: 2, OutChannels: 2, Channels: []int{4, 8}, Groups: 2, Heads: 2, TimeDim: 8, ContextDim: 6}
}

type denoiseStep = RegressionStep

func newDenoiseStep(t testing.TB, store *nn.Store, c UNetConfig, ops nn.Ops, batch, res, ctxLen int, seed uint64, train bool) *denoiseStep {
	t.Helper()
	s, err := NewRegressionStep(store, c, ops, RegressionShape{Batch: batch, Resolution: res, ContextLen: ctxLen, Seed: seed}, train)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestModelAParameterCount(t *testing.T) {
	store := nn.NewStore(tensor.Float32, 1)
	newDenoiseStep(t, store, ModelA(), nil, 1, 8, 1, 1, false)
	n := store.Count()
	t.Logf("Model A: %d parameters in %d tensors", n, store.Len())
	if n < 1_000_000 || n > 1_150_000 {
		t.Errorf("Model A has %d parameters, want about 1.07 M", n)
	}
}

// TestUNetStockVsOwned builds one U-Net from owned operators and from stock
// gorgonia operators (with the GORGONIA.md fixes) on the same float64
// parameters: the loss and every gradient must agree.
func TestUNetStockVsOwned(t *testing.T) {
	store := nn.NewStore(tensor.Float64, 5)
	own := newDenoiseStep(t, store, tinyUNet(), nn.Owned{}, 2, 8, 3, 9, true)
	stock := newDenoiseStep(t, store, tinyUNet(), nn.Stock{}, 2, 8, 3, 9, true)
	lo, err := own.Program.Run()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := stock.Program.Run()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(lo-ls) > 1e-12*math.Abs(lo) {
		t.Fatalf("loss: owned %.17g, stock %.17g", lo, ls)
	}
	go_, gs := own.Program.Grads(), stock.Program.Grads()
	if len(go_) != len(gs) || len(go_) != store.Len() {
		t.Fatalf("%d owned gradients, %d stock, %d parameters", len(go_), len(gs), store.Len())
	}
	for name, g := range go_ {
		a, b := nn.Float64s(g), nn.Float64s(gs[name])
		for i := range a {
			if math.Abs(a[i]-b[i]) > 1e-10*math.Max(1, math.Abs(a[i])) {
				t.Fatalf("%s[%d]: owned %g, stock %g", name, i, a[i], b[i])
			}
		}
	}
}

// TestUNetGradCheck checks the whole tiny U-Net against finite differences.
func TestUNetGradCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-model finite differences")
	}
	c := tinyUNet()
	c.Channels = []int{2, 4}
	inputs := []*tensor.Dense{
		nn.RandN(tensor.Float64, 1, 1, c.InChannels, 4, 4),
		tensor.New(tensor.WithShape(1, 2), tensor.WithBacking(nn.TimestepEmbedding([]float64{500}, 2))),
		nn.RandN(tensor.Float64, 2, 1, 2, c.ContextDim),
	}
	res, err := nn.GradCheck(nil, inputs, 1e-6, func(b *nn.Builder, xs G.Nodes) *G.Node {
		y := UNet(b, c, xs[0], xs[1], xs[2])
		s, err := nn.WeightedSum(b.G, y, 3)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRelErr > 1e-6 {
		t.Fatalf("U-Net gradient mismatch %.3g at %s", res.MaxRelErr, res.Where)
	}
}

func trainLosses(t *testing.T, c UNetConfig, steps int, lr float64) []float64 {
	store := nn.NewStore(tensor.Float32, 42)
	s := newDenoiseStep(t, store, c, nil, 2, 8, 3, 7, true)
	opt := nn.NewAdamW(lr)
	losses := make([]float64, steps)
	for i := range losses {
		l, err := s.Program.Run()
		if err != nil {
			t.Fatal(err)
		}
		losses[i] = l
		if _, err := opt.Update(store, s.Program.Grads()); err != nil {
			t.Fatal(err)
		}
	}
	return losses
}

// TestRunTwiceSameLoss: two trainings from the same seed give bit-identical
// losses (aliasing bugs show up as drift, GORGONIA.md #1).
func TestRunTwiceSameLoss(t *testing.T) {
	a := trainLosses(t, tinyUNet(), 8, 1e-3)
	b := trainLosses(t, tinyUNet(), 8, 1e-3)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d: %.9g vs %.9g", i, a[i], b[i])
		}
	}
}

// TestOverfitOneBatch: a small U-Net fits one fixed batch; the loss falls
// at least tenfold.
func TestOverfitOneBatch(t *testing.T) {
	c := tinyUNet()
	c.Channels = []int{16, 32}
	c.Groups = 4
	l := trainLosses(t, c, 300, 3e-3)
	first, last := l[0], l[len(l)-1]
	t.Logf("loss %.4g → %.4g (step 50: %.4g, 150: %.4g)", first, last, l[50], l[150])
	if last > first/10 {
		t.Fatalf("loss fell only from %.4f to %.4f", first, last)
	}
}

// TestUNetFloat32MatchesFloat64: the float32 fast paths (implicit-GEMM
// convolutions, AVX-512 GEMM and sigmoid, buffer reuse) give the float64
// model's loss and gradients within float32 tolerance, run after run.
func TestUNetFloat32MatchesFloat64(t *testing.T) {
	c := tinyUNet()
	c.Channels, c.Groups = []int{16, 32}, 4
	s64 := nn.NewStore(tensor.Float64, 3)
	ref := newDenoiseStep(t, s64, c, nil, 3, 16, 4, 5, true)
	s32 := nn.NewStore(tensor.Float32, 99)
	for _, name := range s64.Names() {
		v := s64.Lookup(name)
		s32.Set(name, nn.FromFloat64(tensor.Float32, nn.Float64s(v), v.Shape()...))
	}
	fast := newDenoiseStep(t, s32, c, nil, 3, 16, 4, 5, true)
	l64, err := ref.Program.Run()
	if err != nil {
		t.Fatal(err)
	}
	for run := 0; run < 2; run++ {
		l32, err := fast.Program.Run()
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(l32-l64) > 1e-5*l64 {
			t.Fatalf("run %d: loss float32 %.8g, float64 %.8g", run, l32, l64)
		}
		g32, g64 := fast.Program.Grads(), ref.Program.Grads()
		for name, g := range g64 {
			a, b := nn.Float64s(g), nn.Float64s(g32[name])
			scale := 0.0
			for _, v := range a {
				scale = math.Max(scale, math.Abs(v))
			}
			for i := range a {
				if math.Abs(a[i]-b[i]) > 1e-4*scale+1e-7 {
					t.Fatalf("run %d %s[%d]: float32 %g, float64 %g (max |g| %g)", run, name, i, b[i], a[i], scale)
				}
			}
		}
	}
}
