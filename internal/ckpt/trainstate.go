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

// A training checkpoint is one unit. SaveTrainState writes every file of it
// (one safetensors file per store, float64 and exact; the optimizer's
// moments; state.json) into a fresh directory dir/.tmp-*, then
// manifest.json with the size and SHA-256 of each file, fsyncs them, and
// renames the directory to dir/ckpt-NNNNNN, one number above the newest:
// that rename is the moment the checkpoint exists. Older checkpoints are
// removed only after it. A crash at any point leaves the previous complete
// checkpoint in place, and LoadTrainState verifies the manifest of the one
// it resumes, so a damaged file is refused by name instead of trained on.
func SaveTrainState(dir string, st TrainState, pcg *rand.PCG, stores map[string]*nn.Store, opt *nn.AdamW) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ckpt: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-")
	if err != nil {
		return fmt.Errorf("ckpt: %w", err)
	}
	fail := func(err error) error {
		os.RemoveAll(tmp)
		return err
	}
	files := map[string][]byte{}
	for _, name := range slices.Sorted(maps.Keys(stores)) {
		w := &File{Metadata: map[string]string{"stage": st.Stage, "step": fmt.Sprint(st.Step)}}
		FromStore(stores[name], F64, "", w)
		b, err := w.Marshal()
		if err != nil {
			return fail(err)
		}
		files[name+".safetensors"] = b
	}
	m := &File{Tensors: map[string]Tensor{}}
	for name, v := range opt.M {
		m.Tensors["m."+name] = Encode(F64, []int{len(v)}, v)
		m.Tensors["v."+name] = Encode(F64, []int{len(v)}, opt.V[name])
	}
	b, err := m.Marshal()
	if err != nil {
		return fail(err)
	}
	files["optimizer.safetensors"] = b
	rng, err := pcg.MarshalBinary()
	if err != nil {
		return fail(fmt.Errorf("ckpt: %w", err))
	}
	st.RNG = rng
	st.AdamW = adamWState{opt.LR, opt.Beta1, opt.Beta2, opt.Eps, opt.WeightDecay, opt.MaxGradNorm, opt.Step}
	if files["state.json"], err = json.MarshalIndent(st, "", "  "); err != nil {
		return fail(fmt.Errorf("ckpt: %w", err))
	}
	man := Manifest{}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := writeSynced(filepath.Join(tmp, name), files[name]); err != nil {
			return fail(err)
		}
		man[name] = Digest(files[name])
	}
	if err := man.write(tmp); err != nil {
		return fail(err)
	}
	syncDir(tmp)
	seq := 1
	if last, _ := LatestCheckpoint(dir); last != "" {
		seq = checkpointSeq(last) + 1
	}
	final := filepath.Join(dir, fmt.Sprintf("ckpt-%06d", seq))
	if err := os.Rename(tmp, final); err != nil {
		return fail(fmt.Errorf("ckpt: %w", err))
	}
	syncDir(dir)
	// the new checkpoint is complete: what came before it can go
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case p == final:
		case e.IsDir() && (strings.HasPrefix(e.Name(), "ckpt-") || strings.HasPrefix(e.Name(), ".tmp-")):
			os.RemoveAll(p)
		case !e.IsDir() && legacyFile(e.Name()):
			os.Remove(p)
		}
	}
	return nil
}

// legacyFile reports whether name is a file of the single-directory layout
// that earlier versions wrote (state.json beside the tensors).
func legacyFile(name string) bool {
	return name == "state.json" || strings.HasSuffix(name, ".safetensors") || strings.HasPrefix(name, ".state.json.tmp-") || strings.Contains(name, ".safetensors.tmp-")
}

// LatestCheckpoint returns the newest complete checkpoint directory in dir:
// the ckpt-NNNNNN of the highest number, or dir itself when it holds a
// checkpoint of the earlier single-directory layout (a state.json), or ""
// when there is none.
func LatestCheckpoint(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("ckpt: %w", err)
	}
	best := ""
	for _, e := range entries {
		if e.IsDir() && checkpointSeq(e.Name()) > 0 && (best == "" || checkpointSeq(e.Name()) > checkpointSeq(best)) {
			best = e.Name()
		}
	}
	if best != "" {
		return filepath.Join(dir, best), nil
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err == nil {
		return dir, nil
	}
	return "", nil
}

