package world

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"golang.org/x/image/vector"
)

// Size is the side of a rendered image; Super the supersampling factor
// (scenes are drawn at Size·Super and box-filtered down).
const (
	Size  = 64
	Super = 2
	side  = Size * Super
)

// RGB is a linear-ish colour with components in [0, 1].
type RGB struct{ R, G, B float32 }

func rgb(r, g, b float64) RGB { return RGB{float32(r), float32(g), float32(b)} }

// hex makes an RGB from 0xRRGGBB.
func hex(v uint32) RGB {
	return RGB{float32(v>>16&255) / 255, float32(v>>8&255) / 255, float32(v&255) / 255}
}

func (c RGB) mix(d RGB, t float32) RGB {
	return RGB{c.R + (d.R-c.R)*t, c.G + (d.G-c.G)*t, c.B + (d.B-c.B)*t}
}

func (c RGB) scale(s float32) RGB { return RGB{clamp01(c.R * s), clamp01(c.G * s), clamp01(c.B * s)} }

func clamp01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// layer is a premultiplied RGBA float image of side×side.
type layer struct {
	pix []float32 // r, g, b, a
}

func newLayer() *layer { return &layer{pix: make([]float32, side*side*4)} }

func (l *layer) clear() { clear(l.pix) }

// fillRect paints an axis-aligned rectangle (pixel units) opaque.
func (l *layer) fillRect(x0, y0, x1, y1 int, p paint) {
	x0, y0 = max(x0, 0), max(y0, 0)
	x1, y1 = min(x1, side), min(y1, side)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			c := p(float32(x)+0.5, float32(y)+0.5)
			i := (y*side + x) * 4
			l.pix[i], l.pix[i+1], l.pix[i+2], l.pix[i+3] = c.R, c.G, c.B, 1
		}
	}
}

// over composites src over l with opacity.
func (l *layer) over(src *layer, opacity float32) {
	for i := 0; i < len(l.pix); i += 4 {
		a := src.pix[i+3] * opacity
		if a == 0 {
			continue
		}
		k := 1 - a
		l.pix[i] = src.pix[i]*opacity + l.pix[i]*k
		l.pix[i+1] = src.pix[i+1]*opacity + l.pix[i+1]*k
		l.pix[i+2] = src.pix[i+2]*opacity + l.pix[i+2]*k
		l.pix[i+3] = a + l.pix[i+3]*k
	}
}

// at returns the (unpremultiplied) colour and alpha of a pixel.
func (l *layer) at(x, y int) (RGB, float32) {
	i := (y*side + x) * 4
	a := l.pix[i+3]
	if a == 0 {
		return RGB{}, 0
	}
	return RGB{l.pix[i] / a, l.pix[i+1] / a, l.pix[i+2] / a}, a
}

// downscale box-filters l (opaque) to a Size×Size RGBA image.
func (l *layer) downscale() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, Size, Size))
	const n = Super * Super
	for y := 0; y < Size; y++ {
		for x := 0; x < Size; x++ {
			var r, g, b float32
			for dy := 0; dy < Super; dy++ {
				i := ((y*Super+dy)*side + x*Super) * 4
				for dx := 0; dx < Super; dx++ {
					r += l.pix[i]
					g += l.pix[i+1]
					b += l.pix[i+2]
					i += 4
				}
			}
			o := img.PixOffset(x, y)
			img.Pix[o] = to8(r / n)
			img.Pix[o+1] = to8(g / n)
			img.Pix[o+2] = to8(b / n)
			img.Pix[o+3] = 255
		}
	}
	return img
}

func to8(v float32) uint8 { return uint8(clamp01(v)*255 + 0.5) }

// paint gives the colour at a canvas pixel position.
type paint func(x, y float32) RGB

func solid(c RGB) paint { return func(float32, float32) RGB { return c } }

// vgradient is a vertical gradient from top colour a at y0 to b at y1 (pixels).
func vgradient(a, b RGB, y0, y1 float32) paint {
	return func(_, y float32) RGB { return a.mix(b, clamp01((y-y0)/(y1-y0))) }
}

// xform maps figure coordinates (unit box, y down) to canvas pixels:
// scale, rotation, flip, translation.
type xform struct {
	a, b, c, d, tx, ty float64 // x' = a·x + b·y + tx, y' = c·x + d·y + ty
}

func identityXform() xform { return xform{a: 1, d: 1} }

