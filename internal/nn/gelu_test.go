package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestActivationGrads(t *testing.T) {
	for _, k := range []Activation{GELU, QuickGELU, GEGLU} {
		checkGrad(t, string(k), []*tensor.Dense{randn(7, 3, 8)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
			y, err := Activate(xs[0], k)
			if err != nil {
				return nil, err
			}
			return WeightedSum(g, y, 3)
		})
	}
}

// TestActivationValues checks each activation at hand-computed points:
// gelu(1) = Φ(1) = 0.841345, gelu(−1) = −0.158655, quick_gelu(1) =
// σ(1.702) = 0.845795, geglu([2, 1]) = 2·gelu(1).
func TestActivationValues(t *testing.T) {
	cases := []struct {
		k    Activation
		x    []float64
		want []float64
	}{
		{GELU, []float64{1, -1, 0, 3}, []float64{0.8413447, -0.1586553, 0, 2.9959502}},
		{QuickGELU, []float64{1, -1}, []float64{0.8457952, -0.1542048}},
		{GEGLU, []float64{2, -3, 1, 0}, []float64{2 * 0.8413447, 0}},
	}
	for _, c := range cases {
		y := make([]float64, len(c.want))
		activate(c.k, c.x, nil, y, len(c.x))
		for i := range y {
			if math.Abs(y[i]-c.want[i]) > 1e-6 {
				t.Errorf("%s(%v)[%d] = %.7f, want %.7f", c.k, c.x, i, y[i], c.want[i])
			}
		}
	}
}

