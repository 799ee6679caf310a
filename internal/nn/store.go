package nn

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"

	"gorgonia.org/tensor"
)

// Store holds a model's parameters by stable hierarchical name
// ("down.0.res.conv1.weight"); the names become checkpoint keys. Graphs
// built from a store share its tensors, so an optimizer step on the store is
// seen by every graph.
//
// A new parameter is initialised from an RNG seeded by (seed, name), so its
// initial value depends neither on the order in which parameters are created
// nor on which other parameters exist.
type Store struct {
	dtype    tensor.Dtype
	seed     uint64
	params   map[string]*tensor.Dense
	zeroInit bool // parameters a checkpoint is about to fill: zeros, not drawn
}

// ZeroInit makes new parameters start at zero instead of being drawn from
// their initialiser, while on: for a store that a checkpoint fills next
// (drawing Stable Diffusion's 860 M initial values took seconds of every
// load). Loaders turn it off after loading.
func (s *Store) ZeroInit(on bool) { s.zeroInit = on }

// NewStore returns an empty store of dtype dt (float32 or float64).
func NewStore(dt tensor.Dtype, seed uint64) *Store {
	if dt != tensor.Float32 && dt != tensor.Float64 {
		panic(fmt.Sprintf("nn: store dtype %v is not float32 or float64", dt))
	}
	return &Store{dtype: dt, seed: seed, params: map[string]*tensor.Dense{}}
}

// Dtype is the element type of every parameter.
func (s *Store) Dtype() tensor.Dtype { return s.dtype }

// Get returns the parameter called name, creating it with init if it does
// not exist yet. It panics if an existing parameter has another shape: two
// layers claiming one name is a programming error.
func (s *Store) Get(name string, shape []int, init Init, fanIn, fanOut int) *tensor.Dense {
	if t, ok := s.params[name]; ok {
		if !t.Shape().Eq(tensor.Shape(shape)) {
			panic(fmt.Sprintf("nn: parameter %q has shape %v, requested %v", name, t.Shape(), shape))
		}
		return t
	}
	if s.zeroInit {
		t := tensor.New(tensor.Of(s.dtype), tensor.WithShape(shape...))
		s.params[name] = t
		return t
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := rand.New(rand.NewPCG(s.seed, h.Sum64()))
	v := init(rng, shape, fanIn, fanOut)
	if v == nil {
		v = make([]float64, tensor.Shape(shape).TotalSize())
	}
	t := FromFloat64(s.dtype, v, shape...)
	s.params[name] = t
	return t
}

// Lookup returns the parameter called name, or nil.
func (s *Store) Lookup(name string) *tensor.Dense { return s.params[name] }

// Set replaces (or adds) the parameter called name; its dtype must match.
func (s *Store) Set(name string, t *tensor.Dense) error {
	if t.Dtype() != s.dtype {
		return fmt.Errorf("nn: parameter %q: dtype %v, store holds %v", name, t.Dtype(), s.dtype)
	}
	if old, ok := s.params[name]; ok {
		if !old.Shape().Eq(t.Shape()) {
			return fmt.Errorf("nn: parameter %q: shape %v, model expects %v", name, t.Shape(), old.Shape())
		}
		copyData(old, t) // in place: graphs built on old see the new value
		return nil
	}
	s.params[name] = t
	return nil
}

// Names returns the parameter names, sorted.
func (s *Store) Names() []string {
	names := make([]string, 0, len(s.params))
	for n := range s.params {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Len is the number of parameter tensors; Count the number of scalars.
func (s *Store) Len() int { return len(s.params) }

// Count returns the total number of scalar parameters.
func (s *Store) Count() int {
	n := 0
	for _, t := range s.params {
		n += t.Shape().TotalSize()
	}
	return n
}

// Bytes is the size of the parameters' values.
func (s *Store) Bytes() int64 { return int64(s.Count()) * int64(s.dtype.Size()) }

// Clone returns a deep copy (a frozen reference model, an EMA).
func (s *Store) Clone() *Store {
	c := &Store{dtype: s.dtype, seed: s.seed, params: make(map[string]*tensor.Dense, len(s.params))}
	for n, t := range s.params {
		c.params[n] = t.Clone().(*tensor.Dense)
	}
	return c
}

// copyData copies src's values into dst (same dtype and size).
func copyData(dst, src *tensor.Dense) {
	switch d := dst.Data().(type) {
	case []float32:
		copy(d, src.Data().([]float32))
	case []float64:
		copy(d, src.Data().([]float64))
	}
}

// Float64s returns the values of t as float64 (a copy).
func Float64s(t *tensor.Dense) []float64 {
	switch d := t.Data().(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	case []float64:
		return append([]float64(nil), d...)
	case float32:
		return []float64{float64(d)}
	case float64:
		return []float64{d}
	}
	panic(fmt.Sprintf("nn: tensor of dtype %v", t.Dtype()))
}
