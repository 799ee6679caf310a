package imageio

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bombPNG is the header of a PNG that claims w×h pixels and holds none.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// TestDecompressionBombRefused: a small file that claims 20000×20000
// pixels is refused from its header, naming the file and its size; an
// empty file is called empty.
func TestDecompressionBombRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bomb.png")
	os.WriteFile(p, bombPNG(20000, 20000), 0o644)
	_, err := Load(p, 64)
	if err == nil || !strings.Contains(err.Error(), "bomb.png is 20000×20000 (400 megapixels), over the limit of 50 megapixels") {
		t.Fatalf("bomb: %v", err)
	}
	empty := filepath.Join(dir, "empty.jpg")
	os.WriteFile(empty, nil, 0o644)
	if _, err := Load(empty, 64); err == nil || !strings.Contains(err.Error(), "empty.jpg is an empty file") {
		t.Fatalf("empty: %v", err)
	}
}

// TestLoadDirSkipsAndGIF: GIFs are loaded; a .webp and a text file are
// reported as skipped with why; hidden files are passed over.
func TestLoadDirSkipsAndGIF(t *testing.T) {
	dir := t.TempDir()
	pal := image.NewPaletted(image.Rect(0, 0, 32, 32), color.Palette{color.RGBA{255, 0, 0, 255}})
	f, _ := os.Create(filepath.Join(dir, "a.gif"))
	gif.Encode(f, pal, nil)
	f.Close()
	os.WriteFile(filepath.Join(dir, "b.webp"), []byte("RIFF"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, ".DS_Store"), []byte("x"), 0o644)
	imgs, skipped, err := LoadDir(dir, 16)
	if err != nil || len(imgs) != 1 || imgs[0].RGBAAt(8, 8).R != 255 {
		t.Fatalf("%d images, %v", len(imgs), err)
	}
	if len(skipped) != 2 || !strings.Contains(skipped[0], "b.webp (a .webp image") || !strings.Contains(skipped[1], "notes.txt (not an image)") {
		t.Errorf("skipped %q", skipped)
	}
}
