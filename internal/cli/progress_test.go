package cli

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestProgressElapsed: log lines carry the job's own elapsed time when it
// is given (a resumed job's earlier sittings included), and the time since
// the progress started otherwise.
func TestProgressElapsed(t *testing.T) {
	var log bytes.Buffer
	p := NewProgress(&bytes.Buffer{}, slog.New(slog.NewTextHandler(&log, nil)), "job", 10, 5)
	p.StepElapsed(5, 90*time.Minute+1500*time.Millisecond, "loss 1")
	p.Step(10, "loss 2")
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "step=5 of=10 elapsed=1h30m1.5s") || strings.Contains(lines[1], "elapsed=1h") {
		t.Errorf("log:\n%s", log.String())
	}
	if got := seconds(2.5); got != 2500*time.Millisecond {
		t.Errorf("seconds(2.5) = %v", got)
	}
}

func TestTextLogsCompactNumbers(t *testing.T) {
	var b strings.Builder
	l, err := NewLogger(&b, "info", "text")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("x", "l_sim", 1.3767131567001343, "reward", map[string]float64{"0.5": 0.79356820955, "0.3": 0.1})
	if got := b.String(); !strings.Contains(got, "l_sim=1.377") || !strings.Contains(got, "map[0.3:0.1 0.5:0.7936]") {
		t.Errorf("text log: %s", got)
	}
	b.Reset()
	l, _ = NewLogger(&b, "info", "json")
	l.Info("x", "l_sim", 1.3767131567001343)
	if !strings.Contains(b.String(), "1.3767131567001343") {
		t.Errorf("json log lost digits: %s", b.String())
	}
}

// TestPhase: each phase opens its own display at its first report and
// closes it at its last; off a terminal it logs the first, every quarter
// and the last step.
func TestPhase(t *testing.T) {
	var log bytes.Buffer
	ph := NewPhase(&bytes.Buffer{}, slog.New(slog.NewTextHandler(&log, nil)), "negatives")
	for d := 1; d <= 8; d++ {
		ph.Report(d, 8)
	}
	if ph.p != nil {
		t.Fatal("the phase is still open after its last step")
	}
	ph.Report(1, 2) // a second phase of the same kind
	ph.Report(2, 2)
	got := log.String()
	for _, want := range []string{"step=1 of=8", "step=2 of=8", "step=8 of=8", "step=1 of=2", "step=2 of=2"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "step=3 of=8") {
		t.Errorf("logged every step:\n%s", got)
	}
}

// TestRunClock: the time left counts the validations to come, each as long
// as those seen (hand-checked: 1 s steps, a 6 s validation after step 5 of
// 10 with one every 5 steps: at step 6, 4 steps and one validation are
// left, 10 s).
func TestRunClock(t *testing.T) {
	var now time.Time
	c := NewRunClock(10, 5)
	c.now = func() time.Time { return now }
	at := func(s float64) { now = time.Unix(0, 0).Add(time.Duration(s * float64(time.Second))) }
	at(0)
	if left := c.Step(1); left != 0 {
		t.Errorf("after one step: %v, want 0 (unknown)", left)
	}
	for n := 2; n <= 5; n++ {
		at(float64(n - 1))
		c.Step(n)
	}
	at(10)
	c.Validated()
	at(11)
	if left := c.Step(6); left != 10*time.Second {
		t.Errorf("at step 6: %v left, want 10s", left)
	}
	c2 := NewRunClock(7, 5) // validations at 5 and at the last step, 7
	c2.now = c.now
	at(0)
	c2.Step(1)
	at(1)
	if left := c2.Step(2); left != 5*time.Second {
		t.Errorf("no validation seen yet: %v, want the 5 steps' 5s", left)
	}
}