func TestPadBottomRightGrad(t *testing.T) {
	checkGrad(t, "pad", []*tensor.Dense{randn(2, 2, 3, 3, 4)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
		y, err := PadBottomRight(xs[0])
		if err != nil {
			return nil, err
		}
		return WeightedSum(g, y, 4)
	})
	x := []float64{1, 2, 3, 4}
	y := make([]float64, 9)
	padCopy(x, y, tensor.Shape{1, 1, 2, 2}, false)
	if want := []float64{1, 2, 0, 3, 4, 0, 0, 0, 0}; !equal(y, want) {
		t.Errorf("pad %v = %v, want %v", x, y, want)
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMatMulTGrad(t *testing.T) {
	checkGrad(t, "matmult", []*tensor.Dense{randn(8, 5, 7), randn(9, 3, 7)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
		y, err := MatMulT(xs[0], xs[1])
		if err != nil {
			return nil, err
		}
		return WeightedSum(g, y, 6)
	})
	// against Mul(x, Transpose(w)), float32
	x, w := RandN(tensor.Float32, 1, 33, 17), RandN(tensor.Float32, 2, 21, 17)
	g := G.NewGraph()
	xn := G.NewTensor(g, tensor.Float32, 2, G.WithValue(x), G.WithName("x"))
	wn := G.NewTensor(g, tensor.Float32, 2, G.WithValue(w), G.WithName("w"))
	a, _ := MatMulT(xn, wn)
	b, _ := Stock{}.MatMulT(xn, wn)
	var av, bv G.Value
	G.Read(a, &av)
	G.Read(b, &bv)
	vm := G.NewTapeMachine(g)
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for i, v := range av.Data().([]float32) {
		if d := math.Abs(float64(v - bv.Data().([]float32)[i])); d > 1e-5 {
			t.Fatalf("element %d: %g vs %g", i, v, bv.Data().([]float32)[i])
		}
	}
}

// TestFusedAttention checks the fused op's gradients (float64, more query
// rows than one block) and its values against the three-op path.
func TestFusedAttention(t *testing.T) {
	checkGrad(t, "attention", []*tensor.Dense{randn(11, 3, 70, 4), randn(12, 3, 9, 4), randn(13, 3, 9, 4)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
		y, err := Attention(xs[0], xs[1], xs[2], 0.7)
		if err != nil {
			return nil, err
		}
		return WeightedSum(g, y, 14)
	})
	q, k, v := RandN(tensor.Float32, 1, 4, 130, 8), RandN(tensor.Float32, 2, 4, 33, 8), RandN(tensor.Float32, 3, 4, 33, 8)
	g := G.NewGraph()
	qn := G.NewTensor(g, tensor.Float32, 3, G.WithValue(q), G.WithName("q"))
	kn := G.NewTensor(g, tensor.Float32, 3, G.WithValue(k), G.WithName("k"))
	vn := G.NewTensor(g, tensor.Float32, 3, G.WithValue(v), G.WithName("v"))
	fused, err := Attention(qn, kn, vn, 0.35)
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := G.BatchedMatMul(qn, kn, false, true)
	p, _ := Softmax(sc, 0.35)
	ref, _ := G.BatchedMatMul(p, vn)
	var a, b G.Value
	G.Read(fused, &a)
	G.Read(ref, &b)
	if err := G.NewTapeMachine(g).RunAll(); err != nil {
		t.Fatal(err)
	}
	for i, x := range a.Data().([]float32) {
		if d := math.Abs(float64(x - b.Data().([]float32)[i])); d > 1e-5 {
			t.Fatalf("element %d: fused %g, three ops %g", i, x, b.Data().([]float32)[i])
		}
	}
}

func TestDepthwiseConv2dGrad(t *testing.T) {
	for _, c := range []struct {
		name string
		x, w []int
		geom ConvGeom
	}{
		{"3x3 same", []int{2, 3, 5, 5}, []int{3, 1, 3, 3}, ConvGeom{1, 1}},
		{"5x5 stride2", []int{1, 2, 7, 6}, []int{2, 1, 5, 5}, ConvGeom{2, 1}},
		{"3x3 stride2 valid", []int{2, 2, 6, 6}, []int{2, 1, 3, 3}, ConvGeom{2, 0}},
	} {
		checkGrad(t, "depthwise "+c.name, []*tensor.Dense{randn(1, c.x...), randn(2, c.w...)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
			y, err := DepthwiseConv2d(xs[0], xs[1], c.geom)
			if err != nil {
				return nil, err
			}
			return WeightedSum(g, y, 9)
		})
	}
}

// TestDepthwiseConv2dMatchesConv checks the forward values against Conv2d
// with a block-diagonal filter (a grouped convolution written densely).
func TestDepthwiseConv2dMatchesConv(t *testing.T) {
	for _, geom := range []ConvGeom{{1, 1}, {2, 1}, {2, 2}, {1, 0}} {
		xv, wv := randn(3, 2, 4, 9, 8), randn(4, 4, 1, 5, 5)
		dense := tensor.New(tensor.WithShape(4, 4, 5, 5), tensor.Of(tensor.Float64))
		dd, wd := dense.Data().([]float64), wv.Data().([]float64)
		for c := 0; c < 4; c++ {
			copy(dd[(c*4+c)*25:(c*4+c+1)*25], wd[c*25:(c+1)*25])
		}
		g := G.NewGraph()
		x := G.NewTensor(g, tensor.Float64, 4, G.WithValue(xv), G.WithName("x"))
		w := G.NewTensor(g, tensor.Float64, 4, G.WithValue(wv), G.WithName("w"))
		wfull := G.NewTensor(g, tensor.Float64, 4, G.WithValue(dense), G.WithName("wd"))
		own := G.Must(DepthwiseConv2d(x, w, geom))
		ref := G.Must(Conv2d(x, wfull, nil, geom))
		vm := G.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		a, b := own.Value().Data().([]float64), ref.Value().Data().([]float64)
		if !own.Shape().Eq(ref.Shape()) {
			t.Fatalf("%v: shape %v, want %v", geom, own.Shape(), ref.Shape())
		}
		for i := range a {
			if math.Abs(a[i]-b[i]) > 1e-12 {
				t.Fatalf("%v: element %d = %g, want %g", geom, i, a[i], b[i])
			}
		}
		vm.Close()
	}
}

func TestScaleChannelGrad(t *testing.T) {
	for _, s := range [][]int{{3}, {2, 3}} {
		checkGrad(t, "scalechannel", []*tensor.Dense{randn(1, 2, 3, 4, 2), randn(2, s...)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
			y, err := ScaleChannel(xs[0], xs[1])
			if err != nil {
				return nil, err
			}
			return WeightedSum(g, y, 6)
		})
	}
}

func TestChannelSumGrad(t *testing.T) {
	for _, keep := range []bool{false, true} {
		checkGrad(t, "channelsum", []*tensor.Dense{randn(1, 2, 3, 4, 2)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
			y, err := ChannelSum(xs[0], keep)
			if err != nil {
				return nil, err
			}
			return WeightedSum(g, y, 6)
		})
	}
}

// TestConvNetLayersGrad checks the EfficientNet layers as they are
// composed: convolution, BatchNorm on running statistics, depthwise
// convolution, squeeze-and-excitation (mean over positions, pointwise
// linear maps, sigmoid gate).
func TestConvNetLayersGrad(t *testing.T) {
	store := NewStore(tensor.Float64, 7)
	checkLayerGrad(t, "convnet", store, []*tensor.Dense{randn(1, 2, 3, 6, 6)}, func(b *Builder, xs G.Nodes) *G.Node {
		h := b.ConvNoBias("conv", b.PadBottomRight(xs[0]), 4, 3, 2, 0)
		h = b.SiLU(b.BatchNorm("bn", h, 1e-3))
		h = b.DepthwiseConv("dw", h, 3, 1, 1)
		g := b.Sigmoid(b.PointwiseLinear("expand", b.SiLU(b.PointwiseLinear("reduce", b.MeanPositions(h), 2)), 4))
		y := b.ScaleChannel(h, g)
		return b.check("sum")(WeightedSum(b.G, y, 5))
	})
}
