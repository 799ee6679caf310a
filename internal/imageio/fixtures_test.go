package imageio

import (
	"strings"
	"testing"
)

// TestFixtures loads the images of testdata/images (testdata/make.py): an
// EXIF-rotated JPEG, a CMYK JPEG, a 16-bit grayscale PNG and a PNG cut short.
func TestFixtures(t *testing.T) {
	const dir = "../../testdata/images/"
	// orientation 6: the red left half ends on top
	im, err := Load(dir+"exif-orientation-6.jpg", 20)
	if err != nil {
		t.Fatal(err)
	}
	if top, bottom := im.RGBAAt(10, 1), im.RGBAAt(10, 18); top.R < 200 || top.B > 60 || bottom.B < 200 || bottom.R > 60 {
		t.Errorf("EXIF rotation: top %v, bottom %v", top, bottom)
	}
	// CMYK: the centred 20×20 crop of a 40×20 image, red left, blue right
	im, err = Load(dir+"cmyk.jpg", 20)
	if err != nil {
		t.Fatal(err)
	}
	if l, r := im.RGBAAt(2, 10), im.RGBAAt(17, 10); l.R < 200 || l.B > 60 || r.B < 200 || r.R > 60 {
		t.Errorf("CMYK: left %v, right %v", l, r)
	}
	// 16-bit ramp: darker on the left of the crop than on the right
	im, err = Load(dir+"gray16.png", 32)
	if err != nil {
		t.Fatal(err)
	}
	if l, r := im.RGBAAt(0, 16), im.RGBAAt(31, 16); l.R >= r.R || l.R != l.G || r.R < 150 {
		t.Errorf("16-bit gray: left %v, right %v", l, r)
	}
	if _, err := Load(dir+"truncated.png", 32); err == nil || !strings.Contains(err.Error(), "truncated.png is not a readable") {
		t.Errorf("truncated PNG: %v", err)
	}
}
