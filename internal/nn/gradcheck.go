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
// of every input and of every parameter build creates in store (a float64
// store; nil means a fresh one). build receives one node per input, bound to
// those tensors.
func GradCheck(store *Store, inputs []*tensor.Dense, h float64, build func(b *Builder, xs G.Nodes) *G.Node) (GradCheckResult, error) {
	var res GradCheckResult
	if store == nil {
		store = NewStore(tensor.Float64, 1)
	}
	if store.Dtype() != tensor.Float64 {
		return res, fmt.Errorf("nn: gradcheck: store is %v, want float64", store.Dtype())
	}
	b := NewBuilder(store, nil)
	xs := make(G.Nodes, len(inputs))
	for i, t := range inputs {
		if t.Dtype() != tensor.Float64 {
			return res, fmt.Errorf("nn: gradcheck: input %d is %v, want float64", i, t.Dtype())
		}
		xs[i] = G.NewTensor(b.G, tensor.Float64, t.Dims(), G.WithShape(t.Shape()...), G.WithValue(t), G.WithName(fmt.Sprintf("x%d", i)))
	}
	var loss *G.Node
	if err := Build(func() { loss = build(b, xs) }); err != nil {
		return res, err
	}
	if !loss.IsScalar() {
		return res, fmt.Errorf("nn: gradcheck: loss has shape %v, want a scalar", loss.Shape())
	}
	params, names := b.Params()
	wrt := append(append(G.Nodes{}, xs...), params...)
	tensors := append([]*tensor.Dense{}, inputs...)
	labels := make([]string, 0, len(wrt))
	for i := range inputs {
		labels = append(labels, fmt.Sprintf("input %d", i))
	}
	for _, n := range names {
		tensors = append(tensors, store.Lookup(n))
		labels = append(labels, n)
	}
	var lossVal G.Value
	G.Read(loss, &lossVal)
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		return res, err
	}
	gradVals := make([]G.Value, len(grads))
	for i := range grads {
		G.Read(grads[i], &gradVals[i])
	}
	vm := G.NewTapeMachine(b.G)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return res, err
	}
	symbolic := make([][]float64, len(wrt))
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
	for i, t := range tensors {
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
				return res, fmt.Errorf("nn: gradcheck: NaN at %s element %d", labels[i], j)
			}
			res.MaxAbsErr = math.Max(res.MaxAbsErr, abs)
			if rel > res.MaxRelErr {
				res.MaxRelErr = rel
				res.Where = fmt.Sprintf("%s element %d: symbolic %g, numeric %g", labels[i], j, sym, num)
			}
		}
	}
	return res, nil
}

// WeightedSum returns Σ y ⊙ r for a fixed random tensor r of y's shape: a
// scalar whose gradient with respect to y is r, so every output element of
// an op under test carries a distinct weight.
func WeightedSum(g *G.ExprGraph, y *G.Node, seed uint64) (*G.Node, error) {
	if y.Shape().TotalSize() == 1 && y.IsScalar() {
		return y, nil
	}
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
