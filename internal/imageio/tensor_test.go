package imageio

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
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

// exifJPEG encodes img as a JPEG carrying an EXIF orientation tag.
func exifJPEG(t *testing.T, img image.Image, orientation uint16) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, byte(orientation >> 8), byte(orientation), 0, 0, 0, 0, 0, 0, 0, 0}
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
	out := append([]byte{}, b.Bytes()[:2]...)
	out = append(append(out, app1...), seg...)
	return append(out, b.Bytes()[2:]...)
}

func TestLoadEXIFOrientation(t *testing.T) {
	// a 40×20 image, red on the left half: orientation 6 (rotate 90° clockwise
	// to view) puts the red half on top
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for y := 0; y < 20; y++ {
		for x := 0; x < 40; x++ {
			c := color.RGBA{0, 0, 255, 255}
			if x < 20 {
				c = color.RGBA{255, 0, 0, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	p := filepath.Join(t.TempDir(), "rotated.jpg")
	os.WriteFile(p, exifJPEG(t, img, 6), 0o644)
	if o := jpegOrientation(exifJPEG(t, img, 6)); o != 6 {
		t.Fatalf("orientation %d", o)
	}
	got, err := Load(p, 20)
	if err != nil {
		t.Fatal(err)
	}
	// after rotation the image is 20×40 and its centred square crop is the
	// middle, half red on top... sample the top and bottom rows of the crop
	top, bottom := got.RGBAAt(10, 1), got.RGBAAt(10, 18)
	if top.R < 200 || bottom.B < 200 {
		t.Errorf("top %v bottom %v: the EXIF rotation was not applied", top, bottom)
	}
}
