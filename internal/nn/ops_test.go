package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

const gradTol = 1e-6

func checkGrad(t *testing.T, name string, inputs []*tensor.Dense, build func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error)) {
	t.Helper()
	checkLayerGrad(t, name, nil, inputs, func(b *Builder, xs G.Nodes) *G.Node {
		return b.check(name)(build(b.G, xs))
	})
}

func checkLayerGrad(t *testing.T, name string, store *Store, inputs []*tensor.Dense, build func(b *Builder, xs G.Nodes) *G.Node) {
	t.Helper()
	res, err := GradCheck(store, inputs, 1e-6, build)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.MaxRelErr > gradTol {
		t.Errorf("%s: gradient mismatch %.3g at %s", name, res.MaxRelErr, res.Where)
	}
}

func randn(seed uint64, shape ...int) *tensor.Dense { return RandN(tensor.Float64, seed, shape...) }

func TestReshapeGrad(t *testing.T) {
	checkGrad(t, "reshape", []*tensor.Dense{randn(1, 2, 3, 4)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
		y, err := Reshape(xs[0], 6, 4)
		if err != nil {
			return nil, err
		}
		return WeightedSum(g, y, 7)
	})
}

// TestReshapeDoesNotAlias reproduces GORGONIA.md #1: reshape(h) − 1 + h
// must equal 2h − 1 whichever op the tape runs in place.
func TestReshapeDoesNotAlias(t *testing.T) {
	g := G.NewGraph()
	hv := randn(3, 2, 3)
	h := G.NewTensor(g, tensor.Float64, 2, G.WithShape(2, 3), G.WithValue(hv), G.WithName("h"))
	r, _ := Reshape(h, 2, 3)
	one := G.NewConstant(1.0)
	a := G.Must(G.Sub(r, one))
	b := G.Must(G.Add(a, h))
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	for run := 0; run < 3; run++ {
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		got := b.Value().Data().([]float64)
		for i, x := range hv.Data().([]float64) {
			if d := got[i] - (2*x - 1); d > 1e-12 || d < -1e-12 {
				t.Fatalf("run %d element %d: got %g want %g", run, i, got[i], 2*x-1)
			}
		}
		vm.Reset()
	}
}

func TestConv2dGrad(t *testing.T) {
	for _, c := range []struct {
		name string
		x, w []int
		geom ConvGeom
		bias bool
	}{
		{"3x3 pad1", []int{2, 3, 5, 5}, []int{4, 3, 3, 3}, ConvGeom{1, 1}, true},
		{"3x3 stride2", []int{2, 2, 6, 5}, []int{3, 2, 3, 3}, ConvGeom{2, 1}, true},
		{"1x1 no bias", []int{1, 3, 4, 4}, []int{2, 3, 1, 1}, ConvGeom{1, 0}, false},
		{"2x2 valid", []int{1, 2, 5, 4}, []int{2, 2, 2, 2}, ConvGeom{1, 0}, true},
	} {
		inputs := []*tensor.Dense{randn(1, c.x...), randn(2, c.w...)}
		if c.bias {
			inputs = append(inputs, randn(3, c.w[0]))
		}
		checkGrad(t, "conv2d "+c.name, inputs, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
			var b *G.Node
			if c.bias {
				b = xs[2]
			}
			y, err := Conv2d(xs[0], xs[1], b, c.geom)
			if err != nil {
				return nil, err
			}
			return WeightedSum(g, y, 9)
		})
	}
}

// TestConv2dMatchesStock checks the forward values against gorgonia's Conv2d.
func TestConv2dMatchesStock(t *testing.T) {
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(2, 3, 7, 6), G.WithValue(randn(1, 2, 3, 7, 6)))
	w := G.NewTensor(g, tensor.Float64, 4, G.WithShape(4, 3, 3, 3), G.WithValue(randn(2, 4, 3, 3, 3)))
	own := G.Must(Conv2d(x, w, nil, ConvGeom{Stride: 2, Pad: 1}))
	stock := G.Must(G.Conv2d(x, w, tensor.Shape{3, 3}, []int{1, 1}, []int{2, 2}, []int{1, 1}))
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if !own.Shape().Eq(stock.Shape()) {
		t.Fatalf("shapes %v vs %v", own.Shape(), stock.Shape())
	}
	a, b := own.Value().Data().([]float64), stock.Value().Data().([]float64)
	for i := range a {
		if d := a[i] - b[i]; d > 1e-9 || d < -1e-9 {
			t.Fatalf("element %d: own %g stock %g", i, a[i], b[i])
		}
	}
}

