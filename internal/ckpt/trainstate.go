package ckpt

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/rpo-dev/rpo/internal/nn"
)

// ErrNoTrainState means a directory holds no training checkpoint.
var ErrNoTrainState = errors.New("no checkpoint")

// TrainState is what a training checkpoint holds besides tensors: which
// run it belongs to, the step, the RNG state, the elapsed time, the
// options, and anything else the run keeps (Extra, as JSON).
type TrainState struct {
	Stage   string          `json:"stage"`
	Step    int             `json:"step"`
	RNG     []byte          `json:"rng"` // math/rand/v2 PCG state
	AdamW   adamWState      `json:"adamw"`
	Elapsed float64         `json:"elapsed_s"`
	Options any             `json:"options"`
	Extra   json.RawMessage `json:"extra,omitempty"`
}

type adamWState struct {
	LR, Beta1, Beta2, Eps, WeightDecay, MaxGradNorm float64
	Step                                            int
}

// SaveTrainState writes dir: one safetensors file per store (float64,
// exact), the optimizer's moments (float64), then state.json last, each
// atomically, so that a directory with a state.json is a complete
// checkpoint and a resumed run continues bit for bit.
func SaveTrainState(dir string, st TrainState, pcg *rand.PCG, stores map[string]*nn.Store, opt *nn.AdamW) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ckpt: %w", err)
	}
	for name, s := range stores {
		w := &File{Metadata: map[string]string{"stage": st.Stage, "step": fmt.Sprint(st.Step)}}
		FromStore(s, F64, "", w)
		if err := Write(filepath.Join(dir, name+".safetensors"), w); err != nil {
			return err
		}
	}
	m := &File{Tensors: map[string]Tensor{}}
	for name, v := range opt.M {
		m.Tensors["m."+name] = Encode(F64, []int{len(v)}, v)
		m.Tensors["v."+name] = Encode(F64, []int{len(v)}, opt.V[name])
	}
	if err := Write(filepath.Join(dir, "optimizer.safetensors"), m); err != nil {
		return err
	}
	rng, err := pcg.MarshalBinary()
	if err != nil {
		return fmt.Errorf("ckpt: %w", err)
	}
	st.RNG = rng
	st.AdamW = adamWState{opt.LR, opt.Beta1, opt.Beta2, opt.Eps, opt.WeightDecay, opt.MaxGradNorm, opt.Step}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("ckpt: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, "state.json"), b)
}

// HasTrainState reports whether dir holds a complete training state
// (SaveTrainState writes state.json last).
func HasTrainState(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "state.json"))
	return err == nil
}

// LoadTrainState restores the stores (whose parameters must exist), the
// optimizer and the PCG from dir, checking first that it is a checkpoint of
// stage written under the same options as the resumed run's (options, any
// value that marshals to a JSON object; keys in mayChange may differ; see
// checkOptions). It returns ErrNoTrainState when dir has no state.json.
func LoadTrainState(dir, stage string, options any, mayChange map[string]bool, pcg *rand.PCG, stores map[string]*nn.Store, opt *nn.AdamW) (TrainState, error) {
	st, err := CheckTrainState(dir, stage, options, mayChange)
	if err != nil {
		return st, err
	}
	for name, s := range stores {
		p := filepath.Join(dir, name+".safetensors")
		w, err := Read(p)
		if err != nil {
			return st, err
		}
		if err := LoadStore(s, w, "", p); err != nil {
			return st, err
		}
	}
	op := filepath.Join(dir, "optimizer.safetensors")
	m, err := Read(op)
	if err != nil {
		return st, err
	}
	opt.M, opt.V = map[string][]float64{}, map[string][]float64{}
	for n, t := range m.Tensors {
		if len(n) > 2 && n[:2] == "m." {
			name := n[2:]
			vt, ok := m.Tensors["v."+name]
			if !ok {
				return st, fmt.Errorf("ckpt: %s: first moment of %q without its second", op, name)
			}
			opt.M[name], opt.V[name] = t.Float64s(), vt.Float64s()
		}
	}
	a := st.AdamW
	opt.LR, opt.Beta1, opt.Beta2, opt.Eps, opt.WeightDecay, opt.MaxGradNorm, opt.Step = a.LR, a.Beta1, a.Beta2, a.Eps, a.WeightDecay, a.MaxGradNorm, a.Step
	if err := pcg.UnmarshalBinary(st.RNG); err != nil {
		return st, fmt.Errorf("ckpt: %s: rng: %w", dir, err)
	}
	return st, nil
}

// CheckTrainState reads dir's state.json and checks, without loading any
// weights, that it is a checkpoint of stage written under the same options
// (see LoadTrainState), so that a run can refuse a resume before it does any
// expensive preparation. It returns ErrNoTrainState when dir has no
// state.json.
func CheckTrainState(dir, stage string, options any, mayChange map[string]bool) (TrainState, error) {
	var st TrainState
	path := filepath.Join(dir, "state.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, ErrNoTrainState
	}
	if err != nil {
		return st, fmt.Errorf("ckpt: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("ckpt: %s: %w", path, err)
	}
	if st.Stage != stage {
		return st, fmt.Errorf("ckpt: %s holds a %q checkpoint, not %q", dir, st.Stage, stage)
	}
	return st, checkOptions(path, st.Options, options, mayChange)
}

// checkOptions compares the options saved in a checkpoint (saved, as JSON
// decodes them) with those of the resumed run (now). A run resumed with
// another learning rate, batch, seed or loss would silently become another
// run, so any difference outside mayChange (JSON keys) is an error that
// names each option as a flag, with both values, and the checkpoint's file
// (path). A checkpoint that recorded no options (RPO runs before session 7)
// is not checked.
func checkOptions(path string, saved, now any, mayChange map[string]bool) error {
	if saved == nil {
		return nil
	}
	var cur map[string]any
	b, err := json.Marshal(now)
	if err == nil {
		err = json.Unmarshal(b, &cur)
	}
	if err != nil {
		return fmt.Errorf("ckpt: options: %w", err)
	}
	old, _ := saved.(map[string]any)
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(old)) { // the checkpoint's keys: a later version's new ones are not checked
		if mayChange[k] || reflect.DeepEqual(old[k], cur[k]) {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("--%s: %s in the checkpoint, %s now", strings.ReplaceAll(k, "_", "-"), showJSON(old[k]), showJSON(cur[k])))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("--resume: %s was written by a run with other options (%s); resume with the run's options", path, strings.Join(diffs, "; "))
	}
	return nil
}

func showJSON(v any) string {
	if v == nil {
		return "unset"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
