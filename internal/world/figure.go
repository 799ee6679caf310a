package world

import "math"

// anchors are where accessories attach, in figure coordinates (the figure
// spans about [-1, 1]², y down, standing on y = 1).
type anchors struct {
	top   [3]float64 // hat: centre x, y of the top, width
	face  [3]float64 // glasses, monocle: centre x, y and half-width
	neck  [3]float64 // scarf: centre x, y and half-width
	torso [4]float64 // outfit: x0, y0, x1, y1
	eyeY  float64
}

// figure draws one subject.
type figure struct {
	pn             *pen
	inv            xform // canvas → figure
	id             *Identity
	sh             [4]float64
	prim, sec, acc RGB
	body           paint // the identity's pattern in prim/sec
	cube           bool
	cubeDone       bool
	a              anchors
}

var (
	white   = hex(0xffffff)
	black   = hex(0x141414)
	eyeDark = hex(0x1a1410)
)

func dark(c RGB) RGB  { return c.scale(0.68) }
func light(c RGB) RGB { return c.mix(white, 0.4) }

func (f *figure) fill(p *path, c RGB)             { f.pn.fill(p, solid(c), 1) }
func (f *figure) fillP(p *path, pt paint)         { f.pn.fill(p, pt, 1) }
func (f *figure) fillA(p *path, c RGB, a float32) { f.pn.fill(p, solid(c), a) }

// main paints the subject's main body in its pattern; a cube-shaped subject
// gets a patterned cube over the same box instead (once).
func (f *figure) main(p *path, x0, y0, x1, y1 float64) {
	if !f.cube {
		f.fillP(p, f.body)
		f.marking(x0, y0, x1, y1)
		return
	}
	if f.cubeDone {
		return
	}
	f.cubeDone = true
	f.drawCube(x0, y0, x1, y1)
}

// drawCube draws a cube whose front face fills most of the box, with a
// lighter top face and a darker side face.
func (f *figure) drawCube(x0, y0, x1, y1 float64) {
	w, h := x1-x0, y1-y0
	s := math.Min(math.Min(w, h)*1.35, (w+h)/2) * 0.92
	d := s * 0.3
	cx, by := (x0+x1)/2-d/2, y1
	fx0, fx1, fy0, fy1 := cx-s/2, cx+s/2, by-s, by
	f.fillP(poly(fx0, fy0, fx0+d, fy0-d, fx1+d, fy0-d, fx1, fy0), func(x, y float32) RGB { return light(f.body(x, y)) })
	f.fillP(poly(fx1, fy0, fx1+d, fy0-d, fx1+d, fy1-d, fx1, fy1), func(x, y float32) RGB { return dark(f.body(x, y)) })
	f.fillP(rect(fx0, fy0, fx1, fy1, 0), f.body)
	f.marking(fx0, fy0, fx1, fy1)
}

// marking draws the identity's marking inside a box.
func (f *figure) marking(x0, y0, x1, y1 float64) {
	m := f.id.Marking
	if m == NoMarking {
		return
	}
	w, h := x1-x0, y1-y0
	cx := (x0+x1)/2 + f.id.MarkPos[0]*w*0.5
	cy := (y0+y1)/2 + f.id.MarkPos[1]*h*0.5
	r := math.Min(w, h) * 0.16
	c := f.acc
	switch m {
	case Star:
		pts := make([]float64, 0, 20)
		for i := 0; i < 10; i++ {
			rr := r
			if i%2 == 1 {
				rr = r * 0.45
			}
			a := -math.Pi/2 + float64(i)*math.Pi/5
			pts = append(pts, cx+rr*math.Cos(a), cy+rr*math.Sin(a))
		}
		f.fill(poly(pts...), c)
	case Heart:
		p := &path{}
		p.moveTo(cx, cy+r)
		p.cubeTo(cx-1.6*r, cy-0.2*r, cx-0.6*r, cy-1.3*r, cx, cy-0.45*r)
		p.cubeTo(cx+0.6*r, cy-1.3*r, cx+1.6*r, cy-0.2*r, cx, cy+r)
		f.fill(p.close(), c)
	case Band:
		f.fill(rect(x0+w*0.04, cy-r*0.45, x1-w*0.04, cy+r*0.45, 0), c)
	case EyePatch:
		f.fill(ellipse(cx, cy, r*1.1, r*0.8), dark(f.sec))
	}
}

// eye draws an eye with a glint.
func (f *figure) eye(x, y, r float64) {
	f.fill(ellipse(x, y, r, r*1.1), eyeDark)
	f.fill(ellipse(x+r*0.35, y-r*0.4, r*0.35, r*0.35), white)
}

// bigEye draws a cartoon eye: white, iris, pupil.
func (f *figure) bigEye(x, y, r float64, iris RGB) {
	f.fill(ellipse(x, y, r, r*1.15), white)
	f.fill(ellipse(x+r*0.2, y+r*0.1, r*0.55, r*0.6), iris)
	f.fill(ellipse(x+r*0.25, y+r*0.12, r*0.3, r*0.32), eyeDark)
}

// ring is an elliptical ring (a handle) of thickness t.
func ring(cx, cy, rx, ry, t float64) *path {
	p := ellipse(cx, cy, rx, ry)
	// inner ellipse with opposite winding makes the hole
	ix, iy := rx-t, ry-t
	kx, ky := ix*kappa, iy*kappa
	p.moveTo(cx+ix, cy)
	p.cubeTo(cx+ix, cy-ky, cx+kx, cy-iy, cx, cy-iy)
	p.cubeTo(cx-kx, cy-iy, cx-ix, cy-ky, cx-ix, cy)
	p.cubeTo(cx-ix, cy+ky, cx-kx, cy+iy, cx, cy+iy)
	p.cubeTo(cx+kx, cy+iy, cx+ix, cy+ky, cx+ix, cy)
	return p.close()
}

// thickLine is a line of width w from (x0, y0) to (x1, y1).
func thickLine(x0, y0, x1, y1, w float64) *path {
	dx, dy := x1-x0, y1-y0
	l := math.Hypot(dx, dy)
	if l == 0 {
		return &path{}
	}
	nx, ny := -dy/l*w/2, dx/l*w/2
	return poly(x0+nx, y0+ny, x1+nx, y1+ny, x1-nx, y1-ny, x0-nx, y0-ny)
}
