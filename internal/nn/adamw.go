package nn

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"

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
		switch g := grads[name].Data().(type) {
		case []float32:
			for _, x := range g {
				v := float64(x)
				ss += v * v
			}
		default:
			for _, v := range Float64s(grads[name]) {
				ss += v * v
			}
		}
	}
	return math.Sqrt(ss)
}

// adamwStep is what every element's update of one step shares.
type adamwStep struct{ lr, wd, b1, b2, eps, bc1, bc2, scale float64 }

// constants are the values adamwRange's expressions compute from c, in the
// order the vector kernels read them: scale, lr·wd, β₁, 1−β₁, β₂, 1−β₂,
// bc1, bc2, lr, eps.
func (c adamwStep) constants() [10]float64 {
	return [10]float64{c.scale, c.lr * c.wd, c.b1, 1 - c.b1, c.b2, 1 - c.b2, c.bc1, c.bc2, c.lr, c.eps}
}

// adamwRange updates elements [a, b) of one parameter d with gradient g
// and moments m, v (the formula of AdamW's comment, in float64).
func adamwRange[P, G Float](c adamwStep, d []P, g []G, m, v []float64, a, b int) {
	for i := a; i < b; i++ {
		gi := float64(g[i]) * c.scale
		theta := float64(d[i])
		theta -= c.lr * c.wd * theta
		m[i] = c.b1*m[i] + (1-c.b1)*gi
		v[i] = c.b2*v[i] + (1-c.b2)*gi*gi
		d[i] = P(theta - c.lr*(m[i]/c.bc1)/(math.Sqrt(v[i]/c.bc2)+c.eps))
	}
}

// adamwJob is one parameter's update: its elements [a, b) at a time.
type adamwJob func(a, b int)

// Update applies one step to the parameters of store named in grads and
// returns the global gradient norm before clipping. The elements of all
// parameters are shared among the cores in one fork (each element's
// update is independent, so the bits do not depend on the split).
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
	c := adamwStep{lr: o.LR, wd: o.WeightDecay, b1: o.Beta1, b2: o.Beta2, eps: o.Eps, scale: scale,
		bc1: 1 - math.Pow(o.Beta1, float64(o.Step)), bc2: 1 - math.Pow(o.Beta2, float64(o.Step))}
	var jobs []adamwJob
	offs := []int{0} // jobs[j] covers elements offs[j] … offs[j+1] of the whole update
	for name, gt := range grads {
		p := store.Lookup(name)
		if p == nil {
			return norm, fmt.Errorf("nn: adamw: no parameter %q", name)
		}
		n := gt.Shape().TotalSize()
		if p.Shape().TotalSize() != n {
			return norm, fmt.Errorf("nn: adamw: gradient of %q has %d elements, parameter %d", name, n, p.Shape().TotalSize())
		}
		m, v := o.M[name], o.V[name]
		if m == nil {
			m, v = make([]float64, n), make([]float64, n)
			o.M[name], o.V[name] = m, v
		}
		var job adamwJob
		switch d := p.Data().(type) {
		case []float32:
			job = jobFor(c, d, gt, m, v)
		case []float64:
			job = jobFor(c, d, gt, m, v)
		default:
			return norm, fmt.Errorf("nn: adamw: parameter %q is %T", name, d)
		}
		jobs, offs = append(jobs, job), append(offs, offs[len(offs)-1]+n)
	}
	run := func(_, lo, hi int) {
		for j := sort.SearchInts(offs, lo+1) - 1; j < len(jobs) && offs[j] < hi; j++ {
			jobs[j](max(lo, offs[j])-offs[j], min(hi, offs[j+1])-offs[j])
		}
	}
	if total := offs[len(offs)-1]; total >= 1<<15 {
		parallelFor(total, run)
	} else {
		run(0, 0, total)
	}
	return norm, nil
}

// jobFor is the update of parameter d by gradient gt (float32, read in
// place, or any other dtype as float64).
func jobFor[P Float](c adamwStep, d []P, gt *tensor.Dense, m, v []float64) adamwJob {
	if g, ok := gt.Data().([]float32); ok {
		if d32, ok := any(d).([]float32); ok {
			return func(a, b int) {
				a += adamwVec(c, d32[a:b], g[a:b], m[a:b], v[a:b])
				adamwRange(c, d32, g, m, v, a, b)
			}
		}
		return func(a, b int) { adamwRange(c, d, g, m, v, a, b) }
	}
	g := Float64s(gt)
	return func(a, b int) { adamwRange(c, d, g, m, v, a, b) }
}
