package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Builder builds one graph from a parameter store. Scope returns a builder
// whose parameter names carry a prefix, so model code reads like the
// architecture: b.Scope("down.0").ResBlock(...).
type Builder struct {
	G      *G.ExprGraph
	Store  *Store
	Ops    Ops
	LoRA   *LoRA // adapters on the Linear layers it names (nil: none)
	prefix string
	nodes  *paramNodes // shared by all scopes of one graph
}

type paramNodes struct {
	byName map[string]*G.Node
	order  []string
}

// NewBuilder starts a new graph on store; ops nil means Owned.
func NewBuilder(store *Store, ops Ops) *Builder {
	if ops == nil {
		ops = Owned{}
	}
	return &Builder{G: G.NewGraph(), Store: store, Ops: ops, nodes: &paramNodes{byName: map[string]*G.Node{}}}
}

// Scope returns a builder whose names are prefixed by name + ".".
func (b *Builder) Scope(name string) *Builder {
	c := *b
	c.prefix = b.prefix + name + "."
	return &c
}

// Scopef is Scope with a formatted name ("down.%d").
func (b *Builder) Scopef(format string, args ...any) *Builder {
	return b.Scope(fmt.Sprintf(format, args...))
}

// Param returns the graph node of the parameter prefix+name, creating the
// parameter in the store with init when it does not exist.
func (b *Builder) Param(name string, shape []int, init Init, fanIn, fanOut int) *G.Node {
	full := b.prefix + name
	if n, ok := b.nodes.byName[full]; ok {
		return n
	}
	t := b.Store.Get(full, shape, init, fanIn, fanOut)
	n := G.NewTensor(b.G, b.Store.Dtype(), len(shape), G.WithShape(shape...), G.WithValue(t), G.WithName(full))
	b.nodes.byName[full] = n
	b.nodes.order = append(b.nodes.order, full)
	return n
}

// Input creates an input node of the store's dtype; its value is set with
// G.Let (or by writing into the tensor it was created with).
func (b *Builder) Input(name string, shape ...int) *G.Node {
	t := tensor.New(tensor.Of(b.Store.Dtype()), tensor.WithShape(shape...))
	return G.NewTensor(b.G, b.Store.Dtype(), len(shape), G.WithShape(shape...), G.WithValue(t), G.WithName(name))
}

// InputData is Input that also returns the tensor bound to the node: write
// a step's values into it before running.
func (b *Builder) InputData(name string, shape ...int) (*G.Node, *tensor.Dense) {
	t := tensor.New(tensor.Of(b.Store.Dtype()), tensor.WithShape(shape...))
	return G.NewTensor(b.G, b.Store.Dtype(), len(shape), G.WithShape(shape...), G.WithValue(t), G.WithName(name)), t
}

// Params returns the parameter nodes this graph uses, in creation order,
// and their names.
func (b *Builder) Params() (G.Nodes, []string) {
	nodes := make(G.Nodes, len(b.nodes.order))
	for i, n := range b.nodes.order {
		nodes[i] = b.nodes.byName[n]
	}
	return nodes, append([]string(nil), b.nodes.order...)
}

// Constant returns a constant node holding v (float64 values converted to
// the store's dtype); name must be unique in the graph.
func (b *Builder) Constant(name string, v []float64, shape ...int) *G.Node {
	t := FromFloat64(b.Store.Dtype(), v, shape...)
	return G.NewTensor(b.G, b.Store.Dtype(), len(shape), G.WithShape(shape...), G.WithValue(t), G.WithName(b.prefix+name))
}

// Scalar returns a scalar constant of the store's dtype.
func (b *Builder) Scalar(v float64) *G.Node {
	if b.Store.Dtype() == tensor.Float32 {
		return G.NewConstant(float32(v))
	}
	return G.NewConstant(v)
}
