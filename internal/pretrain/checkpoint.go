package pretrain

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

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
// training options than options (see checkResumeOptions).
func loadCheckpoint(dir, stage string, options any, pcg *rand.PCG, store *nn.Store, opt *nn.AdamW, extra ...namedStore) (int, float64, error) {
	st, err := ckpt.LoadTrainState(filepath.Join(dir, "checkpoint"), stage, pcg, storesOf(store, extra), opt)
	if errors.Is(err, ckpt.ErrNoTrainState) {
		return 0, 0, errNoCheckpoint
	}
	if err != nil {
		return 0, 0, err
	}
	if err := checkResumeOptions(filepath.Join(dir, "checkpoint", "state.json"), st.Options, options); err != nil {
		return 0, 0, err
	}
	return st.Step, st.Elapsed, nil
}

// resumeMayChange are the options a resumed run may change: the step budget
// (to extend a run), how often it logs, checkpoints and evaluates, and
// --init (the checkpoint's weights replace it).
var resumeMayChange = map[string]bool{
	"steps": true, "checkpoint_every": true, "log_every": true, "eval_every": true, "eval_images": true,
	"sample_every": true, "sample_steps": true, "init": true,
}

// checkResumeOptions compares the options saved in a checkpoint (as JSON
// decodes them) with those of the resumed run. A run resumed with another
// learning rate, batch, seed or loss would silently become another run, so
// it is an error that names each option and both values.
func checkResumeOptions(path string, saved, now any) error {
	var cur map[string]any
	b, err := json.Marshal(now)
	if err == nil {
		err = json.Unmarshal(b, &cur)
	}
	if err != nil {
		return fmt.Errorf("pretrain: options: %w", err)
	}
	old, _ := saved.(map[string]any)
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range cur {
		keys[k] = true
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if resumeMayChange[k] || reflect.DeepEqual(old[k], cur[k]) {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("--%s: %s in the checkpoint, %s now", strings.ReplaceAll(k, "_", "-"), show(old[k]), show(cur[k])))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("pretrain: --resume: %s was written by a run with other options (%s); resume with the run's options", path, strings.Join(diffs, "; "))
	}
	return nil
}

func show(v any) string {
	if v == nil {
		return "unset"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
