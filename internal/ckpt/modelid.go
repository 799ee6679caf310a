package ckpt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"slices"
)

// ModelID identifies a model directory (on a file system:
// os.DirFS(dir), or an embedded one) by the hashes of its weight files.
func ModelID(fsys fs.FS) (string, error) {
	info, err := ReadModelFS(fsys, ".", "model")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, r := range slices.Sorted(maps.Keys(info.Files)) {
		b, err := fs.ReadFile(fsys, info.Files[r])
		if err != nil {
			return "", fmt.Errorf("ckpt: %w", err)
		}
		fmt.Fprintf(h, "%s:", r)
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}
