package cli

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress reports the steps of a long job: a progress bar with ETA when w
// is a terminal; otherwise (a log file, CI) one log line every LogEvery
// steps and at the last one, so logs stay readable.
type Progress struct {
	bar      *progressbar.ProgressBar
	log      *slog.Logger
	total    int
	logEvery int
	label    string
	start    time.Time
}

// NewProgress starts reporting a job of total steps.
func NewProgress(w io.Writer, log *slog.Logger, label string, total, logEvery int) *Progress {
	p := &Progress{log: log, total: total, logEvery: max(logEvery, 1), label: label, start: time.Now()}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
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
		p.bar.Describe(fmt.Sprintf("%s %s", p.label, status))
		p.bar.Set(step)
		return
	}
	if step%p.logEvery == 0 || step == p.total || step == 1 {
		args := append([]any{"step", step, "of", p.total, "elapsed", elapsed.Round(time.Millisecond)}, attrs...)
		p.log.Info(p.label, args...)
	}
}

// Close finishes the bar (nothing to do for logs).
func (p *Progress) Close() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Close()
	}
}

// Phase reports a phase whose size is known only once it starts (the
// denoising steps of the negatives, of a validation): the first report
// opens a Progress, the last closes it, so each phase has its own display.
type Phase struct {
	w     io.Writer
	log   *slog.Logger
	label string
	p     *Progress
}

// NewPhase returns a phase display; its Report is a sampler's Progress.
func NewPhase(w io.Writer, log *slog.Logger, label string) *Phase {
	return &Phase{w: w, log: log, label: label}
}

// Report says that done of total units are done.
func (ph *Phase) Report(done, total int) {
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