// place returns the transform that puts a figure of unit size at centre
// (cx, cy) (pixels), scaled by s pixels per unit, rotated by rot radians,
// mirrored horizontally when flip.
func place(cx, cy, s, rot float64, flip bool) xform {
	f := 1.0
	if flip {
		f = -1
	}
	cs, sn := math.Cos(rot), math.Sin(rot)
	return xform{a: s * cs * f, b: -s * sn, c: s * sn * f, d: s * cs, tx: cx, ty: cy}
}

func (t xform) apply(x, y float64) (float64, float64) {
	return t.a*x + t.b*y + t.tx, t.c*x + t.d*y + t.ty
}

// inverse maps canvas pixels back to figure coordinates.
func (t xform) inverse() xform {
	det := t.a*t.d - t.b*t.c
	ia, ib, ic, id := t.d/det, -t.b/det, -t.c/det, t.a/det
	return xform{a: ia, b: ib, c: ic, d: id, tx: -(ia*t.tx + ib*t.ty), ty: -(ic*t.tx + id*t.ty)}
}

// then composes: first t, then u.
func (t xform) then(u xform) xform {
	return xform{
		a: u.a*t.a + u.b*t.c, b: u.a*t.b + u.b*t.d,
		c: u.c*t.a + u.d*t.c, d: u.c*t.b + u.d*t.d,
		tx: u.a*t.tx + u.b*t.ty + u.tx, ty: u.c*t.tx + u.d*t.ty + u.ty,
	}
}

// path is a closed outline in figure coordinates.
type path struct {
	ops []pathOp
}

type pathOp struct {
	kind byte // 'M', 'L', 'Q', 'C', 'Z'
	pts  [3][2]float64
}

func (p *path) moveTo(x, y float64) *path {
	p.ops = append(p.ops, pathOp{kind: 'M', pts: [3][2]float64{{x, y}}})
	return p
}
func (p *path) lineTo(x, y float64) *path {
	p.ops = append(p.ops, pathOp{kind: 'L', pts: [3][2]float64{{x, y}}})
	return p
}
func (p *path) quadTo(bx, by, x, y float64) *path {
	p.ops = append(p.ops, pathOp{kind: 'Q', pts: [3][2]float64{{bx, by}, {x, y}}})
	return p
}
func (p *path) cubeTo(bx, by, cx, cy, x, y float64) *path {
	p.ops = append(p.ops, pathOp{kind: 'C', pts: [3][2]float64{{bx, by}, {cx, cy}, {x, y}}})
	return p
}
func (p *path) close() *path { p.ops = append(p.ops, pathOp{kind: 'Z'}); return p }

// kappa places cubic control points to approximate a quarter circle.
const kappa = 0.5522847498

// ellipse is an axis-aligned ellipse.
func ellipse(cx, cy, rx, ry float64) *path {
	p := &path{}
	kx, ky := rx*kappa, ry*kappa
	p.moveTo(cx+rx, cy)
	p.cubeTo(cx+rx, cy+ky, cx+kx, cy+ry, cx, cy+ry)
	p.cubeTo(cx-kx, cy+ry, cx-rx, cy+ky, cx-rx, cy)
	p.cubeTo(cx-rx, cy-ky, cx-kx, cy-ry, cx, cy-ry)
	p.cubeTo(cx+kx, cy-ry, cx+rx, cy-ky, cx+rx, cy)
	return p.close()
}

// rect is a rectangle with corner radius r.
func rect(x0, y0, x1, y1, r float64) *path {
	p := &path{}
	r = math.Min(r, math.Min(x1-x0, y1-y0)/2)
	if r <= 0 {
		return p.moveTo(x0, y0).lineTo(x1, y0).lineTo(x1, y1).lineTo(x0, y1).close()
	}
	k := r * (1 - kappa)
	p.moveTo(x0+r, y0).lineTo(x1-r, y0)
	p.cubeTo(x1-k, y0, x1, y0+k, x1, y0+r).lineTo(x1, y1-r)
	p.cubeTo(x1, y1-k, x1-k, y1, x1-r, y1).lineTo(x0+r, y1)
	p.cubeTo(x0+k, y1, x0, y1-k, x0, y1-r).lineTo(x0, y0+r)
	p.cubeTo(x0, y0+k, x0+k, y0, x0+r, y0)
	return p.close()
}

// poly is a closed polygon through points (x0, y0, x1, y1, ...).
func poly(xy ...float64) *path {
	p := &path{}
	p.moveTo(xy[0], xy[1])
	for i := 2; i+1 < len(xy); i += 2 {
		p.lineTo(xy[i], xy[i+1])
	}
	return p.close()
}

