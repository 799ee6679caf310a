package ckpt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
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

// WriteModelDir writes the component files and then model.yaml into dir
// (created if needed), each atomically; model.yaml last, so a directory with
// a model.yaml is complete.
func WriteModelDir(dir string, info *ModelInfo, components map[string]*File) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ckpt: %w", err)
	}
	info.Files = map[string]string{}
	names := make([]string, 0, len(components))
	for role := range components {
		names = append(names, role)
	}
	sort.Strings(names)
	for _, role := range names {
		file := role + ".safetensors"
		if err := Write(filepath.Join(dir, file), components[role]); err != nil {
			return err
		}
		info.Files[role] = file
	}
	data, err := yaml.Marshal(info)
	if err != nil {
		return fmt.Errorf("ckpt: %s: %w", dir, err)
	}
	return WriteFileAtomic(filepath.Join(dir, ModelYAML), data)
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
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("ckpt: %s: %w", filepath.Join(m.where, name), err)
	}
	return f, nil
}
