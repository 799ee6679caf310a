package nn

import (
	"fmt"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LoRA is low-rank adaptation (Hu et al. 2021) of a model's Linear layers:
// y = W·x + b + (α/r)·U·D·x with D (r, in) and U (out, r), U starting at
// zero, as diffusers' LoRALinearLayer (down, up; network_alpha α). The
// adapters are parameters "<layer>.lora.down.weight" and
// "<layer>.lora.up.weight", which for Stable Diffusion's U-Net are the keys
// of diffusers' pytorch_lora_weights.safetensors.
type LoRA struct {
	Rank    int
	Alpha   float64  // 0: the rank (scale 1)
	Targets []string // the layers' last name parts: to_q, to_k, to_v, to_out.0
	Under   string   // only layers under this prefix ("unet.")
}

// Scale is α/r.
func (l *LoRA) Scale() float64 { return l.EffectiveAlpha() / float64(l.Rank) }

// EffectiveAlpha is α, the rank when unset.
func (l *LoRA) EffectiveAlpha() float64 {
	if l.Alpha == 0 {
		return float64(l.Rank)
	}
	return l.Alpha
}

// Adapts reports whether the Linear layer called name gets an adapter.
// "to_out.0" also names the embedded models' "to_out".
func (l *LoRA) Adapts(name string) bool {
	if l == nil || !strings.HasPrefix(name, l.Under) {
		return false
	}
	for _, t := range l.Targets {
		if strings.HasSuffix(name, "."+t) || t == "to_out.0" && strings.HasSuffix(name, ".to_out") {
			return true
		}
	}
	return false
}

// IsLoRAParam reports whether a parameter name is an adapter's.
func IsLoRAParam(name string) bool { return strings.Contains(name, ".lora.") }

// loraDelta builds (α/r)·U·D·x for the layer s (scoped to the layer) on x (M, in).
func (b *Builder) loraDelta(s *Builder, x *G.Node, in, out int) *G.Node {
	r := b.LoRA.Rank
	down := s.Param("lora.down.weight", []int{r, in}, Normal(1/float64(r)), in, r)
	up := s.Param("lora.up.weight", []int{out, r}, Zeros, r, out)
	h := b.check("lora")(b.Ops.MatMulT(x, down))
	h = b.check("lora")(b.Ops.MatMulT(h, up))
	if sc := b.LoRA.Scale(); sc != 1 {
		h = b.check("lora")(G.Mul(h, b.Scalar(sc)))
	}
	return h
}

// MergeLoRA returns a store that shares s's tensors except that every
// adapted weight W is a copy holding W + scale·(α/r)·U·D, with the adapters
// themselves left out: the model as it runs with its adapters on, for
// sampling and saving.
func MergeLoRA(s *Store, alphaOverRank, scale float64) (*Store, error) {
	out := &Store{dtype: s.dtype, seed: s.seed, params: map[string]*tensor.Dense{}}
	for n, t := range s.params {
		if !IsLoRAParam(n) {
			out.params[n] = t
		}
	}
	for n := range s.params {
		layer, ok := strings.CutSuffix(n, ".lora.down.weight")
		if !ok {
			continue
		}
		down, up, w := s.params[n], s.params[layer+".lora.up.weight"], s.params[layer+".weight"]
		if up == nil || w == nil {
			return nil, fmt.Errorf("nn: adapter %s has no up weight or no base weight %s.weight", layer, layer)
		}
		ws, ds, us := w.Shape(), down.Shape(), up.Shape()
		if ds[0] != us[1] || ws[0] != us[0] || ws[1] != ds[1] {
			return nil, fmt.Errorf("nn: adapter %s: down %v and up %v do not fit weight %v", layer, ds, us, ws)
		}
		merged := w.Clone().(*tensor.Dense)
		wf, df, uf := Float64s(merged), Float64s(down), Float64s(up)
		r, in, o := ds[0], ds[1], us[0]
		k := alphaOverRank * scale
		for i := 0; i < o; i++ {
			for j := 0; j < in; j++ {
				var acc float64
				for q := 0; q < r; q++ {
					acc += uf[i*r+q] * df[q*in+j]
				}
				wf[i*in+j] += k * acc
			}
		}
		out.params[layer+".weight"] = FromFloat64(s.dtype, wf, ws...)
	}
	return out, nil
}

// Overlay returns a store that shares every tensor of s: parameters it
// creates (adapters) are its own, so one base model serves several.
func (s *Store) Overlay() *Store {
	o := &Store{dtype: s.dtype, seed: s.seed, params: make(map[string]*tensor.Dense, len(s.params))}
	for n, t := range s.params {
		o.params[n] = t
	}
	return o
}

// Subset returns a store sharing the tensors of s whose names keep accepts.
func (s *Store) Subset(keep func(string) bool) *Store {
	o := &Store{dtype: s.dtype, seed: s.seed, params: map[string]*tensor.Dense{}}
	for n, t := range s.params {
		if keep(n) {
			o.params[n] = t
		}
	}
	return o
}
