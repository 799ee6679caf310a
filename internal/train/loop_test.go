package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/nn"
)

// toy is a run of a quadratic model fit by AdamW on random targets drawn
// from the loop's stream, with an early stopper as its own state.
type toy struct {
	store *nn.Store
	opt   *nn.AdamW
	worse int // validations without improvement (the run's own state)
	best  float64
}

func (s *toy) MarshalState() (json.RawMessage, error) {
	return json.Marshal(map[string]float64{"worse": float64(s.worse), "best": s.best})
}

func (s *toy) UnmarshalState(b json.RawMessage) error {
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	s.worse, s.best = int(m["worse"]), m["best"]
	return nil
}

// newToy builds the loop of a toy run in dir. lossAt, if set, replaces the
// loss of step n (divergence tests); patience > 0 stops after that many
// checks (every 3 steps) without a lower loss.
func newToy(dir string, steps int, resume bool, patience int, lossAt func(n int) float64) (*Loop, *toy) {
	s := &toy{store: nn.NewStore(tensor.Float64, 1), opt: nn.NewAdamW(0.05), best: 1e9}
	s.store.Get("w", []int{4}, nn.Normal(1), 4, 4)
	w := s.store.Lookup("w").Data().([]float64)
	n := 0
	l := &Loop{Dir: dir, CheckpointDir: filepath.Join(dir, "checkpoints"), Stage: "toy", Steps: steps,
		Options: map[string]any{"seed": 1, "steps": steps}, MayChange: map[string]bool{"steps": true},
		Stores: map[string]*nn.Store{"w": s.store}, Opt: s.opt, PCG: rand.NewPCG(1, 2), Resume: resume, State: s,
		Begin: func(step int) error { n = step; return nil },
	}
	l.Step = func(rng *rand.Rand) (float64, any, error) {
		g := make([]float64, len(w))
		loss := 0.0
		for i := range w {
			d := w[i] - rng.NormFloat64()*0.1 - 1
			loss += d * d
			g[i] = 2 * d
		}
		if lossAt != nil {
			loss = lossAt(n + 1)
		}
		_, err := s.opt.Update(s.store, map[string]*tensor.Dense{"w": tensor.New(tensor.WithBacking(g), tensor.WithShape(len(g)))})
		return loss, map[string]any{"loss": loss}, err
	}
	l.After = func(step int, rec any) (Decision, error) {
		n = step
		m := rec.(map[string]any)
		m["step"] = step
		if err := l.Write(m); err != nil {
			return Decision{}, err
		}
		if patience > 0 && step%3 == 0 {
			if loss := m["loss"].(float64); loss < s.best-0.05 {
				s.best, s.worse = loss, 0
			} else {
				s.worse++
			}
			return Decision{Save: true, Stop: s.worse >= patience}, nil
		}
		return Decision{}, nil
	}
	return l, s
}

// withBeside moves the toy's checks (every 3 steps; patience > 0 stops
// after that many without a lower loss) into Beside's jobs: each scores a
// copy of the weights at its step, after a pause of 2 ms (so that steps
// run while it works), and writes a validation record.
func withBeside(l *Loop, s *toy, overlap bool, patience int) {
	l.Overlap, l.BesideAtStart = overlap, true
	after := l.After
	l.After = func(n int, rec any) (Decision, error) {
		if _, err := after(n, rec); err != nil {
			return Decision{}, err
		}
		return Decision{Beside: n%3 == 0}, nil
	}
	l.Beside = func(n int) (Job, error) {
		w := append([]float64(nil), s.store.Lookup("w").Data().([]float64)...)
		return func(ctx context.Context, write func(any) error) (bool, error) {
			select {
			case <-ctx.Done():
				return false, ctx.Err()
			case <-time.After(2 * time.Millisecond):
			}
			score := 0.0
			for _, v := range w {
				score += (v - 1) * (v - 1)
			}
			if err := write(map[string]any{"validation": map[string]any{"step": n, "score": score}}); err != nil {
				return false, err
			}
			if patience == 0 || n == 0 {
				return false, nil
			}
			if score < s.best-0.05 {
				s.best, s.worse = score, 0
			} else {
				s.worse++
			}
			return s.worse >= patience, nil
		}, nil
	}
}

