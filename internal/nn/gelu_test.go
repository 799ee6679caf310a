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