func TestGroupNormGrad(t *testing.T) {
	for _, silu := range []bool{false, true} {
		// channels per group: 2, 2, 2 and 6 (four channels' sums side by side, then two)
		for _, shape := range [][]int{{2, 4, 3, 3}, {1, 6, 5, 2}, {3, 4, 5}, {1, 12, 3, 2}} {
			groups := 2
			if shape[1] == 6 {
				groups = 3
			}
			inputs := []*tensor.Dense{randn(1, shape...), randn(2, shape[1]), randn(3, shape[1])}
			checkGrad(t, "groupnorm", inputs, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
				y, err := GroupNorm(xs[0], xs[1], xs[2], groups, 1e-5, silu)
				if err != nil {
					return nil, err
				}
				return WeightedSum(g, y, 4)
			})
		}
	}
}

// TestChannelSumsInOrder: four channels' sums side by side are each
// channel's own loop bit for bit (float64 sums in element order; values of
// very different sizes, so another order would round differently).
func TestChannelSumsInOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const s = 37
	ga, xh := make([]float32, 4*s), make([]float32, 4*s)
	for i := range ga {
		ga[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(14)-7)))
		xh[i] = float32(rng.NormFloat64())
	}
	for k := 1; k <= 4; k++ {
		dG, dB := make([]float64, k), make([]float64, k)
		channelSums(ga, xh, s, dG, dB)
		for j := 0; j < k; j++ {
			var wantG, wantB float64
			for q := 0; q < s; q++ {
				wantG += float64(ga[j*s+q] * xh[j*s+q])
				wantB += float64(ga[j*s+q])
			}
			if math.Float64bits(dG[j]) != math.Float64bits(wantG) || math.Float64bits(dB[j]) != math.Float64bits(wantB) {
				t.Errorf("%d channels, channel %d: sums %v, %v; its own loop gives %v, %v", k, j, dG[j], dB[j], wantG, wantB)
			}
		}
	}
}

// TestGroupNormLargeGroups checks the statistics on groups of more than 256
// elements, where gorgonia's builtin goes wrong (GORGONIA.md #4).
func TestGroupNormLargeGroups(t *testing.T) {
	g := G.NewGraph()
	xv := randn(5, 2, 4, 16, 16) // groups of 2·256 = 512 elements
	d := xv.Data().([]float64)
	for i := range d {
		d[i] = 3 + 2*d[i]
	}
	x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(2, 4, 16, 16), G.WithValue(xv))
	gamma := G.NewVector(g, tensor.Float64, G.WithShape(4), G.WithValue(FromFloat64(tensor.Float64, []float64{1, 1, 1, 1}, 4)), G.WithName("gamma"))
	beta := G.NewVector(g, tensor.Float64, G.WithShape(4), G.WithInit(G.Zeroes()), G.WithName("beta"))
	y := G.Must(GroupNorm(x, gamma, beta, 2, 1e-5, false))
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	out := y.Value().Data().([]float64)
	for grp := 0; grp < 4; grp++ {
		var s, ss float64
		for _, v := range out[grp*512 : (grp+1)*512] {
			s += v
			ss += v * v
		}
		if mean, msq := s/512, ss/512; mean > 1e-9 || mean < -1e-9 || msq < 0.999 || msq > 1.0001 {
			t.Errorf("group %d: mean %g, mean square %g; want 0 and 1", grp, mean, msq)
		}
	}
}

func TestUpsample2xGrad(t *testing.T) {
	checkGrad(t, "upsample2x", []*tensor.Dense{randn(1, 2, 3, 3, 4)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
		y, err := Upsample2x(xs[0])
		if err != nil {
			return nil, err
		}
		return WeightedSum(g, y, 5)
	})
}