// TestBesideMatchesBetween: jobs beside the steps give the run of jobs
// run at once: the same metrics.jsonl, weights and end, a job that stops
// the run included (the loop returns to its step).
func TestBesideMatchesBetween(t *testing.T) {
	for _, patience := range []int{0, 2} {
		run := func(overlap bool) (Outcome, string, []byte) {
			dir := t.TempDir()
			l, s := newToy(dir, 60, false, 0, nil)
			withBeside(l, s, overlap, patience)
			out, err := l.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
			return out, weights(t, s), b
		}
		out0, w0, m0 := run(false)
		out1, w1, m1 := run(true)
		if patience > 0 && !out0.Stopped {
			t.Fatalf("patience %d: the run should stop early (%+v)", patience, out0)
		}
		if out1 != out0 || w1 != w0 || !bytes.Equal(m1, m0) {
			t.Errorf("patience %d: beside %+v %s\n%s\nbetween %+v %s\n%s", patience, out1, w1, m1, out0, w0, m0)
		}
	}
}

// TestBesideInterruptedResumes: interrupted while a job runs beside the
// steps, the run keeps the checkpoint of the job's step (the steps since
// are not complete without it), and resumed from there it ends as an
// uninterrupted run does.
func TestBesideInterruptedResumes(t *testing.T) {
	l, s := newToy(t.TempDir(), 30, false, 0, nil)
	withBeside(l, s, true, 0)
	if _, err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want, wantMetrics := weights(t, s), func() []byte { b, _ := os.ReadFile(filepath.Join(l.Dir, "metrics.jsonl")); return b }()

	dir := t.TempDir()
	l1, s1 := newToy(dir, 30, false, 0, nil)
	withBeside(l1, s1, true, 0)
	ctx, cancel := context.WithCancel(context.Background())
	beside := l1.Beside
	l1.Beside = func(n int) (Job, error) {
		job, err := beside(n)
		if n != 12 {
			return job, err
		}
		return func(jctx context.Context, write func(any) error) (bool, error) {
			cancel() // the interrupt comes while the job of step 12 works
			<-jctx.Done()
			return job(jctx, write)
		}, err
	}
	out, err := l1.Run(ctx)
	if !errors.Is(err, context.Canceled) || out.Saved != 12 {
		t.Fatalf("interrupted beside step 12: %+v %v (want the checkpoint of step 12, context.Canceled)", out, err)
	}
	s2, got := resumeBeside(t, dir, 30)
	if weights(t, s2) != want || !bytes.Equal(got, wantMetrics) {
		t.Errorf("resumed: %s\n%s\nuninterrupted: %s\n%s", weights(t, s2), got, want, wantMetrics)
	}
}

// TestBesideAtStartOnce: a run interrupted after its first job (here run
// at once, so its step-0 checkpoint is complete) does not run it again when
// resumed: metrics.jsonl holds one validation of step 0.
func TestBesideAtStartOnce(t *testing.T) {
	dir := t.TempDir()
	l, s := newToy(dir, 6, false, 0, nil)
	withBeside(l, s, false, 0)
	ctx, cancel := context.WithCancel(context.Background())
	beside := l.Beside
	l.Beside = func(n int) (Job, error) {
		job, err := beside(n)
		return func(jctx context.Context, write func(any) error) (bool, error) {
			stop, err := job(jctx, write)
			cancel() // the interrupt comes once the job of step 0 is done
			return stop, err
		}, err
	}
	if out, err := l.Run(ctx); !errors.Is(err, context.Canceled) || out.Saved != 0 {
		t.Fatalf("interrupted after the first job: %+v %v", out, err)
	}
	_, b := resumeBeside(t, dir, 6)
	n := 0
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if step, ok := RecordStep(line); ok && step == 0 && bytes.Contains(line, []byte(`"validation"`)) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d validations of step 0:\n%s", n, b)
	}
}

// resumeBeside resumes the toy run in dir with jobs beside the steps and
// returns its state and metrics.jsonl.
func resumeBeside(t *testing.T, dir string, steps int) (*toy, []byte) {
	t.Helper()
	l, s := newToy(dir, steps, true, 0, nil)
	withBeside(l, s, true, 0)
	if _, err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	return s, b
}

func weights(t *testing.T, s *toy) string {
	t.Helper()
	return fmt.Sprint(s.store.Lookup("w").Data())
}

// TestHelperToyRun is not a test: it is the process that
// TestKillAtRandomMoments kills (it runs only with RPO_TOY_DIR set).
func TestHelperToyRun(t *testing.T) {
	dir := os.Getenv("RPO_TOY_DIR")
	if dir == "" {
		t.Skip("helper process")
	}
	steps, _ := strconv.Atoi(os.Getenv("RPO_TOY_STEPS"))
	l, s := newToy(dir, steps, true, 0, nil)
	if os.Getenv("RPO_TOY_BESIDE") == "1" {
		withBeside(l, s, true, 0)
	}
	slow := l.Step
	l.Step = func(rng *rand.Rand) (float64, any, error) {
		time.Sleep(2 * time.Millisecond)
		return slow(rng)
	}
	if _, err := l.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Exit(0)
}

