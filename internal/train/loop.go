// Package train is the training loop that every run shares, the
// pretraining stages and `rpo train` alike: resume of all state, metrics.jsonl,
// checkpoints every few minutes or when the run asks, a checkpoint on
// interruption, and a stop with an error when the loss turns NaN, infinite
// or diverges. What a step computes, and what happens between steps
// (evaluation, validation, selection), the run supplies as functions.
package train

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

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/nn"
)

// Divergence: the loop stops when a step's loss is above DivergenceFactor
// times the mean loss of the run's first DivergenceWindow steps.
const (
	DivergenceFactor = 1e4
	DivergenceWindow = 10
)

// ErrDiverged means the loss became NaN, infinite or diverged.
var ErrDiverged = errors.New("the loss diverged")

// Loop is one training run. Its zero values: no learning-rate schedule, no
// extra state, no hooks.
type Loop struct {
	Dir             string // run directory: metrics.jsonl
	CheckpointDir   string // where the checkpoints go (inside Dir)
	Stage           string // the kind of run a checkpoint belongs to
	Steps           int    // step budget
	Options         any    // recorded by every checkpoint; a resume must match them
	MayChange       map[string]bool
	Stores          map[string]*nn.Store // saved and restored with the checkpoint
	Opt             *nn.AdamW
	PCG             *rand.PCG // the run's random stream
	CheckpointEvery time.Duration
	Resume          bool

	// Schedule, if set, gives the learning rate of step n (from 0).
	Schedule func(n int) float64
	// State, if set, is the run's own state (its selector, early stopper,
	// timings), saved with every checkpoint and restored on resume.
	State State
	// Begin runs once the loop has resumed (or started) at step n, before
	// the first step of this sitting.
	Begin func(n int) error
	// Step takes one training step, drawing from rng, and returns its loss
	// and its record.
	Step func(rng *rand.Rand) (loss float64, record any, err error)
	// After runs once step n (from 1) is taken, with that step's record; it
	// writes what it wants in metrics.jsonl (Loop.Write) and may ask for a
	// checkpoint now or the end of the run.
	After func(n int, record any) (Decision, error)
	// Interrupted runs after the checkpoint that an interruption writes.
	Interrupted func(n int) error

	metrics   *json.Encoder
	start     time.Time // of the run, all sittings
	step      int
	saved     int // the step of the newest checkpoint, -1 if none
	elapsed   float64
	lossScale float64 // mean loss of the first DivergenceWindow steps
	lossN     int
}

// Decision is what After asks of the loop.
type Decision struct {
	Save bool // write a checkpoint now
	Stop bool // end the run after this step (early stopping)
}

// State is the run's own state in a checkpoint.
type State interface {
	MarshalState() (json.RawMessage, error)
	UnmarshalState(json.RawMessage) error
}

// loopState is the loop's own part of a checkpoint.
type loopState struct {
	LossScale float64         `json:"loss_scale,omitempty"`
	LossN     int             `json:"loss_n,omitempty"`
	Run       json.RawMessage `json:"run,omitempty"`
}

// Outcome is how a run ended.
type Outcome struct {
	Step    int  // the step reached
	Saved   int  // the step of the newest checkpoint, -1 if none
	Stopped bool // After asked to stop
}

// Write appends a record to metrics.jsonl.
func (l *Loop) Write(record any) error {
	if err := l.metrics.Encode(record); err != nil {
		return fmt.Errorf("train: %s: %w", filepath.Join(l.Dir, "metrics.jsonl"), err)
	}
	return nil
}

// Elapsed is the seconds the run has taken, in all its sittings.
func (l *Loop) Elapsed() float64 { return time.Since(l.start).Seconds() }

// HasCheckpoint reports whether the run has a checkpoint to resume.
func (l *Loop) HasCheckpoint() bool { return ckpt.HasTrainState(l.CheckpointDir) }

