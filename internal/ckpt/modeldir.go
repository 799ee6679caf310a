package ckpt

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"gopkg.in/yaml.v3"
)

// ModelYAML is the name of a model directory's description file.
const ModelYAML = "model.yaml"

// Provenance says where a model came from.
type Provenance struct {
	Tool    string    `yaml:"tool"`              // "rpo v0.1.0"
	Command string    `yaml:"command,omitempty"` // the command line that made it
	Created time.Time `yaml:"created"`
	Seed    uint64    `yaml:"seed"`
	Base    string    `yaml:"base,omitempty"` // the model a fine-tune started from
	Notes   string    `yaml:"notes,omitempty"`
}

// ModelInfo is model.yaml: the model family (which code builds it), its
// architecture (decoded by the family), provenance, and the safetensors
// file of each component ("unet" → "unet.safetensors").
type ModelInfo struct {
	Family       string            `yaml:"family"`
	Architecture yaml.Node         `yaml:"architecture"`
	Provenance   Provenance        `yaml:"provenance"`
	Files        map[string]string `yaml:"files"`
	// Digests are the size and SHA-256 of each file, checked when a
	// component is opened (absent in hand-written model directories).
	Digests map[string]FileDigest `yaml:"digests,omitempty"`

	fsys  fs.FS  // where the files are
	where string // the directory, for messages
}

// SetArchitecture encodes a family's architecture struct.
func (m *ModelInfo) SetArchitecture(v any) error {
	return m.Architecture.Encode(v)
}

// DecodeArchitecture decodes the architecture into a family's struct,
// refusing fields the struct does not know.
func (m *ModelInfo) DecodeArchitecture(v any) error {
	if m.Architecture.Kind == 0 {
		return fmt.Errorf("ckpt: %s: no architecture", path.Join(m.where, ModelYAML))
	}
	if err := m.Architecture.Decode(v); err != nil {
		return fmt.Errorf("ckpt: %s: architecture: %w", path.Join(m.where, ModelYAML), err)
	}
	return nil
}

// WriteModelDir writes a model directory as one unit: the component files
// and model.yaml (with the files' digests) go into a fresh sibling
// directory, which then takes dir's place, so that dir is always either the
// complete old model, the complete new one, or absent. dir must be absent,
// empty or a model directory (one with a model.yaml).
func WriteModelDir(dir string, info *ModelInfo, components map[string]*File) error {
	return WriteModelDirFiles(dir, info, components, nil)
}

// WriteModelDirFiles is WriteModelDir with other files written beside the
// components (a config.json, by path inside dir). A component's role may
// name a subdirectory ("unet/diffusion_pytorch_model").
func WriteModelDirFiles(dir string, info *ModelInfo, components map[string]*File, extra map[string][]byte) error {
	dir = filepath.Clean(dir)
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, ModelYAML)); err != nil {
			return fmt.Errorf("ckpt: %s holds files but no %s; it is not a model directory to replace", dir, ModelYAML)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("ckpt: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("ckpt: %w", err)
	}
	fail := func(err error) error {
		os.RemoveAll(tmp)
		return err
	}
	info.Files, info.Digests = map[string]string{}, map[string]FileDigest{}
	for _, role := range slices.Sorted(maps.Keys(components)) {
		file := role + ".safetensors"
		data, err := components[role].Marshal()
		if err != nil {
			return fail(fmt.Errorf("ckpt: %s: %w", filepath.Join(dir, file), err))
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(tmp, file)), 0o755); err != nil {
			return fail(fmt.Errorf("ckpt: %w", err))
		}
		if err := writeSynced(filepath.Join(tmp, file), data); err != nil {
			return fail(err)
		}
		info.Files[role], info.Digests[file] = file, Digest(data)
	}
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(tmp, name)), 0o755); err != nil {
			return fail(fmt.Errorf("ckpt: %w", err))
		}
		if err := writeSynced(filepath.Join(tmp, name), extra[name]); err != nil {
			return fail(err)
		}
	}
	data, err := yaml.Marshal(info)
	if err != nil {
		return fail(fmt.Errorf("ckpt: %s: %w", dir, err))
	}
	if err := writeSynced(filepath.Join(tmp, ModelYAML), data); err != nil {
		return fail(err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fail(fmt.Errorf("ckpt: %w", err))
	}
	syncDir(tmp)
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fail(fmt.Errorf("ckpt: %w", err))
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return fail(fmt.Errorf("ckpt: %w", err))
	}
	syncDir(filepath.Dir(dir))
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

// ReadModelDir reads dir/model.yaml and checks that every file it names exists.
func ReadModelDir(dir string) (*ModelInfo, error) {
	return ReadModelFS(os.DirFS(dir), ".", dir)
}

// ReadModelFS reads a model directory at dir inside fsys (an embedded
// model); label names it in messages.
func ReadModelFS(fsys fs.FS, dir, label string) (*ModelInfo, error) {
	p := path.Join(dir, ModelYAML)
	data, err := fs.ReadFile(fsys, p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("ckpt: %s is not a model directory: it has no %s", label, ModelYAML)
		}
		return nil, fmt.Errorf("ckpt: %w", err)
	}
	info := &ModelInfo{}
	if err := yaml.Unmarshal(data, info); err != nil {
		return nil, fmt.Errorf("ckpt: %s: %w", filepath.Join(label, ModelYAML), err)
	}
	if info.Family == "" {
		return nil, fmt.Errorf("ckpt: %s: no family", filepath.Join(label, ModelYAML))
	}
	for role, f := range info.Files {
		if _, err := fs.Stat(fsys, path.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("ckpt: %s: file %q of component %q is missing", label, f, role)
		}
	}
	info.fsys = fsys
	info.where = dir
	if label != "" {
		info.where = label
	}
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("ckpt: %w", err)
	}
	info.fsys = sub
	return info, nil
}

// Open reads the safetensors file of component role.
func (m *ModelInfo) Open(role string) (*File, error) {
	name, ok := m.Files[role]
	if !ok {
		return nil, fmt.Errorf("ckpt: %s has no component %q", m.where, role)
	}
	data, err := fs.ReadFile(m.fsys, name)
	if err != nil {
		return nil, fmt.Errorf("ckpt: %w", err)
	}
	if want, ok := m.Digests[name]; ok {
		if err := checkDigest(filepath.Join(m.where, name), data, want, ModelYAML); err != nil {
			return nil, err
		}
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("ckpt: %s: %w", filepath.Join(m.where, name), err)
	}
	return f, nil
}
