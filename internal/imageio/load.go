package imageio

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	_ "image/gif" // decoders
	_ "image/jpeg"
	_ "image/png"
	"os"

	xdraw "golang.org/x/image/draw"
)

// MinSide is the smallest image side Load accepts.
const MinSide = 16

// Load decodes a PNG, JPEG or GIF (any colour model: grayscale, alpha,
// CMYK, 16-bit; JPEGs turned upright by their EXIF orientation), takes the centred square crop and resizes it to side×side
// (Catmull–Rom). Errors name the file and what is wrong.
func Load(path string, side int) (*image.RGBA, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("imageio: %w", err)
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("imageio: %s is not a readable PNG, JPEG or GIF image: %v", path, err)
	}
	if format == "jpeg" {
		img = orient(img, jpegOrientation(data)) // EXIF-rotated photos stand upright
	}
	b := img.Bounds()
	if b.Dx() < MinSide || b.Dy() < MinSide {
		return nil, fmt.Errorf("imageio: %s is %d×%d; images must be at least %d×%d", path, b.Dx(), b.Dy(), MinSide, MinSide)
	}
	s := min(b.Dx(), b.Dy())
	x0, y0 := b.Min.X+(b.Dx()-s)/2, b.Min.Y+(b.Dy()-s)/2
	// flatten onto white, whatever the colour model (alpha, CMYK, gray16)
	sq := image.NewRGBA(image.Rect(0, 0, s, s))
	draw.Draw(sq, sq.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(sq, sq.Bounds(), img, image.Point{x0, y0}, draw.Over)
	if s == side {
		return sq, nil
	}
	out := image.NewRGBA(image.Rect(0, 0, side, side))
	xdraw.CatmullRom.Scale(out, out.Bounds(), sq, sq.Bounds(), draw.Src, nil)
	return out, nil
}
