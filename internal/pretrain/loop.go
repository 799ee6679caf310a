package pretrain

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/train"
)

// loop is the skeleton every stage shares: resume or refuse to overwrite,
// then steps until the budget, with metrics.jsonl, periodic evaluation,
// checkpoints every few minutes, a checkpoint and the current weights on
// interruption, and a final checkpoint.
type loop struct {
	out, stage      string
	steps           int
	checkpointEvery time.Duration
	logEvery        int
	evalEvery       int // 0: never during training
	resume          bool
	options         any
	store           *nn.Store
	opt             *nn.AdamW
	extra           []namedStore
	pcg             *rand.PCG

	// step runs one training step (drawing from rng) and returns its metrics
	step func(rng *rand.Rand) (Metrics, error)
	// evaluate adds held-out numbers to the metrics of step n
	evaluate func(n int, m *Metrics) error
	// writeModel writes the current weights as a model directory
	writeModel func(n int, label string) error
	// schedule, if set, gives the learning rate of step n (from 0)
	schedule func(n int) float64
}

// Cosine is a cosine learning-rate decay from lr at step 0 to floor·lr at
// the last step.
func Cosine(lr, floor float64, steps int) func(int) float64 {
	return func(n int) float64 {
		f := float64(n) / float64(max(steps-1, 1))
		return lr * (floor + (1-floor)*0.5*(1+math.Cos(math.Pi*math.Min(f, 1))))
	}
}

// run executes the loop on train.Loop and returns the step reached.
func (l *loop) run(ctx context.Context, report func(Metrics)) (int, error) {
	stores := map[string]*nn.Store{"weights": l.store}
	for _, e := range l.extra {
		stores[e.name] = e.store
	}
	var tl *train.Loop
	tl = &train.Loop{
		Dir: l.out, CheckpointDir: filepath.Join(l.out, "checkpoint"), Stage: l.stage, Steps: l.steps,
		Options: l.options, MayChange: resumeMayChange, Stores: stores, Opt: l.opt, PCG: l.pcg,
		CheckpointEvery: l.checkpointEvery, Resume: l.resume, Schedule: l.schedule,
		Step: func(rng *rand.Rand) (float64, any, error) {
			m, err := l.step(rng)
			return m.Loss, m, err
		},
		After: func(n int, rec any) (train.Decision, error) {
			m := rec.(Metrics)
			m.Step, m.Elapsed = n, tl.Elapsed()
			if l.evalEvery > 0 && n%l.evalEvery == 0 && l.evaluate != nil {
				if err := l.evaluate(n, &m); err != nil {
					return train.Decision{}, err
				}
			}
			if n%l.logEvery == 0 || n == 1 || m.EvalPSNR != 0 || m.Eval != nil {
				if err := tl.Write(m); err != nil {
					return train.Decision{}, err
				}
			}
			if report != nil {
				report(m)
			}
			return train.Decision{}, nil
		},
		Interrupted: func(n int) error { return l.writeModel(n, "interrupted") },
	}
	if l.resume && !tl.HasCheckpoint() {
		return 0, fmt.Errorf("pretrain: --resume: %s has no checkpoint", l.out)
	}
	out, err := tl.Run(ctx)
	if errors.Is(err, train.ErrCheckpointExists) {
		return out.Step, fmt.Errorf("pretrain: %s: %w", l.out, ErrCheckpointExists)
	}
	return out.Step, err
}

// initNote is the provenance note's part about --init: the steps a run
// counts are then added to those of the model it started from.
func initNote(init string) string {
	if init == "" {
		return ""
	}
	return fmt.Sprintf(", continuing the weights of %s (their steps not counted)", init)
}
