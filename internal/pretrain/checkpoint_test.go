package pretrain

import (
	"context"
	"strings"
	"testing"
)

// TestResumeRefusesOtherOptions: a run resumed with another learning rate
// or seed would silently become another run, so --resume refuses it and
// names each option with both values; a larger step budget is allowed.
func TestResumeRefusesOtherOptions(t *testing.T) {
	dir := t.TempDir()
	if _, err := TrainAutoencoder(context.Background(), tinyAE(dir, 1), nil); err != nil {
		t.Fatal(err)
	}
	o := tinyAE(dir, 2)
	o.Resume, o.LR, o.Seed = true, 1e-3, 6
	_, err := TrainAutoencoder(context.Background(), o, nil)
	if err == nil {
		t.Fatal("resumed with another lr and seed")
	}
	for _, want := range []string{"--lr: 0.003 in the checkpoint, 0.001 now", "--seed: 5 in the checkpoint, 6 now", "state.json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	o = tinyAE(dir, 2)
	o.Resume = true
	res, err := TrainAutoencoder(context.Background(), o, nil)
	if err != nil || res.Steps != 2 {
		t.Fatalf("resume with a larger budget: %d steps, %v", res.Steps, err)
	}
}
