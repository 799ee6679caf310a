package nn

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Float is the element type of every owned operator.
type Float interface{ ~float32 | ~float64 }

// opBase carries what every owned op shares: a name with its configuration
// (which feeds the hash, so two configurations never de-duplicate into one
// node, GORGONIA.md #10), and the ranks of inputs and output for typing.
type opBase struct {
	name   string // includes every configuration parameter
	inDims []int  // rank of each input
	outDim int    // rank of the output
	cache  *tensor.Dense
}

// output returns the op's output tensor: the one of the previous run when
// dtype and shape match (a tape machine's Reset drops every buffer,
// GORGONIA.md #9; reusing them saves the allocation and its clearing),
// zeroed when zero is set (for ops that accumulate into it). The tensor
// belongs to the op: the value of a node is valid until the next run.
func (o *opBase) output(dt tensor.Dtype, zero bool, shape ...int) *tensor.Dense {
	if c := o.cache; c != nil && c.Dtype() == dt && c.Shape().Eq(tensor.Shape(shape)) && !c.IsView() {
		if zero {
			switch d := c.Data().(type) {
			case []float32:
				clear(d)
			case []float64:
				clear(d)
			}
		}
		return c
	}
	o.cache = newDense(dt, shape...)
	return o.cache
}

func (o *opBase) Arity() int { return len(o.inDims) }

func (o *opBase) Type() hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, 0, len(o.inDims)+1)
	for _, d := range o.inDims {
		ts = append(ts, tensorType(d, a))
	}
	ts = append(ts, tensorType(o.outDim, a))
	return hm.NewFnType(ts...)
}

func tensorType(dims int, a hm.Type) hm.Type {
	if dims == 0 {
		return a
	}
	return G.TensorType{Dims: dims, Of: a}
}

func (o *opBase) ReturnsPtr() bool      { return false }
func (o *opBase) CallsExtern() bool     { return false }
func (o *opBase) OverwritesInput() int  { return -1 }
func (o *opBase) WriteHash(h hash.Hash) { fmt.Fprint(h, "rpo/nn.", o.name) }
func (o *opBase) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}
func (o *opBase) String() string { return o.name }

// dense returns the inputs as *tensor.Dense, checking count and dtype.
func dense(o *opBase, vals []G.Value) ([]*tensor.Dense, error) {
	if len(vals) != len(o.inDims) {
		return nil, fmt.Errorf("nn: %s: want %d inputs, got %d", o.name, len(o.inDims), len(vals))
	}
	if interrupted.Load() {
		return nil, ErrInterrupted
	}
	out := make([]*tensor.Dense, len(vals))
	for i, v := range vals {
		d, ok := v.(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("nn: %s: input %d is %T, not a dense tensor", o.name, i, v)
		}
		if i > 0 && d.Dtype() != out[0].Dtype() {
			return nil, fmt.Errorf("nn: %s: input %d has dtype %v, input 0 has %v", o.name, i, d.Dtype(), out[0].Dtype())
		}
		if err := checkFloat(o, d); err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// contiguous returns the backing slice of a dense tensor as []T, copying a
// view into a fresh slice if the tensor is not contiguous.
func contiguous[T Float](d *tensor.Dense) []T {
	if d.IsView() {
		d = d.Materialize().(*tensor.Dense)
	}
	return d.Data().([]T)
}

// newDense allocates a zeroed tensor of dtype dt and shape shape.
func newDense(dt tensor.Dtype, shape ...int) *tensor.Dense {
	return tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
}

// checkFloat refuses dtypes other than float32 and float64.
func checkFloat(o *opBase, d *tensor.Dense) error {
	if d.Dtype() != tensor.Float32 && d.Dtype() != tensor.Float64 {
		return fmt.Errorf("nn: %s: dtype %v is not float32 or float64", o.name, d.Dtype())
	}
	return nil
}
