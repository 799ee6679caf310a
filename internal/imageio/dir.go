package imageio

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LoadDir loads every .png, .jpg, .jpeg or .gif of a directory, sorted by
// name, each as Load does at side×side. skipped names the other files with
// why (a .webp, say, which Go cannot decode), so that a caller can tell the
// user; hidden files and directories are passed over in silence.
func LoadDir(dir string, side int) (imgs []*image.RGBA, skipped []string, err error) {
	imgs, _, skipped, err = LoadDirSizes(dir, side)
	return imgs, skipped, err
}

// LoadDirSizes is LoadDir that also returns the size of the square crop of
// each image before it was resized (the shorter side of the file).
func LoadDirSizes(dir string, side int) (imgs []*image.RGBA, sides []int, skipped []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--refs: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		switch ext := strings.ToLower(filepath.Ext(e.Name())); ext {
		case ".png", ".jpg", ".jpeg", ".gif":
			names = append(names, e.Name())
		case ".webp", ".heic", ".heif", ".avif", ".tif", ".tiff", ".bmp":
			skipped = append(skipped, e.Name()+" (a "+ext+" image: convert it to PNG or JPEG)")
		default:
			skipped = append(skipped, e.Name()+" (not an image)")
		}
	}
	if len(names) == 0 {
		return nil, nil, skipped, fmt.Errorf("--refs: %s has no .png, .jpg, .jpeg or .gif image", dir)
	}
	sort.Strings(names)
	imgs, sides = make([]*image.RGBA, len(names)), make([]int, len(names))
	for i, n := range names {
		if imgs[i], sides[i], err = load(filepath.Join(dir, n), side); err != nil {
			return nil, nil, skipped, err
		}
	}
	return imgs, sides, skipped, nil
}
