package pretrain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/rpo-dev/rpo/internal/nn"
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

// run executes the loop and returns the step reached.
func (l *loop) run(ctx context.Context, report func(Metrics)) (int, error) {
	step, elapsed := 0, 0.0
	if l.resume {
		var err error
		step, elapsed, err = loadCheckpoint(l.out, l.stage, l.options, l.pcg, l.store, l.opt, l.extra...)
		if errors.Is(err, errNoCheckpoint) {
			return 0, fmt.Errorf("pretrain: --resume: %s has no checkpoint", l.out)
		}
		if err != nil {
			return 0, err
		}
		if err := truncateMetrics(l.out, step); err != nil {
			return 0, err
		}
	} else if HasCheckpoint(l.out) {
		return 0, fmt.Errorf("pretrain: %s: %w", l.out, ErrCheckpointExists)
	}
	mf, err := os.OpenFile(filepath.Join(l.out, "metrics.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return step, fmt.Errorf("pretrain: %w", err)
	}
	defer mf.Close()
	enc := json.NewEncoder(mf)
	rng := rand.New(l.pcg)
	start := time.Now().Add(-time.Duration(elapsed * float64(time.Second)))
	lastSave := time.Now()
	save := func() error {
		return saveCheckpoint(l.out, l.stage, step, l.pcg, l.store, l.opt, time.Since(start).Seconds(), l.options, l.extra...)
	}
	for step < l.steps {
		if err := ctx.Err(); err != nil {
			if serr := save(); serr != nil {
				return step, serr
			}
			if werr := l.writeModel(step, "interrupted"); werr != nil {
				return step, werr
			}
			return step, err
		}
		if l.schedule != nil {
			l.opt.LR = l.schedule(step)
		}
		m, err := l.step(rng)
		if err != nil {
			return step, err
		}
		if math.IsNaN(m.Loss) || math.IsInf(m.Loss, 0) {
			return step, fmt.Errorf("pretrain: loss is %v at step %d; the last checkpoint (%s) is kept", m.Loss, step+1, filepath.Join(l.out, "checkpoint"))
		}
		step++
		m.Step, m.Elapsed = step, time.Since(start).Seconds()
		if l.evalEvery > 0 && step%l.evalEvery == 0 && l.evaluate != nil {
			if err := l.evaluate(step, &m); err != nil {
				return step, err
			}
		}
		if step%l.logEvery == 0 || step == 1 || m.EvalPSNR != 0 || m.Eval != nil {
			if err := enc.Encode(m); err != nil {
				return step, fmt.Errorf("pretrain: %w", err)
			}
		}
		if report != nil {
			report(m)
		}
		if time.Since(lastSave) >= l.checkpointEvery {
			if err := save(); err != nil {
				return step, err
			}
			lastSave = time.Now()
		}
	}
	return step, save()
}

// initNote is the provenance note's part about --init: the steps a run
// counts are then added to those of the model it started from.
func initNote(init string) string {
	if init == "" {
		return ""
	}
	return fmt.Sprintf(", continuing the weights of %s (their steps not counted)", init)
}
