package rpo

import (
	"path/filepath"
	"testing"

	"github.com/rpo-dev/rpo/internal/ckpt"
)

// latestCheckpoint is the directory of run dir's newest checkpoint.
func latestCheckpoint(t *testing.T, dir string) string {
	t.Helper()
	p, err := ckpt.LatestCheckpoint(filepath.Join(dir, "checkpoints"))
	if err != nil || p == "" {
		t.Fatalf("%s has no checkpoint (%v)", dir, err)
	}
	return p
}
