package ckpt

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/nn"
)

func trainStore() *nn.Store {
	s := nn.NewStore(tensor.Float32, 3)
	s.Get("a.weight", []int{64, 8}, nn.Normal(1), 8, 64)
	return s
}

// TestDamagedCheckpointRefused: a checkpoint whose files do not match its
// manifest is refused, naming the file; the next complete checkpoint
// replaces the previous only once it is whole.
func TestDamagedCheckpointRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "checkpoints")
	opt := nn.NewAdamW(1e-3)
	pcg := rand.NewPCG(1, 2)
	for step := 1; step <= 2; step++ {
		if err := SaveTrainState(dir, TrainState{Stage: "s", Step: step}, pcg, map[string]*nn.Store{"policy": trainStore()}, opt); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "ckpt-000002" {
		t.Fatalf("checkpoints left: %v", entries)
	}
	cp, _ := LatestCheckpoint(dir)
	for _, file := range []string{"policy.safetensors", "state.json", "optimizer.safetensors"} {
		p := filepath.Join(cp, file)
		orig, _ := os.ReadFile(p)
		b := append([]byte{}, orig...)
		for i := len(b) / 2; i < len(b)/2+20 && i < len(b); i++ {
			b[i] ^= 0xff
		}
		os.WriteFile(p, b, 0o644)
		_, err := LoadTrainState(dir, "s", nil, nil, rand.NewPCG(0, 0), map[string]*nn.Store{"policy": trainStore()}, nn.NewAdamW(1))
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "damaged") {
			t.Errorf("%s damaged: %v", file, err)
		}
		os.WriteFile(p, orig, 0o644)
	}
	if _, err := LoadTrainState(dir, "s", nil, nil, rand.NewPCG(0, 0), map[string]*nn.Store{"policy": trainStore()}, nn.NewAdamW(1)); err != nil {
		t.Fatal(err)
	}
	// a half-written checkpoint (no rename yet) is not the latest
	os.MkdirAll(filepath.Join(dir, ".tmp-123"), 0o755)
	if p, _ := LatestCheckpoint(dir); p != cp {
		t.Errorf("latest %s, want %s", p, cp)
	}
}

// TestLegacyCheckpointLoads: a checkpoint of the single-directory layout
// (state.json beside the tensors, no manifest) still resumes, and the next
// save replaces it.
func TestLegacyCheckpointLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "checkpoints")
	if err := SaveTrainState(dir, TrainState{Stage: "s", Step: 7}, rand.NewPCG(1, 2), map[string]*nn.Store{"policy": trainStore()}, nn.NewAdamW(1e-3)); err != nil {
		t.Fatal(err)
	}
	cp, _ := LatestCheckpoint(dir)
	for _, f := range []string{"policy.safetensors", "state.json", "optimizer.safetensors"} {
		os.Rename(filepath.Join(cp, f), filepath.Join(dir, f))
	}
	os.RemoveAll(cp)
	st, err := LoadTrainState(dir, "s", nil, nil, rand.NewPCG(0, 0), map[string]*nn.Store{"policy": trainStore()}, nn.NewAdamW(1))
	if err != nil || st.Step != 7 {
		t.Fatalf("%+v %v", st, err)
	}
	if err := SaveTrainState(dir, TrainState{Stage: "s", Step: 8}, rand.NewPCG(1, 2), map[string]*nn.Store{"policy": trainStore()}, nn.NewAdamW(1e-3)); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("after a save: %v", entries)
	}
}

// TestNonFiniteWeightsRefused: a tensor holding NaN or Inf is refused by
// name when loaded.
func TestNonFiniteWeightsRefused(t *testing.T) {
	s := trainStore()
	s.Lookup("a.weight").Data().([]float32)[5] = float32(math.NaN())
	f := &File{}
	FromStore(s, F32, "", f)
	err := LoadStore(trainStore(), f, "", "x.safetensors")
	if err == nil || !strings.Contains(err.Error(), `"a.weight"`) || !strings.Contains(err.Error(), "x.safetensors") {
		t.Fatal(err)
	}
}

// TestDamagedModelFileRefused: a model directory's component whose bytes
// differ from the digest in model.yaml is refused by name.
func TestDamagedModelFileRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	info := &ModelInfo{Family: "x"}
	if err := WriteModelDir(dir, info, map[string]*File{"unet": sample()}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "unet.safetensors")
	b, _ := os.ReadFile(p)
	b[len(b)-1] ^= 1
	os.WriteFile(p, b, 0o644)
	m, err := ReadModelDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Open("unet"); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatal(err)
	}
	// a directory of other files is not replaced
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o644)
	if err := WriteModelDir(other, &ModelInfo{Family: "x"}, map[string]*File{"unet": sample()}); err == nil {
		t.Fatal("a directory without model.yaml was replaced")
	}
}

// TestLockDir: a second lock on a locked run directory is refused naming
// the holder; after Unlock it is free again.
func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	l, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockDir(dir); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "process ") {
		t.Fatalf("second lock: %v", err)
	}
	l.Unlock()
	l2, err := LockDir(dir)
	if err != nil || l2.Took != "" {
		t.Fatalf("after unlock: %v, took %q", err, l2.Took)
	}
	l2.Unlock()
}