func TestSwapAxes12(t *testing.T) {
	for _, shape := range [][]int{{2, 3, 4}, {2, 3, 4, 5}} {
		checkGrad(t, "swapaxes12", []*tensor.Dense{randn(1, shape...)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
			y, err := SwapAxes12(xs[0])
			if err != nil {
				return nil, err
			}
			return WeightedSum(g, y, 7)
		})
		// the same values as gorgonia's Transpose
		g := G.NewGraph()
		x := G.NewTensor(g, tensor.Float64, len(shape), G.WithValue(randn(2, shape...)))
		axes := []int{0, 2, 1, 3}[:len(shape)]
		want, _ := G.Transpose(x, axes...)
		got, err := SwapAxes12(x)
		if err != nil {
			t.Fatal(err)
		}
		m := G.NewTapeMachine(g)
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		m.Close()
		if !got.Shape().Eq(want.Shape()) {
			t.Fatalf("shape %v, want %v", got.Shape(), want.Shape())
		}
		wv, gv := want.Value().(*tensor.Dense), got.Value().Data().([]float64)
		wc := wv.Materialize().Data().([]float64)
		for i := range gv {
			if gv[i] != wc[i] {
				t.Fatalf("%v: element %d = %g, want %g", shape, i, gv[i], wc[i])
			}
		}
	}
}

func TestAddChannelGrad(t *testing.T) {
	for _, c := range []struct{ x, b []int }{{[]int{2, 3, 4, 2}, []int{3}}, {[]int{2, 3, 4, 2}, []int{2, 3}}, {[]int{4, 3}, []int{3}}} {
		checkGrad(t, "addchannel", []*tensor.Dense{randn(1, c.x...), randn(2, c.b...)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
			y, err := AddChannel(xs[0], xs[1]) // (4, 3): a linear layer's rows
			if err != nil {
				return nil, err
			}
			return WeightedSum(g, y, 6)
		})
	}
}

func TestShapeErrors(t *testing.T) {
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(1, 3, 4, 4), G.WithInit(G.Zeroes()))
	w := G.NewTensor(g, tensor.Float64, 4, G.WithShape(2, 5, 3, 3), G.WithInit(G.Zeroes()))
	if _, err := Conv2d(x, w, nil, ConvGeom{1, 1}); err == nil {
		t.Error("conv2d with mismatched channels: no error")
	}
	v := G.NewVector(g, tensor.Float64, G.WithShape(3), G.WithInit(G.Zeroes()))
	if _, err := GroupNorm(x, v, v, 2, 1e-5, false); err == nil {
		t.Error("groupnorm with 3 channels in 2 groups: no error")
	}
	if _, err := Reshape(x, 5, 5); err == nil {
		t.Error("reshape to a different size: no error")
	}
}

