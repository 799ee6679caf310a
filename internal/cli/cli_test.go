package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/ckpt"
)

// execute runs the root command with args, capturing output.
func execute(t *testing.T, root *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// selftestRoot is a root whose selftest only records its options.
func selftestRoot(got **SelftestOptions) *cobra.Command {
	root := NewRootCmd()
	for _, c := range root.Commands() {
		if c.Name() == "selftest" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(NewSelftestCmd(func(_ context.Context, o *SelftestOptions) error { *got = o; return nil }))
	return root
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rpo.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrecedence: flag default < file < environment < flag, per key.
func TestPrecedence(t *testing.T) {
	file := writeFile(t, "steps: 11\nlr: 0.5\nbatch: 3\nlog_level: warn\n")
	t.Setenv("RPO_LR", "0.25")
	t.Setenv("RPO_BATCH", "5")
	var o *SelftestOptions
	if _, err := execute(t, selftestRoot(&o), "selftest", "--config", file, "--batch", "7"); err != nil {
		t.Fatal(err)
	}
	if o.Resolution != 8 { // default
		t.Errorf("resolution %d, want the default 8", o.Resolution)
	}
	if o.Steps != 11 { // file
		t.Errorf("steps %d, want 11 from the file", o.Steps)
	}
	if o.LR != 0.25 { // env over file
		t.Errorf("lr %g, want 0.25 from RPO_LR", o.LR)
	}
	if o.Batch != 7 { // flag over env
		t.Errorf("batch %d, want 7 from the flag", o.Batch)
	}
	if o.LogLevel != "warn" { // global option from the file
		t.Errorf("log level %q, want warn", o.LogLevel)
	}
}

// TestEnvOnly: an environment variable alone reaches Unmarshal
// (spf13/viper#761), and RPO_CONFIG names the file.
func TestEnvOnly(t *testing.T) {
	t.Setenv("RPO_MIN_REDUCTION", "3.5")
	t.Setenv("RPO_CONFIG", writeFile(t, "seed: 9\n"))
	var o *SelftestOptions
	if _, err := execute(t, selftestRoot(&o), "selftest"); err != nil {
		t.Fatal(err)
	}
	if o.MinReduction != 3.5 || o.Seed != 9 {
		t.Errorf("min_reduction %g seed %d", o.MinReduction, o.Seed)
	}
}

// TestCommandsDoNotShareFlags: `rpo config selftest` and `rpo selftest`
// define the same flags; each run resolves only its own (spf13/viper#233).
func TestCommandsDoNotShareFlags(t *testing.T) {
	var o *SelftestOptions
	root := selftestRoot(&o)
	out, err := execute(t, root, "config", "selftest", "--steps", "77")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "steps: 77") {
		t.Fatalf("config selftest printed:\n%s", out)
	}
	root = selftestRoot(&o)
	if _, err := execute(t, root, "selftest"); err != nil {
		t.Fatal(err)
	}
	if o.Steps != 300 {
		t.Errorf("selftest saw steps %d after another command set 77", o.Steps)
	}
}

func TestConfigErrors(t *testing.T) {
	var o *SelftestOptions
	_, err := execute(t, selftestRoot(&o), "selftest", "--config", writeFile(t, "stepz: 3\n"))
	if err == nil || !strings.Contains(err.Error(), "unknown key stepz") || !strings.Contains(err.Error(), "rpo.yaml") {
		t.Errorf("unknown key: %v", err)
	}
	_, err = execute(t, selftestRoot(&o), "selftest", "--config", "/nonexistent/x.yaml")
	if err == nil || err.Error() != "config: /nonexistent/x.yaml: no such file" {
		t.Errorf("missing file: %v", err)
	}
	_, err = execute(t, selftestRoot(&o), "selftest", "--config", writeFile(t, "steps: [\n"))
	if err == nil || !strings.Contains(err.Error(), "not valid YAML") {
		t.Errorf("bad YAML: %v", err)
	}
	_, err = execute(t, selftestRoot(&o), "selftest", "--log-level", "loud")
	if err == nil || err.Error() != `--log-level "loud" is not one of debug, info, warn, error` {
		t.Errorf("bad level: %v", err)
	}
}

func TestConfigPrintsYAML(t *testing.T) {
	t.Setenv("RPO_LOG_FORMAT", "json")
	out, err := execute(t, NewRootCmd(), "config")
	if err != nil {
		t.Fatal(err)
	}
	if out != "log_level: info\nlog_format: json\n" {
		t.Errorf("rpo config printed %q", out)
	}
}

func TestVersion(t *testing.T) {
	out, err := execute(t, NewRootCmd(), "version")
	if err != nil || !strings.HasPrefix(out, "rpo v") || !strings.Contains(out, "blas:") {
		t.Fatalf("%q %v", out, err)
	}
}

// TestSelftestEndToEnd runs the real selftest briefly and reads back the
// model directory it writes.
func TestSelftestEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "unet")
	out, err := execute(t, NewRootCmd(), "selftest", "--steps", "60", "--out", dir, "--log-format", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "selftest: PASS") || !strings.Contains(out, `"msg":"selftest"`) {
		t.Errorf("output:\n%s", out)
	}
	info, err := ckpt.ReadModelDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := info.Open("unet")
	if err != nil || len(f.Tensors) == 0 {
		t.Fatalf("%v", err)
	}
	_, err = execute(t, NewRootCmd(), "selftest", "--steps", "2", "--min-reduction", "1e9")
	if err == nil || !strings.Contains(err.Error(), "FAILED") {
		t.Errorf("impossible reduction passed: %v", err)
	}
}

// TestJSONLogDurations: durations in JSON logs read as in text logs, not as
// integer nanoseconds.
func TestJSONLogDurations(t *testing.T) {
	var b strings.Builder
	l, err := NewLogger(&b, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("subject done", "elapsed", 413*time.Second)
	if !strings.Contains(b.String(), `"elapsed":"6m53s"`) {
		t.Errorf("log line %s", b.String())
	}
}

// TestEnvTypos: an RPO_* variable the command does not take is a warning
// naming the closest variable; one whose value does not parse is an error
// naming the variable.
func TestEnvTypos(t *testing.T) {
	t.Setenv("RPO_MIN_REDUCTON", "3.5")
	var o *SelftestOptions
	got, err := execute(t, selftestRoot(&o), "selftest")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "RPO_MIN_REDUCTON is not an option of `rpo selftest`; ignored (did you mean RPO_MIN_REDUCTION?)") {
		t.Errorf("no warning for the typo:\n%s", got)
	}
	t.Setenv("RPO_MIN_REDUCTON", "")
	os.Unsetenv("RPO_MIN_REDUCTON")
	t.Setenv("RPO_STEPS", "abc")
	if _, err := execute(t, selftestRoot(&o), "selftest"); err == nil || !strings.Contains(err.Error(), `RPO_STEPS="abc": not a valid int (the value of --steps)`) {
		t.Errorf("bad value: %v", err)
	}
}
