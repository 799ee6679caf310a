package models

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/rpo-dev/rpo/internal/nn"
)

// RegressionStep is a compiled U-Net step on one fixed batch of seeded
// random inputs: the prediction for x under (t, ctx) against a fixed target,
// mean squared error. It is the engine's smallest end-to-end workload: the
// benchmark of GORGONIA.md's Model A, the determinism and overfitting tests,
// and `rpo selftest` run it.
type RegressionStep struct {
	Program *nn.Program
	Store   *nn.Store
	pred    G.Value
}

// RegressionShape is the batch a RegressionStep is built for.
type RegressionShape struct {
	Batch, Resolution, ContextLen int
	Seed                          uint64 // of the inputs and target
}

// NewRegressionStep builds the step on store's parameters (created on first
// use); train adds the backward pass.
func NewRegressionStep(store *nn.Store, c UNetConfig, ops nn.Ops, s RegressionShape, train bool) (*RegressionStep, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if div := 1 << (len(c.Channels) - 1); s.Resolution%div != 0 {
		return nil, fmt.Errorf("models: resolution %d is not divisible by %d", s.Resolution, div)
	}
	b := nn.NewBuilder(store, ops)
	dt := store.Dtype()
	n, r := s.Batch, s.Resolution
	x := b.Constant("x_t", nn.Float64s(nn.RandN(dt, s.Seed, n, c.InChannels, r, r)), n, c.InChannels, r, r)
	ts := make([]float64, n)
	for i := range ts {
		ts[i] = float64(37 * (i + 1) % 1000)
	}
	temb := b.Constant("t_emb", nn.TimestepEmbedding(ts, c.Channels[0]), n, c.Channels[0])
	var ctx *G.Node
	if c.ContextDim > 0 {
		ctx = b.Constant("context", nn.Float64s(nn.RandN(dt, s.Seed+1, n, s.ContextLen, c.ContextDim)), n, s.ContextLen, c.ContextDim)
	}
	target := b.Constant("target", nn.Float64s(nn.RandN(dt, s.Seed+2, n, c.OutChannels, r, r)), n, c.OutChannels, r, r)
	step := &RegressionStep{Store: store}
	var loss *G.Node
	if err := nn.Build(func() {
		pred := UNet(b, c, x, temb, ctx)
		G.Read(pred, &step.pred)
		loss = b.MSE(pred, target)
	}); err != nil {
		return nil, err
	}
	p, err := nn.Compile(b, loss, train)
	if err != nil {
		return nil, err
	}
	step.Program = p
	return step, nil
}

// Prediction returns the U-Net output of the last run (owned by the step).
func (s *RegressionStep) Prediction() G.Value { return s.pred }

// Close releases the compiled program.
func (s *RegressionStep) Close() error { return s.Program.Close() }
