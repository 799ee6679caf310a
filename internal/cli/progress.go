package cli

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress reports the steps of a long job: a progress bar with ETA when w
// is a terminal; otherwise (a log file, CI) one log line every LogEvery
// steps and at the last one, so logs stay readable. A phase running beside
// the job (a validation beside training steps) shows in its bar.
type Progress struct {
	mu       sync.Mutex // the bar: a phase beside the job reports from its own goroutine
	status   string
	aside    string
	bar      *progressbar.ProgressBar
	log      *slog.Logger
	total    int
	logEvery int
	label    string
	start    time.Time
	closed   bool
}

// NewProgress starts reporting a job of total steps.
func NewProgress(w io.Writer, log *slog.Logger, label string, total, logEvery int) *Progress {
	return newProgress(w, log, label, total, logEvery, true)
}

// NewRunProgress is NewProgress for a job that says its own time left in
// its status (the bar's rate alone would leave out what runs between
// steps).
func NewRunProgress(w io.Writer, log *slog.Logger, label string, total, logEvery int) *Progress {
	return newProgress(w, log, label, total, logEvery, false)
}

func newProgress(w io.Writer, log *slog.Logger, label string, total, logEvery int, predict bool) *Progress {
	p := &Progress{log: log, total: total, logEvery: max(logEvery, 1), label: label, start: time.Now()}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(predict),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
	}
	return p
}

// Step reports that step (1-based) is done, with a short status.
func (p *Progress) Step(step int, status string, attrs ...any) {
	p.StepElapsed(step, time.Since(p.start), status, attrs...)
}

// StepElapsed is Step for a job that knows its own elapsed time: a resumed
// job logs the time of all its sittings, not of this one.
func (p *Progress) StepElapsed(step int, elapsed time.Duration, status string, attrs ...any) {
	if p.bar != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.status = status
		p.describe()
		p.bar.Set(step)
		return
	}
	if step%p.logEvery == 0 || step == p.total || step == 1 {
		args := append([]any{"step", step, "of", p.total, "elapsed", elapsed.Round(time.Millisecond)}, attrs...)
		p.log.Info(p.label, args...)
	}
}

func (p *Progress) describe() {
	d := p.label + " " + p.status
	if p.aside != "" {
		d += " · " + p.aside
	}
	p.bar.Describe(d)
}

// setAside shows the state of a phase beside the job in its bar, and says
// whether there is a bar to show it in.
func (p *Progress) setAside(s string) bool {
	if p == nil || p.bar == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.aside = s
	p.describe()
	return true
}

// Close finishes the bar (nothing to do for logs).
func (p *Progress) Close() {
	if p.bar != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.closed = true
		p.bar.Finish()
		p.bar.Close()
	}
}

// RunClock estimates the time left of a training run from its own
// measured steps and validations, so that the validations still to come
// count: a validation every valEvery steps and one at the last step.
type RunClock struct {
	mu              sync.Mutex // validations end beside the steps
	steps, valEvery int
	stepT, valT     time.Duration
	nStep, nVal     int
	last, valEnd    time.Time
	now             func() time.Time
}

// NewRunClock starts a clock for a run of steps steps.
func NewRunClock(steps, valEvery int) *RunClock {
	return &RunClock{steps: steps, valEvery: max(valEvery, 1), now: time.Now}
}

// Validated marks the end of a validation.
func (c *RunClock) Validated() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.valEnd = c.now()
}

// Step marks the end of step n and returns the estimated time left (0
// until two steps have been seen).
func (c *RunClock) Step(n int) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.last.IsZero() {
		from := c.last
		if c.valEnd.After(c.last) { // a validation ran since the last step
			c.valT += c.valEnd.Sub(c.last)
			c.nVal++
			from = c.valEnd
		}
		c.stepT += now.Sub(from)
		c.nStep++
	}
	c.last = now
	if c.nStep == 0 {
		return 0
	}
	left := time.Duration(c.steps-n) * (c.stepT / time.Duration(c.nStep))
	vals := c.steps/c.valEvery - n/c.valEvery
	if c.steps%c.valEvery != 0 && n < c.steps {
		vals++
	}
	if c.nVal > 0 {
		left += time.Duration(vals) * (c.valT / time.Duration(c.nVal))
	}
	return left
}

// Phase reports a phase whose size is known only once it starts (the
// denoising steps of the negatives, of a validation): the first report
// opens a Progress, the last closes it, so each phase has its own display;
// or, on a terminal, inside the bar of the job it runs beside (Beside).
type Phase struct {
	w      io.Writer
	log    *slog.Logger
	label  string
	mu     sync.Mutex
	p      *Progress
	beside func() *Progress
}

// NewPhase returns a phase display; its Report is a sampler's Progress.
func NewPhase(w io.Writer, log *slog.Logger, label string) *Phase {
	return &Phase{w: w, log: log, label: label}
}

// Beside makes the phase show inside the bar of the job that job returns
// (nil: none now) when it has one: a validation running beside the steps.
func (ph *Phase) Beside(job func() *Progress) *Phase {
	ph.beside = job
	return ph
}

// Report says that done of total units are done.
func (ph *Phase) Report(done, total int) {
	if ph.beside != nil {
		aside := fmt.Sprintf("%s %d/%d", ph.label, done, total)
		if done >= total {
			aside = ""
		}
		if ph.beside().setAside(aside) {
			return
		}
	}
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if ph.p == nil {
		ph.p = NewProgress(ph.w, ph.log, ph.label, total, max(total/4, 1))
	}
	ph.p.Step(done, "")
	if done >= total {
		ph.p.Close()
		ph.p = nil
	}
}

// seconds converts a job's recorded seconds (metrics' elapsed_s).
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
