package nn

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"gorgonia.org/tensor"
)

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter), as
// torch.optim.AdamW, preceded by clipping of the global gradient norm (as
// torch.nn.utils.clip_grad_norm_). For each parameter θ with gradient g at
// step t (from 1):
//
//	g ← g · min(1, MaxGradNorm / (‖g‖₂ + 1e-6))   over all parameters, if MaxGradNorm > 0
//	θ ← θ − LR·WeightDecay·θ
//	m ← β₁·m + (1−β₁)·g,  v ← β₂·v + (1−β₂)·g²
//	θ ← θ − LR · (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + Eps)
//
// Moments are kept in float64 whatever the parameter dtype. The zero value
// is not usable: start from NewAdamW.
type AdamW struct {
	LR, Beta1, Beta2, Eps float64
	WeightDecay           float64
	MaxGradNorm           float64 // 0 disables clipping
	Step                  int     // number of updates done
	M, V                  map[string][]float64
}

// NewAdamW returns AdamW with the defaults of the paper and of diffusers'
// DreamBooth: betas (0.9, 0.999), eps 1e-8, weight decay 1e-2, clip 1.0.
func NewAdamW(lr float64) *AdamW {
	return &AdamW{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-2, MaxGradNorm: 1,
		M: map[string][]float64{}, V: map[string][]float64{}}
}

// GlobalNorm returns ‖g‖₂ over all gradients, summed in the order of the
// parameters' names so that the same gradients give the same bits.
func GlobalNorm(grads map[string]*tensor.Dense) float64 {
	var ss float64
	for _, name := range slices.Sorted(maps.Keys(grads)) {
		for _, v := range Float64s(grads[name]) {
			ss += v * v
		}
	}
	return math.Sqrt(ss)
}

// Update applies one step to the parameters of store named in grads and
// returns the global gradient norm before clipping.
func (o *AdamW) Update(store *Store, grads map[string]*tensor.Dense) (float64, error) {
	norm := GlobalNorm(grads)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm, fmt.Errorf("nn: adamw: gradient norm is %v; parameters left unchanged", norm)
	}
	scale := 1.0
	if o.MaxGradNorm > 0 && norm > o.MaxGradNorm {
		scale = o.MaxGradNorm / (norm + 1e-6)
	}
	o.Step++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.Step))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.Step))
	for name, gt := range grads {
		p := store.Lookup(name)
		if p == nil {
			return norm, fmt.Errorf("nn: adamw: no parameter %q", name)
		}
		g := Float64s(gt)
		n := len(g)
		if p.Shape().TotalSize() != n {
			return norm, fmt.Errorf("nn: adamw: gradient of %q has %d elements, parameter %d", name, n, p.Shape().TotalSize())
		}
		m, v := o.M[name], o.V[name]
		if m == nil {
			m, v = make([]float64, n), make([]float64, n)
			o.M[name], o.V[name] = m, v
		}
		update := func(theta float64, i int) float64 {
			gi := g[i] * scale
			theta -= o.LR * o.WeightDecay * theta
			m[i] = o.Beta1*m[i] + (1-o.Beta1)*gi
			v[i] = o.Beta2*v[i] + (1-o.Beta2)*gi*gi
			return theta - o.LR*(m[i]/bc1)/(math.Sqrt(v[i]/bc2)+o.Eps)
		}
		switch d := p.Data().(type) {
		case []float32:
			for i := range d {
				d[i] = float32(update(float64(d[i]), i))
			}
		case []float64:
			for i := range d {
				d[i] = update(d[i], i)
			}
		}
	}
	return norm, nil
}
