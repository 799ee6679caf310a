package imageio

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCHWRoundTrip(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 11)
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	buf := make([]float32, 3*2*3)
	ToCHW(img, buf)
	if buf[0] != -1 || buf[3*2*3-1] < -1 || buf[3*2*3-1] > 1 {
		t.Fatalf("%v", buf)
	}
	back := FromCHW(buf, 2, 3)
	for y := 0; y < 2; y++ {
		for x := 0; x < 3; x++ {
			if back.RGBAAt(x, y) != img.RGBAAt(x, y) {
				t.Fatalf("(%d,%d): %v vs %v", x, y, back.RGBAAt(x, y), img.RGBAAt(x, y))
			}
		}
	}
	if c := FromCHW([]float32{2, -3, 0}, 1, 1).RGBAAt(0, 0); c != (color.RGBA{255, 0, 128, 255}) {
		t.Errorf("clamping: %v", c)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	gray := image.NewGray16(image.Rect(0, 0, 80, 40))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i)
	}
	p := filepath.Join(dir, "wide.png")
	f, _ := os.Create(p)
	png.Encode(f, gray)
	f.Close()
	img, err := Load(p, 64)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 64 || img.Bounds().Dy() != 64 {
		t.Fatalf("%v", img.Bounds())
	}
	tiny := filepath.Join(dir, "tiny.png")
	f, _ = os.Create(tiny)
	png.Encode(f, image.NewRGBA(image.Rect(0, 0, 8, 8)))
	f.Close()
	if _, err := Load(tiny, 64); err == nil || !strings.Contains(err.Error(), "tiny.png is 8×8") {
		t.Errorf("tiny: %v", err)
	}
	bad := filepath.Join(dir, "notes.png")
	os.WriteFile(bad, []byte("not an image"), 0o644)
	if _, err := Load(bad, 64); err == nil || !strings.Contains(err.Error(), "notes.png is not a readable") {
		t.Errorf("corrupt: %v", err)
	}
}
