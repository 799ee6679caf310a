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
	// Beside, if set, prepares the work that After asks for with
	// Decision.Beside (a validation) and returns it as a job; it runs on
	// the caller, before the next step, so it can take what the job needs
	// of the state at step n. With Overlap the job runs beside the steps
	// that follow, else at once, and the run computes the same either way:
	// the job's step has its checkpoint while the job runs (a resume runs
	// the job again), the records it writes come before those of later
	// steps in metrics.jsonl, and a job that stops the run returns it to
	// the job's step. One job runs at a time.
	Beside func(n int) (Job, error)
	// Overlap runs Beside's jobs beside the steps (see Beside).
	Overlap bool
	// BesideAtStart begins a fresh run with Beside(0) (the base model's
	// validation), after Begin.
	BesideAtStart bool

	metrics   *json.Encoder
	mf        *os.File
	start     time.Time // of the run, all sittings
	step      int
	saved     int  // the step of the newest checkpoint, -1 if none
	pending   bool // that checkpoint's job has not finished
	job       *job
	held      [][]byte      // records of steps after a running job's, written when it ends
	waited    time.Duration // the caller's time in jobs: run at once, or waited for
	elapsed   float64
	lossScale float64 // mean loss of the first DivergenceWindow steps
	lossN     int
}

// Decision is what After asks of the loop.
type Decision struct {
	Save   bool // write a checkpoint now
	Stop   bool // end the run after this step (early stopping)
	Beside bool // run Beside's job of this step (and write a checkpoint)
}

// Job is work of one step that may run beside later steps (Loop.Beside):
// it writes its metrics.jsonl records with write, ends when ctx is done,
// and says whether the run stops at its step.
type Job func(ctx context.Context, write func(record any) error) (stop bool, err error)

// job is a running Job.
type job struct {
	step   int
	done   chan struct{}
	stop   bool
	err    error
	cancel context.CancelFunc
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
	// Pending: the step's job had not finished; metrics.jsonl then held
	// MetricsBytes bytes (the records before the job's).
	Pending      bool  `json:"pending,omitempty"`
	MetricsBytes int64 `json:"metrics_bytes,omitempty"`
}

// Outcome is how a run ended.
type Outcome struct {
	Step    int  // the step reached
	Saved   int  // the step of the newest checkpoint, -1 if none
	Stopped bool // After asked to stop
}

// Write appends a record to metrics.jsonl: at once, or, while a job runs
// beside the steps, once the job's own records are written.
func (l *Loop) Write(record any) error {
	if l.job == nil {
		return l.write(record)
	}
	b, err := json.Marshal(record) // as json.Encoder writes it
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	l.held = append(l.held, append(b, '\n'))
	return nil
}

// write appends a record to metrics.jsonl now (a job's records).
func (l *Loop) write(record any) error {
	if err := l.metrics.Encode(record); err != nil {
		return fmt.Errorf("train: %s: %w", l.metricsPath(), err)
	}
	return nil
}

func (l *Loop) metricsPath() string { return filepath.Join(l.Dir, "metrics.jsonl") }

// Waited is the time the loop's caller spent in Beside's jobs: running
// them at once, or waiting for them to end.
func (l *Loop) Waited() time.Duration { return l.waited }

// Elapsed is the seconds the run has taken, in all its sittings.
func (l *Loop) Elapsed() float64 { return time.Since(l.start).Seconds() }

// HasCheckpoint reports whether the run has a checkpoint to resume.
func (l *Loop) HasCheckpoint() bool { return ckpt.HasTrainState(l.CheckpointDir) }