// TestKillAtRandomMoments: a run killed with SIGKILL at random moments
// (checkpoint writes included: it checkpoints at every step) and resumed
// each time ends in the same weights and the same metrics as a run that was
// never interrupted.
func TestKillAtRandomMoments(t *testing.T) {
	for _, beside := range []string{"0", "1"} {
		t.Run("beside="+beside, func(t *testing.T) { killAtRandomMoments(t, beside == "1") })
	}
}

// killAtRandomMoments is TestKillAtRandomMoments, with or without jobs
// beside the steps.
func killAtRandomMoments(t *testing.T, beside bool) {
	const steps = 120
	straight := t.TempDir()
	l, s := newToy(straight, steps, false, 0, nil)
	if beside {
		withBeside(l, s, false, 0) // the run of jobs run at once: the one to match
	}
	if _, err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := weights(t, s)
	wantMetrics, _ := os.ReadFile(filepath.Join(straight, "metrics.jsonl"))

	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	kills := 0
	for round := 0; round < 40; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperToyRun$")
		cmd.Env = append(os.Environ(), "RPO_TOY_DIR="+dir, "RPO_TOY_STEPS="+strconv.Itoa(steps), "RPO_TOY_BESIDE="+map[bool]string{false: "0", true: "1"}[beside])
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: %v: %s", round, err, stderr.String())
			}
			round = 1 << 30 // finished
		case <-time.After(time.Duration(5+rng.IntN(60)) * time.Millisecond):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
		}
	}
	if kills < 3 {
		t.Fatalf("only %d kills: the run is too fast to test", kills)
	}
	l2, s2 := newToy(dir, steps, true, 0, nil)
	if beside {
		withBeside(l2, s2, true, 0)
	}
	if _, err := l2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := weights(t, s2); got != want {
		t.Errorf("after %d kills: weights %s, uninterrupted %s", kills, got, want)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if !bytes.Equal(got, wantMetrics) {
		t.Errorf("after %d kills metrics.jsonl differs (%d bytes, uninterrupted %d)", kills, len(got), len(wantMetrics))
	}
	t.Logf("%d kills", kills)
}

// TestResumeWithPatience: interrupted and resumed, a run with an early
// stopper stops at the same step with the same weights as one that was not.
func TestResumeWithPatience(t *testing.T) {
	straight := t.TempDir()
	l, s := newToy(straight, 300, false, 2, nil)
	out, err := l.Run(context.Background())
	if err != nil || !out.Stopped {
		t.Fatalf("%+v %v: the toy run should stop early", out, err)
	}
	split := t.TempDir()
	l1, _ := newToy(split, 300, false, 2, nil)
	ctx, cancel := context.WithCancel(context.Background())
	after := l1.After
	l1.After = func(n int, rec any) (Decision, error) {
		d, err := after(n, rec)
		if n == 4 { // between two checks: the stopper has counted one
			cancel()
		}
		return d, err
	}
	if _, err := l1.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	l2, s2 := newToy(split, 300, true, 2, nil)
	out2, err := l2.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if out2.Step != out.Step || !out2.Stopped || weights(t, s2) != weights(t, s) {
		t.Errorf("resumed: stopped %v at %d, weights %s; uninterrupted: at %d, %s", out2.Stopped, out2.Step, weights(t, s2), out.Step, weights(t, s))
	}
}

// TestDivergenceStops: a loss that grows by orders of magnitude, or turns
// NaN, ends the run with ErrDiverged naming the step and the checkpoint kept.
func TestDivergenceStops(t *testing.T) {
	for name, lossAt := range map[string]func(int) float64{
		"growing": func(n int) float64 { return math.Pow(3, float64(n)) },
		"nan": func(n int) float64 {
			if n == 30 {
				return math.NaN()
			}
			return 1
		},
	} {
		dir := t.TempDir()
		l, _ := newToy(dir, 100, false, 0, lossAt)
		after := l.After
		l.After = func(n int, rec any) (Decision, error) {
			d, err := after(n, rec)
			d.Save = true
			return d, err
		}
		out, err := l.Run(context.Background())
		if !errors.Is(err, ErrDiverged) {
			t.Fatalf("%s: %v after %d steps", name, err, out.Step)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("at step %d", out.Step+1)) || !strings.Contains(err.Error(), fmt.Sprintf("checkpoint of step %d", out.Step)) {
			t.Errorf("%s: %v (stopped after step %d)", name, err, out.Step)
		}
		if name == "growing" && out.Step != 16 { // 3^17 ≈ 1.3e8 > 1e4 · mean(3¹..3¹⁰) ≈ 8.9e7 > 3^16: stops at step 17
			t.Errorf("growing: stopped after step %d", out.Step)
		}
	}
}