// TestExp32: the float32 exponential of the owned operators stays within
// 3e-7 relative of math.Exp over its whole range.
func TestExp32(t *testing.T) {
	worst := 0.0
	for x := -87.0; x < 88.7; x += 0.0137 {
		got, want := float64(exp32(float32(x))), math.Exp(float64(float32(x)))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 3e-7 {
		t.Errorf("exp32 relative error %.3g", worst)
	}
	if exp32(100) != float32(math.Inf(1)) || exp32(-100) != 0 || exp32(0) != 1 {
		t.Error("exp32 edge values")
	}
}

func TestConcatChannelsGrad(t *testing.T) {
	checkGrad(t, "concat", []*tensor.Dense{randn(1, 2, 3, 2, 2), randn(2, 2, 1, 2, 2)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
		y, err := ConcatChannels(xs[0], xs[1])
		if err != nil {
			return nil, err
		}
		return WeightedSum(g, y, 8)
	})
}

func TestSigmoid32(t *testing.T) {
	for a := -100.0; a < 100; a += 0.0731 {
		want := 1 / (1 + math.Exp(-a))
		if got := float64(sigmoid32(float32(a))); math.Abs(got-want) > 3e-7*math.Max(want, 1e-30)+1e-38 && math.Abs(got-want) > 1e-7 {
			t.Fatalf("sigmoid32(%g) = %g, want %g", a, got, want)
		}
	}
}

func TestSigmoidVec(t *testing.T) {
	src := make([]float32, 0, 3000)
	for a := -100.0; a < 100; a += 0.0731 {
		src = append(src, float32(a))
	}
	dst := make([]float32, len(src))
	sigmoidVec(dst, src)
	for i, a := range src {
		want := 1 / (1 + math.Exp(-float64(a)))
		if d := math.Abs(float64(dst[i]) - want); d > 3e-7*want && d > 1e-7 {
			t.Fatalf("σ(%g) = %g, want %g", a, dst[i], want)
		}
	}
}

// TestSigmoidVecMatchesPortable: the vector sigmoid and exponential give
// sigmoid32's and exp32's bits for every input (AVX-512, AVX2 and other
// machines then compute the same), around their bounds and ties of their
// rounding too; sigmoid_amd64_test.go runs each kernel the CPU has.
func TestSigmoidVecMatchesPortable(t *testing.T) {
	checkVecKernel(t, "σ", sigmoidVec, sigmoid32, 16)
	checkVecKernel(t, "exp", expVec, exp32, 16)
}

// checkVecKernel compares vec, which works on blocks of width values and
// the rest with the portable code, against scalar on 400,000 inputs.
func checkVecKernel(t *testing.T, name string, vec func(dst, src []float32), scalar func(float32) float32, width int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	src := []float32{0, -0, 88.72, -88.72, 87.3, -87.3, 88.7201, -87.2999, 88.7199, -87.3001, 1e-30, -1e-30, 200, -200,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 88.71, 88.376, 88.377}
	for a := float32(-90); a < 90; a += 0.001 {
		src = append(src, a)
	}
	for len(src)%width != 0 || len(src) < 400_000 {
		src = append(src, float32(rng.NormFloat64()*8))
	}
	for _, n := range []int{width, 3 * width, 3*width + 9, len(src)} { // odd and even numbers of vectors, and a tail
		dst := make([]float32, n)
		vec(dst, src[:n])
		for i, a := range src[:n] {
			want := scalar(a)
			if want != want && dst[i] != dst[i] {
				continue // NaN in, NaN out (the payload is the CPU's)
			}
			if math.Float32bits(dst[i]) != math.Float32bits(want) {
				t.Fatalf("%s(%g) of %d: vector %g (%#x), portable %g (%#x)", name, a, n, dst[i], math.Float32bits(dst[i]), want, math.Float32bits(want))
			}
		}
	}
	in := append([]float32(nil), src...) // in place
	vec(in, in)
	for i, a := range src {
		if want := scalar(a); want == want && math.Float32bits(in[i]) != math.Float32bits(want) {
			t.Fatalf("%s(%g) in place: %g, want %g", name, a, in[i], want)
		}
	}
}

func TestSoftmaxGrad(t *testing.T) {
	for _, scale := range []float64{1, 0.35} {
		checkGrad(t, "softmax", []*tensor.Dense{randn(7, 2, 3, 5)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
			y, err := Softmax(xs[0], scale)
			if err != nil {
				return nil, err
			}
			return WeightedSum(g, y, 8)
		})
	}
}

// TestSoftmaxValues checks Softmax against hand-computed values and
// gorgonia's SoftMax of the scaled input, in float32 and float64.
func TestSoftmaxValues(t *testing.T) {
	// softmax(0.5·[0, 2, 4]) = e^{0,1,2} / (1 + e + e²)
	z := 1 + math.E + math.E*math.E
	want := []float64{1 / z, math.E / z, math.E * math.E / z}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		g := G.NewGraph()
		var back any = []float64{0, 2, 4, 1000, 1002, 1004}
		if dt == tensor.Float32 {
			back = []float32{0, 2, 4, 1000, 1002, 1004}
		}
		x := G.NewTensor(g, dt, 2, G.WithShape(2, 3), G.WithValue(tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(back))))
		y := G.Must(Softmax(x, 0.5))
		stock := G.Must(G.SoftMax(G.Must(G.Mul(x, G.NewScalar(g, dt, G.WithValue(castScalar(dt, 0.5))))), 1))
		var yv, sv G.Value
		G.Read(y, &yv)
		G.Read(stock, &sv)
		vm := G.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		vm.Close()
		got, ref := toF64(yv.Data()), toF64(sv.Data())
		for i, v := range got {
			if w := want[i%3]; math.Abs(v-w) > 1e-6 { // the second row: max subtracted, no overflow
				t.Errorf("%v: softmax[%d] = %g, want %g", dt, i, v, w)
			}
			if i < 3 && math.Abs(v-ref[i]) > 1e-6 {
				t.Errorf("%v: softmax[%d] = %g, gorgonia %g", dt, i, v, ref[i])
			}
		}
	}
}

func castScalar(dt tensor.Dtype, v float64) any {
	if dt == tensor.Float32 {
		return float32(v)
	}
	return v
}

func toF64(d any) []float64 {
	switch d := d.(type) {
	case []float32:
		o := make([]float64, len(d))
		for i, v := range d {
			o[i] = float64(v)
		}
		return o
	case []float64:
		return d
	}
	return nil
}

