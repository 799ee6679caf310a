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
