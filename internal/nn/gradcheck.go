package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GradCheckResult reports the worst disagreement between the symbolic
// gradient and central finite differences.
type GradCheckResult struct {
	MaxAbsErr float64 // max |symbolic − numeric|
	MaxRelErr float64 // max |symbolic − numeric| / max(1, |symbolic|, |numeric|)
	Where     string  // input and element of the worst relative error
}

// GradCheck compares, in float64, the symbolic gradient of the scalar that
// build returns with central finite differences of step h, for every element
// of every input. inputs are float64 tensors; build receives one node per
// input, bound to those tensors.
func GradCheck(inputs []*tensor.Dense, h float64, build func(g *G.ExprGraph, xs G.Nodes) (*G.Node, error)) (GradCheckResult, error) {
	var res GradCheckResult
	g := G.NewGraph()
	xs := make(G.Nodes, len(inputs))
	for i, t := range inputs {
		if t.Dtype() != tensor.Float64 {
			return res, fmt.Errorf("nn: gradcheck: input %d is %v, want float64", i, t.Dtype())
		}
		xs[i] = G.NewTensor(g, tensor.Float64, t.Dims(), G.WithShape(t.Shape()...), G.WithValue(t), G.WithName(fmt.Sprintf("x%d", i)))
	}
	loss, err := build(g, xs)
	if err != nil {
		return res, err
	}
	if !loss.IsScalar() {
		return res, fmt.Errorf("nn: gradcheck: loss has shape %v, want a scalar", loss.Shape())
	}
	var lossVal G.Value
	G.Read(loss, &lossVal)
	grads, err := G.Grad(loss, xs...)
	if err != nil {
		return res, err
	}
	gradVals := make([]G.Value, len(grads))
	for i := range grads {
		G.Read(grads[i], &gradVals[i])
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return res, err
	}
	symbolic := make([][]float64, len(inputs))
	for i, v := range gradVals {
		symbolic[i] = append([]float64(nil), v.Data().([]float64)...)
	}
	eval := func() (float64, error) {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			return 0, err
		}
		return lossVal.Data().(float64), nil
	}
	for i, t := range inputs {
		data := t.Data().([]float64)
		for j := range data {
			orig := data[j]
			data[j] = orig + h
			up, err := eval()
			if err != nil {
				return res, err
			}
			data[j] = orig - h
			down, err := eval()
			if err != nil {
				return res, err
			}
			data[j] = orig
			num := (up - down) / (2 * h)
			sym := symbolic[i][j]
			abs := math.Abs(num - sym)
			rel := abs / math.Max(1, math.Max(math.Abs(num), math.Abs(sym)))
			if math.IsNaN(abs) {
				return res, fmt.Errorf("nn: gradcheck: NaN at input %d element %d", i, j)
			}
			if abs > res.MaxAbsErr {
				res.MaxAbsErr = abs
			}
			if rel > res.MaxRelErr {
				res.MaxRelErr = rel
				res.Where = fmt.Sprintf("input %d element %d: symbolic %g, numeric %g", i, j, sym, num)
			}
		}
	}
	return res, nil
}

// WeightedSum returns Σ y ⊙ r for a fixed random tensor r of y's shape: a
// scalar whose gradient with respect to y is r, so every output element of
// an op under test carries a distinct weight.
func WeightedSum(g *G.ExprGraph, y *G.Node, seed uint64) (*G.Node, error) {
	r := RandN(y.Dtype(), seed, y.Shape()...)
	rn := G.NewTensor(g, y.Dtype(), y.Dims(), G.WithShape(y.Shape()...), G.WithValue(r), G.WithName(fmt.Sprintf("weights%d", seed)))
	p, err := G.HadamardProd(y, rn)
	if err != nil {
		return nil, err
	}
	flat, err := Reshape(p, p.Shape().TotalSize())
	if err != nil {
		return nil, err
	}
	return G.Sum(flat)
}
