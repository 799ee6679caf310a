package nn

import (
	"fmt"
	"math"
	"runtime"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Program is a compiled graph: a tape machine that computes a scalar loss
// and, when compiled for training, the gradient of every parameter the
// graph uses.
type Program struct {
	Plan     BufferPlan // how the owned operators' outputs share memory
	Trained  int64      // bytes of the parameters whose gradients it computes
	vm       G.VM
	lossVal  G.Value
	names    []string
	gradVals []G.Value
}

// Compile compiles b's graph. Other outputs the caller wants to read must be
// registered with G.Read before Compile.
func Compile(b *Builder, loss *G.Node, train bool) (*Program, error) {
	return CompileTrainable(b, loss, train, nil)
}

// CompileTrainable is Compile computing the gradients of the parameters
// trainable accepts only (nil: all): a LoRA step differentiates the
// adapters, not the frozen weights.
func CompileTrainable(b *Builder, loss *G.Node, train bool, trainable func(string) bool) (*Program, error) {
	p := &Program{}
	if loss != nil {
		G.Read(loss, &p.lossVal)
	}
	if train {
		all, allNames := b.Params()
		var params G.Nodes
		var names []string
		for i, n := range allNames {
			if trainable == nil || trainable(n) {
				params, names = append(params, all[i]), append(names, n)
			}
		}
		grads, err := G.Grad(loss, params...)
		if err != nil {
			return nil, fmt.Errorf("nn: gradient: %w", err)
		}
		p.names = names
		for _, n := range params {
			p.Trained += int64(n.Shape().TotalSize()) * int64(n.Dtype().Size())
		}
		p.gradVals = make([]G.Value, len(grads))
		for i := range grads {
			G.Read(grads[i], &p.gradVals[i])
		}
	}
	// Only what the reads need runs: an operator's SymDiff builds the
	// gradients of all its inputs, and a LoRA step would otherwise compute
	// (and keep) the gradient of every frozen weight.
	var reads G.Nodes
	for _, n := range b.G.AllNodes() {
		if isStatement(n) {
			reads = append(reads, n)
		}
	}
	g := b.G
	if len(reads) > 0 {
		g = b.G.ExactSubgraphRoots(reads...)
	}
	if PlanBuffers {
		plan, err := planBuffers(g)
		if err != nil {
			return nil, fmt.Errorf("nn: buffer plan: %w", err)
		}
		p.Plan = plan
	}
	vm := G.NewTapeMachine(g)
	// gorgonia sets a finalizer on every tape machine (a no-op without
	// CUDA). The machine sits in a reference cycle with its program and
	// graph, and Go never collects a cycle that holds a finalizer: every
	// compiled program — with every value of its last run — stayed in memory
	// for the life of the process (GORGONIA.md lists the other traps; this
	// one cost ~7 GB per subject in rpo eval). Without the finalizer the
	// machine is ordinary garbage once unreachable.
	runtime.SetFinalizer(vm, nil)
	p.vm = vm
	return p, nil
}

// Run executes the program once and returns the loss (0 without one).
func (p *Program) Run() (float64, error) {
	p.vm.Reset()
	err := p.vm.RunAll()
	if interrupted.Load() { // whatever RunAll said (gorgonia's wrapping loses the chain), an operator was cut short
		return 0, ErrInterrupted
	}
	if err != nil {
		return 0, err
	}
	if p.lossVal == nil {
		return 0, nil
	}
	return ScalarValue(p.lossVal)
}

// ScalarValue is the number in a float32 or float64 scalar value (a loss,
// or another scalar read with G.Read).
func ScalarValue(v G.Value) (float64, error) {
	if v == nil {
		return 0, fmt.Errorf("nn: no value read")
	}
	switch x := v.Data().(type) {
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	return 0, fmt.Errorf("nn: scalar of type %T", v.Data())
}

// Scalar is ScalarValue for metrics: NaN where there is no scalar, so that
// a training loop stops on it.
func Scalar(v G.Value) float64 {
	x, err := ScalarValue(v)
	if err != nil {
		return math.NaN()
	}
	return x
}

// Grads returns the gradients of the last Run by parameter name. The
// tensors belong to the program and change at the next Run.
func (p *Program) Grads() map[string]*tensor.Dense {
	out := make(map[string]*tensor.Dense, len(p.names))
	for i, n := range p.names {
		out[n] = p.gradVals[i].(*tensor.Dense)
	}
	return out
}

// Close releases the machine.
func (p *Program) Close() error { return p.vm.Close() }
