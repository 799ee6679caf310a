package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// PlanBuffers makes Compile share output buffers between owned operators
// whose values are never alive at the same time (on by default; off only
// to measure what it saves).
var PlanBuffers = true

// planMinElems is the smallest output a plan shares: below it the
// bookkeeping costs more than the memory.
const planMinElems = 1024

// owned is implemented by every operator of this package (through opBase).
type owned interface{ base() *opBase }

func (o *opBase) base() *opBase { return o }

// BufferPlan reports what a plan did: the bytes the owned operators' outputs
// take one buffer each, the bytes of the shared buffers that replace them,
// and the bytes of the values it left alone (gorgonia's operators' outputs,
// values read after the run, small ones).
type BufferPlan struct {
	OwnedBytes, SharedBytes, OtherBytes int64
	Nodes, Buffers                      int
}

func (p BufferPlan) String() string {
	return fmt.Sprintf("%d owned outputs, %.0f MiB one buffer each → %d shared buffers, %.0f MiB; other values %.0f MiB",
		p.Nodes, float64(p.OwnedBytes)/(1<<20), p.Buffers, float64(p.SharedBytes)/(1<<20), float64(p.OtherBytes)/(1<<20))
}

// planBuffers assigns the output buffer of every owned operator of g so
// that two values share memory only when the first one's last reader runs
// before the second is written, in the tape machine's order (gorgonia's
// Sort, reversed, as its Compile does). A value that a gorgonia operator
// reads may come back as that operator's output (views such as Slice,
// in-place arithmetic), so it stays alive as long as that output does;
// values read after the run (G.Read, roots) keep their own buffers.
func planBuffers(g *G.ExprGraph) (BufferPlan, error) {
	var plan BufferPlan
	sorted, err := G.Sort(g)
	if err != nil {
		return plan, err
	}
	order := make([]*G.Node, len(sorted))
	for i, n := range sorted {
		order[len(sorted)-1-i] = n
	}
	const pinned = int(^uint(0) >> 1)
	pos := make(map[*G.Node]int, len(order))
	for i, n := range order {
		pos[n] = i
	}
	children := make(map[*G.Node][]*G.Node, len(order))
	for _, n := range order {
		it := g.From(n.ID())
		for it.Next() {
			children[n] = append(children[n], it.Node().(*G.Node))
		}
	}
	end := make(map[*G.Node]int, len(order))
	consumers := make(map[*G.Node]int, len(order))
	for _, n := range order {
		for _, c := range children[n] {
			consumers[c]++
			if isStatement(n) { // G.Read: the value is wanted after the run
				end[c] = pinned
			} else if pos[n] > end[c] {
				end[c] = pos[n]
			}
		}
	}
	for _, n := range order {
		if consumers[n] == 0 {
			end[n] = pinned // a root: its value is the program's output
		}
	}
	for i := len(order) - 1; i >= 0; i-- { // gorgonia's outputs may alias their inputs
		n := order[i]
		if n.Op() == nil || isOwned(n) {
			continue
		}
		for _, c := range children[n] {
			if end[n] > end[c] {
				end[c] = end[n]
			}
		}
	}
	ops := map[any]int{}
	for _, n := range order {
		if isOwned(n) {
			ops[n.Op()]++
		}
	}
	type buffer struct {
		f32   []float32
		f64   []float64
		until int // position of the last reader of the value that holds it
	}
	var bufs []*buffer
	for _, n := range order {
		if n.Op() == nil || isStatement(n) {
			continue
		}
		size := n.Shape().TotalSize()
		bytes := int64(size) * int64(n.Dtype().Size())
		if !isOwned(n) || end[n] == pinned || size < planMinElems || ops[n.Op()] != 1 {
			plan.OtherBytes += bytes
			continue
		}
		dt := n.Dtype()
		if dt != tensor.Float32 && dt != tensor.Float64 {
			plan.OtherBytes += bytes
			continue
		}
		plan.Nodes++
		plan.OwnedBytes += bytes
		i := pos[n]
		var best *buffer
		for _, b := range bufs { // the smallest free buffer large enough
			if b.until >= i {
				continue
			}
			c := len(b.f32)
			if dt == tensor.Float64 {
				c = len(b.f64)
			}
			if (dt == tensor.Float32) != (b.f32 != nil) || c < size {
				continue
			}
			bc := 0
			if best != nil {
				bc = len(best.f32) + len(best.f64)
			}
			if best == nil || c < bc {
				best = b
			}
		}
		if best == nil {
			best = &buffer{}
			if dt == tensor.Float32 {
				best.f32 = make([]float32, size)
			} else {
				best.f64 = make([]float64, size)
			}
			bufs = append(bufs, best)
			plan.SharedBytes += bytes
		}
		best.until = end[n]
		shape := n.Shape().Clone()
		o := n.Op().(owned).base()
		if dt == tensor.Float32 {
			o.cache = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(best.f32[:size]))
		} else {
			o.cache = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(best.f64[:size]))
		}
	}
	plan.Buffers = len(bufs)
	return plan, nil
}

func isOwned(n *G.Node) bool {
	_, ok := n.Op().(owned)
	return ok
}

// isStatement reports gorgonia's read statement (G.Read), whose input is
// copied out by pointer when it runs.
func isStatement(n *G.Node) bool {
	op := n.Op()
	return op != nil && fmt.Sprintf("%T", op) == "gorgonia.readOp"
}