// pen fills paths onto a layer through a transform.
type pen struct {
	dst  *layer
	t    xform
	z    vector.Rasterizer
	mask *image.Alpha
	buf  []pathOp
}

func newPen(dst *layer) *pen {
	return &pen{dst: dst, t: identityXform(), mask: image.NewAlpha(image.Rect(0, 0, side, side))}
}

// fill paints path p with paint at opacity op (1 = opaque).
func (pn *pen) fill(p *path, pt paint, op float32) { pn.draw(p, pt, op, false) }

// fillAtop paints only where the layer already has alpha, keeping it
// (Porter–Duff atop): highlights and droplets on a subject.
func (pn *pen) fillAtop(p *path, pt paint, op float32) { pn.draw(p, pt, op, true) }

func (pn *pen) draw(p *path, pt paint, op float32, atop bool) {
	// transform and find the bounding box
	pn.buf = pn.buf[:0]
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, o := range p.ops {
		n := 0
		switch o.kind {
		case 'M', 'L':
			n = 1
		case 'Q':
			n = 2
		case 'C':
			n = 3
		}
		q := pathOp{kind: o.kind}
		for i := 0; i < n; i++ {
			x, y := pn.t.apply(o.pts[i][0], o.pts[i][1])
			q.pts[i] = [2]float64{x, y}
			minX, minY = math.Min(minX, x), math.Min(minY, y)
			maxX, maxY = math.Max(maxX, x), math.Max(maxY, y)
		}
		pn.buf = append(pn.buf, q)
	}
	x0, y0 := max(int(math.Floor(minX)), 0), max(int(math.Floor(minY)), 0)
	x1, y1 := min(int(math.Ceil(maxX))+1, side), min(int(math.Ceil(maxY))+1, side)
	if x1 <= x0 || y1 <= y0 {
		return
	}
	w, h := x1-x0, y1-y0
	pn.z.Reset(w, h)
	pn.z.DrawOp = draw.Src
	fx, fy := float64(x0), float64(y0)
	for _, q := range pn.buf {
		switch q.kind {
		case 'M':
			pn.z.MoveTo(float32(q.pts[0][0]-fx), float32(q.pts[0][1]-fy))
		case 'L':
			pn.z.LineTo(float32(q.pts[0][0]-fx), float32(q.pts[0][1]-fy))
		case 'Q':
			pn.z.QuadTo(float32(q.pts[0][0]-fx), float32(q.pts[0][1]-fy), float32(q.pts[1][0]-fx), float32(q.pts[1][1]-fy))
		case 'C':
			pn.z.CubeTo(float32(q.pts[0][0]-fx), float32(q.pts[0][1]-fy), float32(q.pts[1][0]-fx), float32(q.pts[1][1]-fy), float32(q.pts[2][0]-fx), float32(q.pts[2][1]-fy))
		case 'Z':
			pn.z.ClosePath()
		}
	}
	// a mask whose stride equals its width: vector's fast path writes the
	// pixels contiguously when the bounds match
	m := &image.Alpha{Pix: pn.mask.Pix[:w*h], Stride: w, Rect: image.Rect(0, 0, w, h)}
	pn.z.Draw(m, m.Bounds(), image.Opaque, image.Point{})
	for y := 0; y < h; y++ {
		row := m.Pix[y*m.Stride : y*m.Stride+w]
		for x, cov := range row {
			if cov == 0 {
				continue
			}
			a := float32(cov) / 255 * op
			px, py := x0+x, y0+y
			c := pt(float32(px)+0.5, float32(py)+0.5)
			i := (py*side + px) * 4
			d := pn.dst.pix
			k := 1 - a
			if atop {
				ca := a * d[i+3]
				d[i] = c.R*ca + d[i]*k
				d[i+1] = c.G*ca + d[i+1]*k
				d[i+2] = c.B*ca + d[i+2]*k
				continue
			}
			d[i] = c.R*a + d[i]*k
			d[i+1] = c.G*a + d[i+1]*k
			d[i+2] = c.B*a + d[i+2]*k
			d[i+3] = a + d[i+3]*k
		}
	}
}

// toRGB converts an 8-bit colour.
func toRGB(c color.RGBA) RGB {
	return RGB{float32(c.R) / 255, float32(c.G) / 255, float32(c.B) / 255}
}
