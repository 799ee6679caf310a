package pretrain

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/nn"
)

// state is what a checkpoint holds besides the tensors.
type state struct {
	Stage   string  `json:"stage"`
	Step    int     `json:"step"`
	RNG     []byte  `json:"rng"` // math/rand/v2 PCG state
	AdamW   adamW   `json:"adamw"`
	Elapsed float64 `json:"elapsed_s"`
	Options any     `json:"options"`
}

type adamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay, MaxGradNorm float64
	Step                                            int
}

// saveCheckpoint writes dir/checkpoint/: weights and optimizer moments
// (float64, exact) as safetensors, then state.json last, each atomically.
func saveCheckpoint(dir, stage string, step int, pcg *rand.PCG, store *nn.Store, opt *nn.AdamW, elapsed float64, options any, extra ...namedStore) error {
	cd := filepath.Join(dir, "checkpoint")
	if err := os.MkdirAll(cd, 0o755); err != nil {
		return fmt.Errorf("pretrain: %w", err)
	}
	for _, s := range append([]namedStore{{"weights", store}}, extra...) {
		w := &ckpt.File{Metadata: map[string]string{"stage": stage, "step": fmt.Sprint(step)}}
		ckpt.FromStore(s.store, ckpt.F64, "", w)
		if err := ckpt.Write(filepath.Join(cd, s.name+".safetensors"), w); err != nil {
			return err
		}
	}
	m := &ckpt.File{Tensors: map[string]ckpt.Tensor{}}
	for name, v := range opt.M {
		m.Tensors["m."+name] = ckpt.Encode(ckpt.F64, []int{len(v)}, v)
		m.Tensors["v."+name] = ckpt.Encode(ckpt.F64, []int{len(v)}, opt.V[name])
	}
	if err := ckpt.Write(filepath.Join(cd, "optimizer.safetensors"), m); err != nil {
		return err
	}
	rng, err := pcg.MarshalBinary()
	if err != nil {
		return fmt.Errorf("pretrain: %w", err)
	}
	st := state{Stage: stage, Step: step, RNG: rng, Elapsed: elapsed, Options: options,
		AdamW: adamW{opt.LR, opt.Beta1, opt.Beta2, opt.Eps, opt.WeightDecay, opt.MaxGradNorm, opt.Step}}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("pretrain: %w", err)
	}
	return ckpt.WriteFileAtomic(filepath.Join(cd, "state.json"), b)
}

// namedStore is a store saved beside the weights (an EMA).
type namedStore struct {
	name  string
	store *nn.Store
}

// errNoCheckpoint means dir holds no checkpoint to resume.
var errNoCheckpoint = errors.New("no checkpoint")

// loadCheckpoint restores store (whose parameters must exist), the
// optimizer and the PCG from dir/checkpoint/, returning the step and the
// elapsed seconds.
func loadCheckpoint(dir, stage string, pcg *rand.PCG, store *nn.Store, opt *nn.AdamW, extra ...namedStore) (int, float64, error) {
	cd := filepath.Join(dir, "checkpoint")
	b, err := os.ReadFile(filepath.Join(cd, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, errNoCheckpoint
	}
	if err != nil {
		return 0, 0, fmt.Errorf("pretrain: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, 0, fmt.Errorf("pretrain: %s: %w", filepath.Join(cd, "state.json"), err)
	}
	if st.Stage != stage {
		return 0, 0, fmt.Errorf("pretrain: %s holds a %q checkpoint, not %q", cd, st.Stage, stage)
	}
	for _, s := range append([]namedStore{{"weights", store}}, extra...) {
		wp := filepath.Join(cd, s.name+".safetensors")
		w, err := ckpt.Read(wp)
		if err != nil {
			return 0, 0, err
		}
		if err := ckpt.LoadStore(s.store, w, "", wp); err != nil {
			return 0, 0, err
		}
	}
	op := filepath.Join(cd, "optimizer.safetensors")
	m, err := ckpt.Read(op)
	if err != nil {
		return 0, 0, err
	}
	opt.M, opt.V = map[string][]float64{}, map[string][]float64{}
	for _, name := range store.Names() {
		mt, ok1 := m.Tensors["m."+name]
		vt, ok2 := m.Tensors["v."+name]
		if !ok1 || !ok2 {
			continue // a parameter the optimizer had not stepped yet
		}
		opt.M[name], opt.V[name] = mt.Float64s(), vt.Float64s()
	}
	a := st.AdamW
	opt.LR, opt.Beta1, opt.Beta2, opt.Eps, opt.WeightDecay, opt.MaxGradNorm, opt.Step = a.LR, a.Beta1, a.Beta2, a.Eps, a.WeightDecay, a.MaxGradNorm, a.Step
	if err := pcg.UnmarshalBinary(st.RNG); err != nil {
		return 0, 0, fmt.Errorf("pretrain: %s: rng: %w", cd, err)
	}
	return st.Step, st.Elapsed, nil
}
