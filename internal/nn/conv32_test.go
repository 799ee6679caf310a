package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convRun returns the output and the gradients of x, w and b of a weighted
// sum of Conv2d(x, w, b) in dtype dt (float32: the implicit-GEMM kernels of
// the default build; float64: im2col, the path the gradient checks see).
func convRun(t *testing.T, dt tensor.Dtype, xs, ws []int, geom ConvGeom) (y, gx, gw, gb []float64) {
	t.Helper()
	g := G.NewGraph()
	mk := func(name string, seed uint64, shape ...int) *G.Node {
		v := RandN(tensor.Float64, seed, shape...)
		if dt == tensor.Float32 {
			d := v.Data().([]float64)
			f := make([]float32, len(d))
			for i, e := range d {
				f[i] = float32(e)
			}
			v = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f))
		}
		return G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithValue(v), G.WithName(name))
	}
	x, w, b := mk("x", 1, xs...), mk("w", 2, ws...), mk("b", 3, ws[0])
	out := G.Must(Conv2d(x, w, b, geom))
	var yv G.Value
	G.Read(out, &yv)
	cost := G.Must(WeightedSum(g, out, 4))
	if _, err := G.Grad(cost, x, w, b); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	f64 := func(v G.Value) []float64 {
		switch d := v.Data().(type) {
		case []float64:
			return append([]float64(nil), d...)
		case []float32:
			o := make([]float64, len(d))
			for i, e := range d {
				o[i] = float64(e)
			}
			return o
		}
		t.Fatalf("dtype %T", v.Data())
		return nil
	}
	grad := func(n *G.Node) []float64 {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		return f64(gv)
	}
	return f64(yv), grad(x), grad(w), grad(b)
}

// TestConv2dFloat32MatchesFloat64 checks the float32 kernels (forward,
// filter and input gradients) against the float64 path, whose gradients
// the numeric checks cover, for the geometries the models use.
func TestConv2dFloat32MatchesFloat64(t *testing.T) {
	for _, c := range []struct {
		name string
		x, w []int
		geom ConvGeom
	}{
		{"3x3 pad1", []int{2, 3, 9, 9}, []int{5, 3, 3, 3}, ConvGeom{1, 1}},
		{"3x3 stride2 pad1", []int{2, 4, 8, 8}, []int{6, 4, 3, 3}, ConvGeom{2, 1}},
		{"4x4 stride2 pad1 (patchifying stem)", []int{2, 3, 16, 16}, []int{8, 3, 4, 4}, ConvGeom{2, 1}},
		{"1x1", []int{1, 6, 5, 5}, []int{3, 6, 1, 1}, ConvGeom{1, 0}},
		{"3x3 pad0", []int{2, 3, 7, 9}, []int{4, 3, 3, 3}, ConvGeom{1, 0}},
		{"3x3 pad1, rows wider than a panel, K over one block", []int{1, 32, 5, 40}, []int{4, 32, 3, 3}, ConvGeom{1, 1}},
		// the unrolled panels of packWholeRows: rows of 16, 8, 4 per panel,
		// rows of 64 (two panels per row), K over one block (pc > 0)
		{"3x3 pad1 16 wide, K over one block", []int{1, 32, 16, 16}, []int{4, 32, 3, 3}, ConvGeom{1, 1}},
		{"3x3 pad1 8 wide", []int{2, 3, 8, 8}, []int{5, 3, 3, 3}, ConvGeom{1, 1}},
		{"3x3 pad1 4 wide", []int{2, 3, 4, 4}, []int{5, 3, 3, 3}, ConvGeom{1, 1}},
		{"3x3 pad1 64 wide", []int{1, 3, 3, 64}, []int{2, 3, 3, 3}, ConvGeom{1, 1}},
		{"1x1 16 wide", []int{2, 6, 16, 16}, []int{3, 6, 1, 1}, ConvGeom{1, 0}},
		{"3x3 pad1 16 wide, 3 rows (a part panel)", []int{2, 3, 3, 16}, []int{5, 3, 3, 3}, ConvGeom{1, 1}},
		{"3x3 pad1 8 wide, 3 rows (a part panel)", []int{2, 3, 3, 8}, []int{5, 3, 3, 3}, ConvGeom{1, 1}},
	} {
		y64, gx64, gw64, gb64 := convRun(t, tensor.Float64, c.x, c.w, c.geom)
		y32, gx32, gw32, gb32 := convRun(t, tensor.Float32, c.x, c.w, c.geom)
		for _, p := range []struct {
			what string
			a, b []float64
		}{{"output", y64, y32}, {"dx", gx64, gx32}, {"dw", gw64, gw32}, {"db", gb64, gb32}} {
			if len(p.a) != len(p.b) {
				t.Fatalf("%s %s: %d vs %d elements", c.name, p.what, len(p.a), len(p.b))
			}
			var scale float64
			for _, v := range p.a {
				scale = math.Max(scale, math.Abs(v))
			}
			for i := range p.a {
				if d := math.Abs(p.a[i] - p.b[i]); d > 1e-4*math.Max(scale, 1) {
					t.Fatalf("%s %s[%d]: float64 %g float32 %g", c.name, p.what, i, p.a[i], p.b[i])
				}
			}
		}
	}
}
