package ckpt

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// ManifestFile is the name of the file that lists the files of a checkpoint
// or model directory with their sizes and SHA-256 digests.
const ManifestFile = "manifest.json"

// FileDigest is a file's size and SHA-256.
type FileDigest struct {
	Size   int64  `json:"size" yaml:"size"`
	SHA256 string `json:"sha256" yaml:"sha256"`
}

// Digest returns the size and SHA-256 of data.
func Digest(data []byte) FileDigest {
	h := sha256.Sum256(data)
	return FileDigest{Size: int64(len(data)), SHA256: hex.EncodeToString(h[:])}
}

// Manifest maps file names to their digests.
type Manifest map[string]FileDigest

func (m Manifest) write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("ckpt: %w", err)
	}
	return writeSynced(filepath.Join(dir, ManifestFile), b)
}

// readManifest reads dir's manifest. A checkpoint of the earlier layout has
// none: it reads as nil, and check then accepts every file.
func readManifest(dir string) (Manifest, error) {
	p := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) && checkpointSeq(dir) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ckpt: %s: the checkpoint has no readable manifest: %w", dir, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("ckpt: %s: %w", p, err)
	}
	return m, nil
}

// read returns the file name of checkpoint directory cp, checked against
// the manifest (a nil manifest, of the earlier layout, accepts every file).
func (m Manifest) read(cp, name string) ([]byte, error) {
	path := filepath.Join(cp, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ckpt: %w", err)
	}
	if m == nil {
		return data, nil
	}
	want, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("ckpt: %s is not in its checkpoint's manifest (files: %v)", path, slices.Sorted(maps.Keys(m)))
	}
	return data, checkDigest(path, data, want, "the manifest")
}

// checkDigest refuses data, the content of path, unless it has the size and
// SHA-256 that recordedIn recorded.
func checkDigest(path string, data []byte, want FileDigest, recordedIn string) error {
	if got := Digest(data); got != want {
		return fmt.Errorf("ckpt: %s is damaged: %d bytes with SHA-256 %.12s…, %s recorded %d bytes with %.12s…", path, got.Size, got.SHA256, recordedIn, want.Size, want.SHA256)
	}
	return nil
}

// writeSynced writes a new file and fsyncs it.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("ckpt: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("ckpt: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("ckpt: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("ckpt: writing %s: %w", path, err)
	}
	return nil
}

// syncDir fsyncs a directory, so that the names in it are durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
