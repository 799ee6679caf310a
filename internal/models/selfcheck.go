package models

import (
	"context"
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/nn"
)

// SelfCheckConfig is a small U-Net that overfits one batch in seconds.
func SelfCheckConfig() UNetConfig {
	return UNetConfig{InChannels: 2, OutChannels: 2, Channels: []int{16, 32}, Groups: 4, Heads: 2, TimeDim: 8, ContextDim: 6}
}

// SelfCheckOptions configures SelfCheck.
type SelfCheckOptions struct {
	UNet  UNetConfig
	Shape RegressionShape
	Steps int
	LR    float64
	Seed  uint64 // of the parameters
}

// SelfCheckResult is what SelfCheck measured.
type SelfCheckResult struct {
	Steps               int
	FirstLoss, LastLoss float64
	Parameters          int
}

// Reduction is FirstLoss / LastLoss.
func (r SelfCheckResult) Reduction() float64 { return r.FirstLoss / r.LastLoss }

// SelfCheck trains a float32 U-Net with AdamW on one fixed batch: the whole
// engine (owned operators, autodiff, optimizer) at work. onStep, if not nil,
// sees every step. It stops early, with what it has, when ctx is done.
func SelfCheck(ctx context.Context, o SelfCheckOptions, onStep func(step int, loss, gradNorm float64)) (*nn.Store, SelfCheckResult, error) {
	var res SelfCheckResult
	if o.Steps < 1 || o.LR <= 0 {
		return nil, res, fmt.Errorf("models: self-check needs steps ≥ 1 and lr > 0 (got %d, %g)", o.Steps, o.LR)
	}
	store := nn.NewStore(tensor.Float32, o.Seed)
	step, err := NewRegressionStep(store, o.UNet, nil, o.Shape, true)
	if err != nil {
		return nil, res, err
	}
	defer step.Close()
	res.Parameters = store.Count()
	opt := nn.NewAdamW(o.LR)
	for i := 1; i <= o.Steps; i++ {
		if err := ctx.Err(); err != nil {
			return store, res, err
		}
		loss, err := step.Program.Run()
		if err != nil {
			return store, res, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return store, res, fmt.Errorf("models: loss is %v at step %d", loss, i)
		}
		norm, err := opt.Update(store, step.Program.Grads())
		if err != nil {
			return store, res, err
		}
		if i == 1 {
			res.FirstLoss = loss
		}
		res.LastLoss, res.Steps = loss, i
		if onStep != nil {
			onStep(i, loss, norm)
		}
	}
	return store, res, nil
}