// TestFreshRunRefusesCheckpoint: a run that is not a resume does not
// overwrite a directory with a checkpoint.
func TestFreshRunRefusesCheckpoint(t *testing.T) {
	dir := t.TempDir()
	l, _ := newToy(dir, 5, false, 0, nil)
	if _, err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	l2, _ := newToy(dir, 5, false, 0, nil)
	if _, err := l2.Run(context.Background()); !errors.Is(err, ErrCheckpointExists) {
		t.Fatal(err)
	}
	if p, _ := ckpt.LatestCheckpoint(filepath.Join(dir, "checkpoints")); p == "" {
		t.Fatal("the checkpoint is gone")
	}
}

// TestTruncateMetrics: records after the checkpoint's step, and a line cut
// by a kill, are dropped; wrapped records keep their step.
func TestTruncateMetrics(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.jsonl")
	os.WriteFile(p, []byte(`{"step":1}
{"validation":{"step":0,"reward":{"0.5":0.7}}}
{"step":{"step":2,"l_sim":0.1}}
{"step":3}
{"validation":{"step":3}}
{"step":{"step":4,"l_s`), 0o644)
	if err := TruncateMetrics(p, 2); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	want := `{"step":1}
{"validation":{"step":0,"reward":{"0.5":0.7}}}
{"step":{"step":2,"l_sim":0.1}}
`
	if string(got) != want {
		t.Errorf("got\n%s", got)
	}
}

// TestResumeBeforeFirstCheckpoint: a run that died after writing records
// but before its first checkpoint starts over on --resume, and
// metrics.jsonl holds each record once.
func TestResumeBeforeFirstCheckpoint(t *testing.T) {
	dir := t.TempDir()
	l, _ := newToy(dir, 3, false, 0, nil)
	l.CheckpointEvery = time.Hour
	l.Begin = func(int) error { return l.Write(map[string]any{"validation": map[string]int{"step": 0}}) }
	l.Step = func(*rand.Rand) (float64, any, error) { return 0, nil, errors.New("crash") }
	if _, err := l.Run(context.Background()); err == nil {
		t.Fatal("no crash")
	}
	l2, _ := newToy(dir, 3, true, 0, nil)
	l2.Begin = func(int) error { return l2.Write(map[string]any{"validation": map[string]int{"step": 0}}) }
	if _, err := l2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if n := bytes.Count(b, []byte(`"validation"`)); n != 1 {
		t.Errorf("%d step-0 validations in metrics.jsonl:\n%s", n, b)
	}
}

// TestInterruptInsideAStep: a step that fails with context.Canceled after
// drawing from the stream (a program interrupted by nn.Interrupt) leaves
// the checkpoint of the step before it, with the stream as it was, so the
// resumed run ends in the weights of an uninterrupted one.
func TestInterruptInsideAStep(t *testing.T) {
	want := func() string {
		l, s := newToy(t.TempDir(), 8, false, 0, nil)
		if _, err := l.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return weights(t, s)
	}()
	dir := t.TempDir()
	l, _ := newToy(dir, 8, false, 0, nil)
	step := l.Step
	calls := 0
	l.Step = func(rng *rand.Rand) (float64, any, error) {
		if calls++; calls == 5 { // the fifth step draws, then its program is interrupted
			rng.NormFloat64()
			return 0, nil, fmt.Errorf("rpo: %w", nn.ErrInterrupted)
		}
		return step(rng)
	}
	out, err := l.Run(context.Background())
	if !errors.Is(err, context.Canceled) || out.Saved != 4 {
		t.Fatalf("interrupted in step 5: err %v, saved %d (want context.Canceled, 4)", err, out.Saved)
	}
	l2, s2 := newToy(dir, 8, true, 0, nil)
	if _, err := l2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := weights(t, s2); got != want {
		t.Errorf("resumed after an interrupt inside a step: %s, uninterrupted %s", got, want)
	}
}
