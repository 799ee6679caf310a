package imageio

import (
	"image"
	"image/color"
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