// Run executes the loop. Interrupted (ctx done) between steps, it writes a
// checkpoint of the step reached; interrupted inside a hook (a validation
// that stops sampling), it writes none, since that step's work is not
// complete: a resume continues from the last checkpoint.
func (l *Loop) Run(ctx context.Context) (Outcome, error) {
	out := Outcome{}
	l.saved = -1
	if l.Resume {
		keep := -1 // metrics.jsonl records to keep: none without a checkpoint
		st, err := ckpt.LoadTrainState(l.CheckpointDir, l.Stage, l.Options, l.MayChange, l.PCG, l.Stores, l.Opt)
		switch {
		case errors.Is(err, ckpt.ErrNoTrainState): // nothing to resume: a fresh start
		case err != nil:
			return out, err
		default:
			l.step, l.saved, l.elapsed = st.Step, st.Step, st.Elapsed
			keep = st.Step
			var ls loopState
			if len(st.Extra) > 0 {
				if err := json.Unmarshal(st.Extra, &ls); err != nil {
					return out, fmt.Errorf("train: %s: %w", l.CheckpointDir, err)
				}
			}
			l.lossScale, l.lossN = ls.LossScale, ls.LossN
			if l.State != nil && len(ls.Run) > 0 {
				if err := l.State.UnmarshalState(ls.Run); err != nil {
					return out, fmt.Errorf("train: %s: %w", l.CheckpointDir, err)
				}
			}
		}
		if err := TruncateMetrics(filepath.Join(l.Dir, "metrics.jsonl"), keep); err != nil {
			return out, err
		}
	} else if l.HasCheckpoint() {
		return out, fmt.Errorf("train: %s: %w", l.Dir, ErrCheckpointExists)
	}
	mf, err := os.OpenFile(filepath.Join(l.Dir, "metrics.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return out, fmt.Errorf("train: %w", err)
	}
	defer mf.Close()
	l.metrics = json.NewEncoder(mf)
	l.start = time.Now().Add(-time.Duration(l.elapsed * float64(time.Second)))
	elapsed := l.Elapsed
	if l.Begin != nil {
		if err := l.Begin(l.step); err != nil {
			return l.outcome(out), err
		}
	}
	rng := rand.New(l.PCG)
	lastSave := time.Now()
	interrupt := func(err error) (Outcome, error) { // the checkpoint of the steps taken, then the hook
		if serr := l.save(elapsed()); serr != nil {
			return l.outcome(out), serr
		}
		if l.Interrupted != nil {
			if ierr := l.Interrupted(l.step); ierr != nil {
				return l.outcome(out), ierr
			}
		}
		return l.outcome(out), err
	}
	for l.step < l.Steps {
		if err := ctx.Err(); err != nil {
			return interrupt(err)
		}
		if l.Schedule != nil {
			l.Opt.LR = l.Schedule(l.step)
		}
		before := *l.PCG
		loss, rec, err := l.Step(rng)
		if errors.Is(err, context.Canceled) { // interrupted inside the step: as if before it
			*l.PCG = before
			return interrupt(err)
		}
		if err != nil {
			return l.outcome(out), err
		}
		if err := l.checkLoss(loss); err != nil {
			return l.outcome(out), err
		}
		l.step++
		d := Decision{}
		if l.After != nil {
			if d, err = l.After(l.step, rec); err != nil {
				return l.outcome(out), err
			}
		}
		if d.Save || d.Stop || time.Since(lastSave) >= l.CheckpointEvery {
			if err := l.save(elapsed()); err != nil {
				return l.outcome(out), err
			}
			lastSave = time.Now()
		}
		if d.Stop {
			out.Stopped = true
			return l.outcome(out), nil
		}
	}
	if l.saved == l.step { // After asked for it at the last step
		return l.outcome(out), nil
	}
	return l.outcome(out), l.save(elapsed())
}

func (l *Loop) outcome(o Outcome) Outcome {
	o.Step, o.Saved = l.step, l.saved
	return o
}

// checkLoss stops the run on a NaN, infinite or diverged loss of step
// l.step+1, naming what is kept.
func (l *Loop) checkLoss(loss float64) error {
	bad := math.IsNaN(loss) || math.IsInf(loss, 0)
	if !bad && l.lossN >= DivergenceWindow && loss > DivergenceFactor*l.lossScale {
		bad = true
	}
	if !bad {
		if l.lossN < DivergenceWindow {
			l.lossScale = (l.lossScale*float64(l.lossN) + loss) / float64(l.lossN+1)
			l.lossN++
		}
		return nil
	}
	kept := "no checkpoint was written"
	if l.saved >= 0 {
		kept = fmt.Sprintf("the checkpoint of step %d in %s is kept", l.saved, l.CheckpointDir)
	}
	how := fmt.Sprintf("%v", loss)
	if !math.IsNaN(loss) && !math.IsInf(loss, 0) {
		how = fmt.Sprintf("%.4g, over %.0g× the mean %.4g of the first %d steps", loss, DivergenceFactor, l.lossScale, DivergenceWindow)
	}
	return fmt.Errorf("%w at step %d (loss %s; lower the learning rate?); %s", ErrDiverged, l.step+1, how, kept)
}

// save writes a checkpoint of the current step.
func (l *Loop) save(elapsed float64) error {
	ls := loopState{LossScale: l.lossScale, LossN: l.lossN}
	if l.State != nil {
		var err error
		if ls.Run, err = l.State.MarshalState(); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	extra, err := json.Marshal(ls)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := ckpt.SaveTrainState(l.CheckpointDir, ckpt.TrainState{Stage: l.Stage, Step: l.step, Elapsed: elapsed, Options: l.Options, Extra: extra}, l.PCG, l.Stores, l.Opt); err != nil {
		return err
	}
	l.saved = l.step
	return nil
}

// ErrCheckpointExists means a fresh run was asked into a directory that
// holds a checkpoint.
var ErrCheckpointExists = errors.New("holds a checkpoint; continue it with --resume or choose another --out")
