package imageio

import (
	"image"
	"image/color"
)

// ToCHW writes img (RGB, alpha ignored) into dst as (3, H, W) float32 in
// [-1, 1], the layout and range the models take.
func ToCHW(img *image.RGBA, dst []float32) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := img.PixOffset(b.Min.X+x, b.Min.Y+y)
			for c := 0; c < 3; c++ {
				dst[(c*h+y)*w+x] = float32(img.Pix[o+c])/127.5 - 1
			}
		}
	}
}

// FromCHW turns (3, H, W) values in [-1, 1] (clamped) into an image.
func FromCHW(src []float32, h, w int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var px [3]uint8
			for c := 0; c < 3; c++ {
				v := (src[(c*h+y)*w+x] + 1) * 127.5
				switch {
				case v < 0:
					v = 0
				case v > 255:
					v = 255
				}
				px[c] = uint8(v + 0.5)
			}
			img.SetRGBA(x, y, color.RGBA{px[0], px[1], px[2], 255})
		}
	}
	return img
}
