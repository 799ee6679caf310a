package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rpo-dev/rpo/internal/oracle"
)

// TestSignalStopsWithinAnOperator runs the binary on a tiny Stable
// Diffusion single file at the 512-pixel default, where one operator (the
// VAE's attention over 256² positions) runs for minutes, and interrupts it:
// it must exit 130 within seconds, not at the end of the step.
func TestSignalStopsWithinAnOperator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tiny := oracle.TinySD(t, "sd1")
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(tiny, "single.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "tiny.safetensors") // without its yaml: SD 1.x's 512 pixels
	if err := os.WriteFile(model, b, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "rpo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "generate", "--model", model, "--prompt", "a dog", "-n", "1", "--steps", "2", "--out", filepath.Join(dir, "out"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		took := time.Since(start)
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		t.Logf("exit %d %.2f s after SIGINT: %s", code, took.Seconds(), strings.TrimSpace(stderr.String()))
		if code != 130 {
			t.Errorf("exit status %d, want 130\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("still running 20 s after SIGINT\n%s", stderr.String())
	}
}