// checkpointSeq is the number of a directory named ckpt-NNNNNN, else 0.
func checkpointSeq(name string) int {
	var n int
	if _, err := fmt.Sscanf(filepath.Base(name), "ckpt-%d", &n); err != nil {
		return 0
	}
	return n
}

// HasTrainState reports whether dir holds a complete training checkpoint.
func HasTrainState(dir string) bool {
	p, _ := LatestCheckpoint(dir)
	return p != ""
}

// LoadTrainState restores the stores (whose parameters must exist), the
// optimizer and the PCG from the newest checkpoint in dir, checking first
// that its files match its manifest and that it is a checkpoint of stage
// written under the same options as the resumed run's (options, any value
// that marshals to a JSON object; keys in mayChange may differ; see
// checkOptions). It returns ErrNoTrainState when dir has no checkpoint.
func LoadTrainState(dir, stage string, options any, mayChange map[string]bool, pcg *rand.PCG, stores map[string]*nn.Store, opt *nn.AdamW) (TrainState, error) {
	st, cp, man, err := openTrainState(dir, stage, options, mayChange)
	if err != nil {
		return st, err
	}
	read := func(name string) (*File, error) {
		b, err := man.read(cp, name)
		if err != nil {
			return nil, err
		}
		f, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("ckpt: %s: %w", filepath.Join(cp, name), err)
		}
		return f, nil
	}
	for _, name := range slices.Sorted(maps.Keys(stores)) {
		w, err := read(name + ".safetensors")
		if err != nil {
			return st, err
		}
		if err := LoadStore(stores[name], w, "", filepath.Join(cp, name+".safetensors")); err != nil {
			return st, err
		}
	}
	op := filepath.Join(cp, "optimizer.safetensors")
	m, err := read("optimizer.safetensors")
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
		return st, fmt.Errorf("ckpt: %s: rng: %w", cp, err)
	}
	return st, nil
}

// CheckTrainState reads dir's state.json and checks, without loading any
// weights, that it is a checkpoint of stage written under the same options
// (see LoadTrainState), so that a run can refuse a resume before it does any
// expensive preparation. It returns ErrNoTrainState when dir has no
// checkpoint.
func CheckTrainState(dir, stage string, options any, mayChange map[string]bool) (TrainState, error) {
	st, _, _, err := openTrainState(dir, stage, options, mayChange)
	return st, err
}

// openTrainState is CheckTrainState that also returns the checkpoint's
// directory and manifest, for LoadTrainState to read the rest of it.
func openTrainState(dir, stage string, options any, mayChange map[string]bool) (TrainState, string, Manifest, error) {
	var st TrainState
	cp, err := LatestCheckpoint(dir)
	if err != nil {
		return st, "", nil, err
	}
	if cp == "" {
		return st, "", nil, ErrNoTrainState
	}
	man, err := readManifest(cp)
	if err != nil {
		return st, "", nil, err
	}
	b, err := man.read(cp, "state.json")
	if err != nil {
		return st, "", nil, err
	}
	path := filepath.Join(cp, "state.json")
	if err := json.Unmarshal(b, &st); err != nil {
		return st, "", nil, fmt.Errorf("ckpt: %s: %w", path, err)
	}
	if st.Stage != stage {
		return st, "", nil, fmt.Errorf("ckpt: %s holds a %q checkpoint, not %q", dir, st.Stage, stage)
	}
	return st, cp, man, checkOptions(path, st.Options, options, mayChange)
}

// checkOptions compares the options saved in a checkpoint (saved, as JSON
// decodes them) with those of the resumed run (now). A run resumed with
// another learning rate, batch, seed or loss would silently become another
// run, so any difference outside mayChange (JSON keys) is an error that
// names each option as a flag, with both values, and the checkpoint's file
// (path). A checkpoint that recorded no options (the earliest RPO runs)
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