// Run executes the loop. Interrupted (ctx done) between steps, it writes a
// checkpoint of the step reached; interrupted inside a hook (a validation
// that stops sampling), it writes none, since that step's work is not
// complete: a resume continues from the last checkpoint. So too when a job
// beside the steps is stopped unfinished: the checkpoint kept is that of
// the job's step, and a resume runs the job again.
func (l *Loop) Run(ctx context.Context) (Outcome, error) {
	out := Outcome{}
	l.saved = -1
	if l.Resume {
		keep, limit := -1, int64(-1) // metrics.jsonl records to keep: none without a checkpoint
		st, ls, err := l.load()
		switch {
		case errors.Is(err, ckpt.ErrNoTrainState): // nothing to resume: a fresh start
		case err != nil:
			return out, err
		default:
			l.step, l.saved, l.elapsed, keep = st.Step, st.Step, st.Elapsed, st.Step
			if l.State != nil && len(ls.Run) > 0 {
				if err := l.State.UnmarshalState(ls.Run); err != nil {
					return out, fmt.Errorf("train: %s: %w", l.CheckpointDir, err)
				}
			}
			if ls.Pending { // its job runs again, on the records written before it
				if l.Beside == nil {
					return out, fmt.Errorf("train: %s: the checkpoint's step %d has work to finish that this run cannot do", l.CheckpointDir, st.Step)
				}
				l.pending, limit = true, ls.MetricsBytes
			}
		}
		if err := truncateMetrics(l.metricsPath(), keep, limit); err != nil {
			return out, err
		}
	} else if l.HasCheckpoint() {
		return out, fmt.Errorf("train: %s: %w", l.Dir, ErrCheckpointExists)
	}
	mf, err := os.OpenFile(l.metricsPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return out, fmt.Errorf("train: %w", err)
	}
	defer mf.Close()
	l.mf, l.metrics = mf, json.NewEncoder(mf)
	defer l.abandon() // a job still running when the run fails
	l.start = time.Now().Add(-time.Duration(l.elapsed * float64(time.Second)))
	elapsed := l.Elapsed
	if l.Begin != nil {
		if err := l.Begin(l.step); err != nil {
			return l.outcome(out), err
		}
	}
	if l.pending || l.saved < 0 && l.BesideAtStart && l.Beside != nil { // a job to finish, or a fresh start
		stop, err := l.startJob(ctx, elapsed)
		if err != nil {
			return l.outcome(out), err
		}
		if stop {
			out.Stopped = true
			return l.outcome(out), l.saveIfNew(elapsed())
		}
	}
	rng := rand.New(l.PCG)
	lastSave := time.Now()
	interrupt := func(err error) (Outcome, error) { // the checkpoint of the steps taken, then the hook
		if l.job != nil {
			l.job.cancel()
			if _, jerr := l.settle(true, elapsed); jerr != nil { // stopped unfinished: its step's checkpoint is kept
				return l.outcome(out), err
			}
		}
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
		stop := false
		if d.Beside {
			if stop, err = l.startJob(ctx, elapsed); err != nil {
				return l.outcome(out), err
			}
			lastSave = time.Now()
		}
		if d.Stop && l.job != nil { // the running job first: it may stop the run earlier
			if stop, err = l.settle(true, elapsed); err != nil {
				return l.outcome(out), err
			}
		}
		if !stop && l.job == nil && (d.Save || d.Stop || time.Since(lastSave) >= l.CheckpointEvery) {
			if err := l.saveIfNew(elapsed()); err != nil {
				return l.outcome(out), err
			}
			lastSave = time.Now()
		}
		if !stop && l.job != nil {
			if stop, err = l.settle(false, elapsed); err != nil {
				return l.outcome(out), err
			}
		}
		if stop || d.Stop {
			out.Stopped = true
			return l.outcome(out), nil
		}
	}
	stop, err := l.settle(true, elapsed)
	if err != nil {
		return l.outcome(out), err
	}
	out.Stopped = stop
	return l.outcome(out), l.saveIfNew(elapsed())
}

// startJob prepares Beside's job of the current step and runs it: at once
// (then the step's checkpoint), or, with Overlap, beside the steps that
// follow once the step's checkpoint, marked pending, is written.
func (l *Loop) startJob(ctx context.Context, elapsed func() float64) (stop bool, err error) {
	if stop, err := l.settle(true, elapsed); err != nil || stop { // one at a time
		return stop, err
	}
	t0 := time.Now()
	run, err := l.Beside(l.step)
	if err != nil {
		return false, err
	}
	if !l.Overlap {
		stop, err := run(ctx, l.write)
		l.waited += time.Since(t0)
		if err != nil {
			return false, err
		}
		l.pending = false
		return stop, l.save(elapsed())
	}
	l.waited += time.Since(t0)
	if !l.pending || l.saved != l.step { // a resumed job's checkpoint is there already
		if err := l.savePending(elapsed()); err != nil {
			return false, err
		}
	}
	jctx, cancel := context.WithCancel(ctx)
	j := &job{step: l.step, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(j.done)
		j.stop, j.err = run(jctx, l.write)
	}()
	l.job = j
	return false, nil
}

