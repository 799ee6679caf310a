package nn

import (
	"fmt"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// batchedShapes are a's and b's shapes for each transposition of
// (5, 7, 3)·(5, 3, 4).
func batchedShapes(transA, transB bool) (as, bs []int) {
	as, bs = []int{5, 7, 3}, []int{5, 3, 4}
	if transA {
		as = []int{5, 3, 7}
	}
	if transB {
		bs = []int{5, 4, 3}
	}
	return as, bs
}

// TestBatchedMatMulGrad: float64 gradients of every transposition.
func TestBatchedMatMulGrad(t *testing.T) {
	for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		as, bs := batchedShapes(tr[0], tr[1])
		checkGrad(t, fmt.Sprint("batched matmul ", tr), []*tensor.Dense{randn(1, as...), randn(2, bs...)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
			y, err := BatchedMatMul(xs[0], xs[1], tr[0], tr[1])
			if err != nil {
				return nil, err
			}
			return WeightedSum(g, y, 3)
		})
	}
}

// TestBatchedMatMulIsGorgonias: in float32 the products and both gradients
// have the bits of gorgonia's BatchedMatMul, for every transposition and
// with items of more than one micro-tile.
func TestBatchedMatMulIsGorgonias(t *testing.T) {
	for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		as, bs := []int{6, 70, 40}, []int{6, 40, 45}
		if tr[0] {
			as = []int{6, 40, 70}
		}
		if tr[1] {
			bs = []int{6, 45, 40}
		}
		run := func(own bool) [][]float32 {
			g := G.NewGraph()
			a := G.NewTensor(g, tensor.Float32, 3, G.WithValue(RandN(tensor.Float32, 4, as...)), G.WithName("a"))
			b := G.NewTensor(g, tensor.Float32, 3, G.WithValue(RandN(tensor.Float32, 5, bs...)), G.WithName("b"))
			var y *G.Node
			var err error
			if own {
				y, err = BatchedMatMul(a, b, tr[0], tr[1])
			} else {
				y, err = G.BatchedMatMul(a, b, tr[0], tr[1])
			}
			if err != nil {
				t.Fatal(err)
			}
			var yv G.Value
			G.Read(y, &yv)
			cost := G.Must(WeightedSum(g, y, 6))
			if _, err := G.Grad(cost, a, b); err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(g)
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			ga, _ := a.Grad()
			gb, _ := b.Grad()
			return [][]float32{append([]float32(nil), yv.Data().([]float32)...), ga.Data().([]float32), gb.Data().([]float32)}
		}
		own, ref := run(true), run(false)
		for i, name := range []string{"product", "∂a", "∂b"} {
			for j := range ref[i] {
				if math.Float32bits(own[i][j]) != math.Float32bits(ref[i][j]) {
					t.Fatalf("%v %s element %d: %g, gorgonia's %g", tr, name, j, own[i][j], ref[i][j])
				}
			}
		}
	}
	if _, err := BatchedMatMul(G.NewTensor(G.NewGraph(), tensor.Float32, 3, G.WithShape(2, 3, 4), G.WithName("a")), G.NewTensor(G.NewGraph(), tensor.Float32, 3, G.WithShape(2, 5, 6), G.WithName("b")), false, false); err == nil {
		t.Error("products that do not chain accepted")
	}
}

// TestAddGrad: the gradients of Add, and its sums against gorgonia's on a
// tensor large enough to be shared among the cores.
func TestAddGrad(t *testing.T) {
	checkGrad(t, "add", []*tensor.Dense{randn(1, 3, 4, 5), randn(2, 3, 4, 5)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
		y, err := Add(xs[0], xs[1])
		if err != nil {
			return nil, err
		}
		return WeightedSum(g, y, 3)
	})
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 2, G.WithValue(RandN(tensor.Float32, 4, 300, 301)), G.WithName("x"))
	y := G.NewTensor(g, tensor.Float32, 2, G.WithValue(RandN(tensor.Float32, 5, 300, 301)), G.WithName("y"))
	own, ref := G.Must(Add(x, y)), G.Must(G.Add(x, y))
	var ov, rv G.Value
	G.Read(own, &ov)
	G.Read(ref, &rv)
	if err := G.NewTapeMachine(g).RunAll(); err != nil {
		t.Fatal(err)
	}
	for i, v := range rv.Data().([]float32) {
		if ov.Data().([]float32)[i] != v {
			t.Fatalf("element %d: %g, gorgonia's %g", i, ov.Data().([]float32)[i], v)
		}
	}
	if _, err := Add(x, G.NewTensor(g, tensor.Float32, 2, G.WithShape(3, 3), G.WithName("z"))); err == nil {
		t.Error("shapes that differ accepted")
	}
}

// TestParallelCopies: swapping axes with the work shared among the cores
// gives the values of one loop.
func TestParallelCopies(t *testing.T) {
	s := tensor.Shape{4, 64, 70, 8}
	x := RandN(tensor.Float32, 7, s...).Data().([]float32)
	y := make([]float32, len(x))
	swapAxes12(s, x, y)
	for i := 0; i < s[0]; i++ {
		for j := 0; j < s[1]; j++ {
			for k := 0; k < s[2]; k++ {
				for l := 0; l < s[3]; l++ {
					if got, want := y[((i*s[2]+k)*s[1]+j)*s[3]+l], x[((i*s[1]+j)*s[2]+k)*s[3]+l]; got != want {
						t.Fatalf("swap (%d, %d, %d, %d): %g, want %g", i, j, k, l, got, want)
					}
				}
			}
		}
	}
}

// TestSwapAxes12As: read as another shape and reshaped, the swap has the
// gradients of its float64 check and the values of Reshape, SwapAxes12,
// Reshape (attention's head split).
func TestSwapAxes12As(t *testing.T) {
	as, out := tensor.Shape{2, 5, 3, 4}, tensor.Shape{6, 5, 4}
	checkGrad(t, "swapaxes12as", []*tensor.Dense{randn(1, 10, 12)}, func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error) {
		y, err := SwapAxes12As(xs[0], as, out)
		if err != nil {
			return nil, err
		}
		return WeightedSum(g, y, 2)
	})
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 2, G.WithValue(RandN(tensor.Float32, 3, 10, 12)), G.WithName("x"))
	fused := G.Must(SwapAxes12As(x, as, out))
	ref := G.Must(Reshape(G.Must(SwapAxes12(G.Must(Reshape(x, as...)))), out...))
	var fv, rv G.Value
	G.Read(fused, &fv)
	G.Read(ref, &rv)
	if err := G.NewTapeMachine(g).RunAll(); err != nil {
		t.Fatal(err)
	}
	if !fv.Shape().Eq(out) {
		t.Fatalf("shape %v, want %v", fv.Shape(), out)
	}
	for i, v := range rv.Data().([]float32) {
		if fv.Data().([]float32)[i] != v {
			t.Fatalf("element %d: %g, the three ops' %g", i, fv.Data().([]float32)[i], v)
		}
	}
	if _, err := SwapAxes12As(x, tensor.Shape{2, 5, 3, 5}, out); err == nil {
		t.Error("a shape of another size accepted")
	}
}
