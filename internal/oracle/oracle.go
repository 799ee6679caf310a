// Package oracle runs the reference implementations (diffusers, openai CLIP,
// DINO in ../shared/oracle, with Debian's PyTorch) for parity tests: its
// scripts build tiny random-weight models in the real on-disk layouts and
// write what the references compute on fixed inputs, and the tests run the
// same inputs through rpo.
//
// The oracle is found at $RPOTEST_ORACLE, else ../shared/oracle beside the
// repository. Without it a parity test is skipped, unless
// RPOTEST_ORACLE_REQUIRED=1 (as in CI), where it fails. (Not RPO_*: those
// are rpo's configuration variables, and rpo warns about unknown ones.)
package oracle

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Root is the repository root (the directory holding go.mod).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Dir is the oracle's directory, or "" when there is none.
func Dir() string {
	d := os.Getenv("RPOTEST_ORACLE")
	if d == "" {
		d = filepath.Join(Root(), "..", "shared", "oracle")
	}
	if _, err := os.Stat(filepath.Join(d, "python")); err != nil {
		return ""
	}
	return d
}

var (
	mu    sync.Mutex
	built = map[string]string{}
)

// Run runs a script of this package (name, e.g. "sd_tiny.py") with args
// into a directory it returns, once per arguments: the directory is kept in
// the temporary directory under a hash of the package's scripts and the
// arguments, so later test binaries reuse it.
func Run(t testing.TB, script string, args ...string) string {
	t.Helper()
	d := Dir()
	if d == "" {
		if os.Getenv("RPOTEST_ORACLE_REQUIRED") == "1" {
			t.Fatalf("oracle: no reference implementations at ../shared/oracle or $RPOTEST_ORACLE")
		}
		t.Skip("oracle: no reference implementations (../shared/oracle or $RPOTEST_ORACLE); parity not checked")
	}
	src := filepath.Join(Root(), "internal", "oracle", script)
	code, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write(code)
	helpers, _ := filepath.Glob(filepath.Join(Root(), "internal", "oracle", "*.py")) // the modules scripts import
	for _, p := range helpers {
		b, _ := os.ReadFile(p)
		h.Write(b)
	}
	for _, a := range args {
		h.Write([]byte{0})
		h.Write([]byte(a))
	}
	key := hex.EncodeToString(h.Sum(nil))[:16]
	mu.Lock()
	defer mu.Unlock()
	if out, ok := built[key]; ok {
		return out
	}
	out := filepath.Join(os.TempDir(), "rpo-oracle-"+key)
	if _, err := os.Stat(filepath.Join(out, "done")); err != nil {
		tmp, err := os.MkdirTemp(os.TempDir(), "rpo-oracle-tmp-")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(d, "python"), append([]string{src, tmp}, args...)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			os.RemoveAll(tmp)
			t.Fatalf("oracle: %s %v: %v\n%s", script, args, err, b)
		}
		if err := os.WriteFile(filepath.Join(tmp, "done"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(out)
		if err := os.Rename(tmp, out); err != nil {
			if _, serr := os.Stat(filepath.Join(out, "done")); serr != nil { // not another test binary's
				t.Fatal(err)
			}
			os.RemoveAll(tmp)
		}
	}
	built[key] = out
	return out
}

// TinySD is sd_tiny.py's output for a variant ("sd1": ε-prediction,
// 1×1-conv projections, quick_gelu text encoder; "sd2": v-prediction,
// linear projections, per-block heads, two transformer layers, gelu).
func TinySD(t testing.TB, variant string) string { return Run(t, "sd_tiny.py", variant) }

// Exec runs a script of this package with args (after the output
// directory, a fresh temporary one it returns), every time.
func Exec(t testing.TB, script string, args ...string) string {
	t.Helper()
	d := Dir()
	if d == "" {
		if os.Getenv("RPOTEST_ORACLE_REQUIRED") == "1" {
			t.Fatalf("oracle: no reference implementations at ../shared/oracle or $RPOTEST_ORACLE")
		}
		t.Skip("oracle: no reference implementations (../shared/oracle or $RPOTEST_ORACLE); parity not checked")
	}
	out := t.TempDir()
	src := filepath.Join(Root(), "internal", "oracle", script)
	cmd := exec.Command(filepath.Join(d, "python"), append([]string{src, out}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oracle: %s %v: %v\n%s", script, args, err, b)
	}
	return out
}

// DreamBench is the directory of the real DreamBench photos
// (../shared/dreambench/dataset), or "" when absent.
func DreamBench() string {
	d := filepath.Join(Root(), "..", "shared", "dreambench", "dataset")
	if _, err := os.Stat(d); err != nil {
		return ""
	}
	return d
}