func TestLayerNormGrad(t *testing.T) {
	checkGrad(t, "layernorm", []*tensor.Dense{randn(1, 4, 6), randn(2, 6), randn(3, 6)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
		y, err := LayerNorm(xs[0], xs[1], xs[2], 1e-5)
		if err != nil {
			return nil, err
		}
		return WeightedSum(g, y, 9)
	})
}

// TestLayerNormMatchesStock compares the fused op with the composition from
// gorgonia's ops, values and gradients of x, γ and β.
func TestLayerNormMatchesStock(t *testing.T) {
	run := func(ops Ops) (y []float64, grads [3][]float64) {
		g := G.NewGraph()
		var xs [3]*G.Node
		for i, shape := range [][]int{{5, 7}, {7}, {7}} {
			xs[i] = G.NewTensor(g, tensor.Float64, len(shape), G.WithShape(shape...), G.WithValue(randn(uint64(i+1), shape...)), G.WithName(fmt.Sprint("in", i)))
		}
		out := G.Must(ops.LayerNorm(xs[0], xs[1], xs[2], 1e-5))
		var yv G.Value
		G.Read(out, &yv)
		if _, err := G.Grad(G.Must(WeightedSum(g, out, 4)), xs[:]...); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		for i, n := range xs {
			gv, err := n.Grad()
			if err != nil {
				t.Fatal(err)
			}
			grads[i] = append([]float64(nil), gv.Data().([]float64)...)
		}
		return append([]float64(nil), yv.Data().([]float64)...), grads
	}
	yo, go_ := run(Owned{})
	ys, gs := run(Stock{})
	for _, c := range []struct {
		what string
		a, b []float64
	}{{"y", yo, ys}, {"dx", go_[0], gs[0]}, {"dγ", go_[1], gs[1]}, {"dβ", go_[2], gs[2]}} {
		for i := range c.a {
			if math.Abs(c.a[i]-c.b[i]) > 1e-10 {
				t.Fatalf("%s[%d]: owned %g stock %g", c.what, i, c.a[i], c.b[i])
			}
		}
	}
}

func TestSiLUGrad(t *testing.T) {
	checkGrad(t, "silu", []*tensor.Dense{randn(4, 3, 5)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
		y, err := SiLU(xs[0])
		if err != nil {
			return nil, err
		}
		return WeightedSum(g, y, 5)
	})
}

// TestSiLUFloat32 checks the float32 path (vector sigmoid, chunked across
// cores) against x·σ(x) in float64 over more than one chunk, and its
// gradient op against σ(x)(1 + x(1 − σ(x))).
func TestSiLUFloat32(t *testing.T) {
	const n = 9000
	x, g, y, dy := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], g[i] = float32(i-n/2)/300, float32(i%7)-3
	}
	silu32(x, nil, y)
	silu32(x, g, dy)
	for i, v := range x {
		s := 1 / (1 + math.Exp(-float64(v)))
		if want := float64(v) * s; math.Abs(float64(y[i])-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Fatalf("silu(%g) = %g, want %g", v, y[i], want)
		}
		if want := float64(g[i]) * s * (1 + float64(v)*(1-s)); math.Abs(float64(dy[i])-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Fatalf("silu'(%g)·%g = %g, want %g", v, g[i], dy[i], want)
		}
	}
}

// TestGroupStatsOf: the statistics of groups computed four at a time have
// the bits of groupStats, group by group.
func TestGroupStatsOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	// groups of 37 (a tail of 1 after the 8-group kernels' runs of 4), 64 and 3
	// (none), 1 to 17 groups, values of very different sizes so that
	// another order of summation would round differently
	for _, m := range []int{37, 64, 3} {
		for groups := 1; groups <= 17; groups++ {
			x := make([]float32, groups*m)
			for i := range x {
				x[i] = float32(rng.NormFloat64()*3*math.Pow(10, float64(rng.IntN(25)-12)) + 1)
			}
			mean, inv := make([]float64, groups), make([]float64, groups)
			groupStatsOf(x, m, 1e-5, mean, inv)
			for g := range groups {
				wm, wi := groupStats(x[g*m:(g+1)*m], 1e-5)
				if mean[g] != wm || inv[g] != wi {
					t.Fatalf("%d groups of %d, group %d: (%v, %v), groupStats (%v, %v)", groups, m, g, mean[g], inv[g], wm, wi)
				}
			}
		}
	}
}
