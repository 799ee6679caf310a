// Package imageio decodes, orients, crops and resizes images, and writes
// PNGs and contact-sheet grids.
package imageio

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"

	"github.com/rpo-dev/rpo/internal/ckpt"
)

// Grid lays images (all the size of the first) in rows of cols, with pad
// pixels of bg between and around them.
func Grid(imgs []image.Image, cols, pad int, bg color.Color) *image.RGBA {
	if len(imgs) == 0 {
		return image.NewRGBA(image.Rect(0, 0, 1, 1))
	}
	cols = max(1, min(cols, len(imgs)))
	rows := (len(imgs) + cols - 1) / cols
	w, h := imgs[0].Bounds().Dx(), imgs[0].Bounds().Dy()
	out := image.NewRGBA(image.Rect(0, 0, cols*(w+pad)+pad, rows*(h+pad)+pad))
	draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	for i, im := range imgs {
		x, y := pad+(i%cols)*(w+pad), pad+(i/cols)*(h+pad)
		draw.Draw(out, image.Rect(x, y, x+w, y+h), im, im.Bounds().Min, draw.Src)
	}
	return out
}

// EncodePNG returns the PNG bytes of img.
func EncodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SavePNG writes img to path atomically.
func SavePNG(path string, img image.Image) error {
	b, err := EncodePNG(img)
	if err != nil {
		return err
	}
	return ckpt.WriteFileAtomic(path, b)
}
