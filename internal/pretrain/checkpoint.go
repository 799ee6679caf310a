package pretrain

import (
	"path/filepath"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/nn"
)

// namedStore is a store saved beside the weights (an EMA).
type namedStore struct {
	name  string
	store *nn.Store
}

// HasCheckpoint reports whether the run directory dir has a checkpoint to
// resume from.
func HasCheckpoint(dir string) bool { return ckpt.HasTrainState(filepath.Join(dir, "checkpoint")) }

// resumeMayChange are the options a resumed run may change: the step budget
// (to extend a run), how often it logs, checkpoints and evaluates, and
// --init (the checkpoint's weights replace it).
var resumeMayChange = map[string]bool{
	"steps": true, "checkpoint_every": true, "log_every": true, "eval_every": true, "eval_images": true,
	"sample_every": true, "sample_steps": true, "init": true,
}
