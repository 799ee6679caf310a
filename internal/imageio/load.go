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

// DefaultMaxPixels is the default of MaxPixels: 50 megapixels, larger than
// any camera photo, far below what a decompression bomb asks for.
const DefaultMaxPixels = 50_000_000

// MaxPixels is the largest width×height Load decodes (rpo's
// --max-image-pixels). An image's header is read first, so a small file that
// claims a huge image is refused before any memory is spent on it.
var MaxPixels = DefaultMaxPixels

// Load decodes a PNG, JPEG or GIF (any colour model: grayscale, alpha,
// CMYK, 16-bit; JPEGs turned upright by their EXIF orientation), takes the centred square crop and resizes it to side×side
// (Catmull–Rom; side 0 keeps the crop's size). Errors name the file and what is wrong.
func Load(path string, side int) (*image.RGBA, error) {
	img, _, err := load(path, side)
	return img, err
}

// load is Load, also returning the side of the square crop before resizing.
func load(path string, side int) (*image.RGBA, int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("imageio: %w", err)
	}
	if len(data) == 0 {
		return nil, 0, fmt.Errorf("imageio: %s is an empty file", path)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil && int64(cfg.Width)*int64(cfg.Height) > int64(MaxPixels) {
		return nil, 0, fmt.Errorf("imageio: %s is %d×%d (%.0f megapixels), over the limit of %.0f megapixels (--max-image-pixels)", path, cfg.Width, cfg.Height, float64(cfg.Width)*float64(cfg.Height)/1e6, float64(MaxPixels)/1e6)
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, 0, fmt.Errorf("imageio: %s is not a readable PNG, JPEG or GIF image: %v", path, err)
	}
	if format == "jpeg" {
		img = orient(img, jpegOrientation(data)) // EXIF-rotated photos stand upright
	}
	b := img.Bounds()
	if b.Dx() < MinSide || b.Dy() < MinSide {
		return nil, 0, fmt.Errorf("imageio: %s is %d×%d; images must be at least %d×%d", path, b.Dx(), b.Dy(), MinSide, MinSide)
	}
	s := min(b.Dx(), b.Dy())
	x0, y0 := b.Min.X+(b.Dx()-s)/2, b.Min.Y+(b.Dy()-s)/2
	// flatten onto white, whatever the colour model (alpha, CMYK, gray16)
	sq := image.NewRGBA(image.Rect(0, 0, s, s))
	draw.Draw(sq, sq.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(sq, sq.Bounds(), img, image.Point{x0, y0}, draw.Over)
	if s == side || side <= 0 { // side 0: the square crop as it is
		return sq, s, nil
	}
	out := image.NewRGBA(image.Rect(0, 0, side, side))
	xdraw.CatmullRom.Scale(out, out.Bounds(), sq, sq.Bounds(), draw.Src, nil)
	return out, s, nil
}

// Resize returns img scaled to side×side (Catmull–Rom, antialiased when
// shrinking), or img itself when it already has that size.
func Resize(img *image.RGBA, side int) *image.RGBA { return ResizeWith(img, side, Bicubic) }

// Filter is a resampling filter, as PIL names them.
type Filter int

// The filters ResizeWith has: PIL's NEAREST, BILINEAR and BICUBIC
// (antialiased when shrinking, as PIL's resize).
const (
	Nearest Filter = iota
	Bilinear
	Bicubic
)

// PILFilter maps a PIL resample code (preprocessor_config.json's
// "resample": 0 nearest, 2 bilinear, 3 bicubic) to a Filter.
func PILFilter(code int) (Filter, error) {
	switch code {
	case 0:
		return Nearest, nil
	case 2:
		return Bilinear, nil
	case 3:
		return Bicubic, nil
	}
	return 0, fmt.Errorf("resample %d is not supported (0 nearest, 2 bilinear, 3 bicubic)", code)
}

// ResizeWith returns img scaled to side×side with filter f, or img itself
// when it already has that size.
func ResizeWith(img *image.RGBA, side int, f Filter) *image.RGBA {
	if b := img.Bounds(); b.Dx() == side && b.Dy() == side {
		return img
	}
	var k xdraw.Interpolator = xdraw.CatmullRom
	switch f {
	case Nearest:
		k = xdraw.NearestNeighbor
	case Bilinear:
		k = xdraw.BiLinear
	}
	out := image.NewRGBA(image.Rect(0, 0, side, side))
	k.Scale(out, out.Bounds(), img, img.Bounds(), draw.Src, nil)
	return out
}
