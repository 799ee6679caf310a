package imageio

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LoadDir loads every .png, .jpg or .jpeg of a directory, sorted by name,
// each as Load does at side×side.
func LoadDir(dir string, side int) ([]*image.RGBA, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("--refs: %w", err)
	}
	var names []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg":
			if !e.IsDir() {
				names = append(names, e.Name())
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("--refs: %s has no .png, .jpg or .jpeg image", dir)
	}
	sort.Strings(names)
	out := make([]*image.RGBA, len(names))
	for i, n := range names {
		if out[i], err = Load(filepath.Join(dir, n), side); err != nil {
			return nil, err
		}
	}
	return out, nil
}
