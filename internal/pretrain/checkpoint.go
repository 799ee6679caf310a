package pretrain

import (
	"errors"
	"math/rand/v2"
	"path/filepath"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/nn"
)

// namedStore is a store saved beside the weights (an EMA).
type namedStore struct {
	name  string
	store *nn.Store
}

// errNoCheckpoint means dir holds no checkpoint to resume.
var errNoCheckpoint = ckpt.ErrNoTrainState

// HasCheckpoint reports whether the run directory dir has a checkpoint to
// resume from.
func HasCheckpoint(dir string) bool { return ckpt.HasTrainState(filepath.Join(dir, "checkpoint")) }

func storesOf(store *nn.Store, extra []namedStore) map[string]*nn.Store {
	m := map[string]*nn.Store{"weights": store}
	for _, e := range extra {
		m[e.name] = e.store
	}
	return m
}

// saveCheckpoint writes dir/checkpoint/ (see ckpt.SaveTrainState).
func saveCheckpoint(dir, stage string, step int, pcg *rand.PCG, store *nn.Store, opt *nn.AdamW, elapsed float64, options any, extra ...namedStore) error {
	return ckpt.SaveTrainState(filepath.Join(dir, "checkpoint"), ckpt.TrainState{Stage: stage, Step: step, Elapsed: elapsed, Options: options}, pcg, storesOf(store, extra), opt)
}

// loadCheckpoint restores a run from dir/checkpoint/ and returns the step
// and the elapsed seconds. It refuses a checkpoint written under other
// training options than options, outside resumeMayChange.
func loadCheckpoint(dir, stage string, options any, pcg *rand.PCG, store *nn.Store, opt *nn.AdamW, extra ...namedStore) (int, float64, error) {
	st, err := ckpt.LoadTrainState(filepath.Join(dir, "checkpoint"), stage, options, resumeMayChange, pcg, storesOf(store, extra), opt)
	if errors.Is(err, ckpt.ErrNoTrainState) {
		return 0, 0, errNoCheckpoint
	}
	return st.Step, st.Elapsed, err
}

// resumeMayChange are the options a resumed run may change: the step budget
// (to extend a run), how often it logs, checkpoints and evaluates, and
// --init (the checkpoint's weights replace it).
var resumeMayChange = map[string]bool{
	"steps": true, "checkpoint_every": true, "log_every": true, "eval_every": true, "eval_images": true,
	"sample_every": true, "sample_steps": true, "init": true,
}