// settle ends the running job if it is done (or, with wait, once it is):
// its records are written, then those held back. A job that stops the
// run returns it to the job's step: the state of that step's checkpoint,
// the records of later steps dropped, the checkpoint written again with
// the run's own state as the job left it.
func (l *Loop) settle(wait bool, elapsed func() float64) (stop bool, err error) {
	j := l.job
	if j == nil {
		return false, nil
	}
	select {
	case <-j.done:
	default:
		if !wait {
			return false, nil
		}
		t0 := time.Now()
		<-j.done
		l.waited += time.Since(t0)
	}
	l.job = nil
	j.cancel()
	held := l.held
	l.held = nil
	if j.err != nil {
		return false, j.err
	}
	if j.stop {
		if err := l.rewind(j.step); err != nil {
			return false, err
		}
		return true, l.save(elapsed())
	}
	for _, b := range held {
		if _, err := l.mf.Write(b); err != nil {
			return false, fmt.Errorf("train: %s: %w", l.metricsPath(), err)
		}
	}
	if l.saved == l.step { // the pending checkpoint is this step's: now with the job's outcome
		return false, l.save(elapsed())
	}
	return false, nil
}

// rewind returns the stores, optimiser and stream to the checkpoint of
// step, which the loop has passed.
func (l *Loop) rewind(step int) error {
	if l.step == step {
		return nil
	}
	st, _, err := l.load()
	if err != nil {
		return err
	}
	if st.Step != step {
		return fmt.Errorf("train: %s holds step %d, not the stopping step %d", l.CheckpointDir, st.Step, step)
	}
	l.step = step
	return nil
}

// load restores the stores, optimiser, stream and the loop's loss scale
// from the newest checkpoint, and returns it with the loop's part of it.
func (l *Loop) load() (ckpt.TrainState, loopState, error) {
	var ls loopState
	st, err := ckpt.LoadTrainState(l.CheckpointDir, l.Stage, l.Options, l.MayChange, l.PCG, l.Stores, l.Opt)
	if err != nil {
		return st, ls, err
	}
	if len(st.Extra) > 0 {
		if err := json.Unmarshal(st.Extra, &ls); err != nil {
			return st, ls, fmt.Errorf("train: %s: %w", l.CheckpointDir, err)
		}
	}
	l.lossScale, l.lossN = ls.LossScale, ls.LossN
	return st, ls, nil
}

// abandon stops a job still running (the run failed) and waits for it.
func (l *Loop) abandon() {
	if l.job != nil {
		l.job.cancel()
		<-l.job.done
		l.job, l.held = nil, nil
	}
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

// saveIfNew writes a checkpoint of the current step unless the newest is
// that one, complete.
func (l *Loop) saveIfNew(elapsed float64) error {
	if l.saved == l.step && !l.pending {
		return nil
	}
	return l.save(elapsed)
}

// save writes a checkpoint of the current step.
func (l *Loop) save(elapsed float64) error { return l.saveState(elapsed, false) }

// savePending writes a checkpoint of the current step whose job is yet
// to run: a resume runs it again, on the records written so far.
func (l *Loop) savePending(elapsed float64) error { return l.saveState(elapsed, true) }

func (l *Loop) saveState(elapsed float64, pending bool) error {
	ls := loopState{LossScale: l.lossScale, LossN: l.lossN, Pending: pending}
	if pending {
		fi, err := l.mf.Stat()
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		ls.MetricsBytes = fi.Size()
	}
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
	l.saved, l.pending = l.step, pending
	return nil
}

// ErrCheckpointExists means a fresh run was asked into a directory that
// holds a checkpoint.
var ErrCheckpointExists = errors.New("holds a checkpoint; continue it with --resume or choose another --out")
