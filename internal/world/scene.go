package world

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"sync"
)

// Camera places the subject: horizontal offset (fraction of the width),
// scale (1 = the reference size), rotation (radians) and mirror flip.
type Camera struct {
	X, Scale, Rot float64
	Flip          bool
}

// Scene is everything one image shows: a subject identity in a context
// with modifiers, seen through a camera. Seed varies the scenery (where the
// trees and clouds are).
type Scene struct {
	Identity  Identity
	Context   *Context
	Modifiers []*Modifier // at most one of each kind
	Camera    Camera
	Seed      uint64
}

// Modifier returns the scene's modifier of kind k, or nil.
func (s *Scene) Modifier(k ModKind) *Modifier {
	for _, m := range s.Modifiers {
		if m.Kind == k {
			return m
		}
	}
	return nil
}

// Validate checks that the scene can be rendered.
func (s *Scene) Validate() error {
	if s.Identity.Class == nil {
		return fmt.Errorf("world: scene has no class")
	}
	if s.Context == nil {
		return fmt.Errorf("world: scene has no context")
	}
	if s.Identity.Plan < 0 || s.Identity.Plan >= len(s.Identity.Class.Plans) {
		return fmt.Errorf("world: %s has no body plan %d", s.Identity.Class.Name, s.Identity.Plan)
	}
	var seen [numModKinds]bool
	for _, m := range s.Modifiers {
		if seen[m.Kind] {
			return fmt.Errorf("world: scene has two modifiers of one kind (%s)", m.Name)
		}
		seen[m.Kind] = true
	}
	return nil
}

// renderer holds the buffers of one rendering; pooled.
type renderer struct {
	bg, subj, tmp *layer
	pn            *pen
}

var renderers = sync.Pool{New: func() any {
	r := &renderer{bg: newLayer(), subj: newLayer(), tmp: newLayer()}
	r.pn = newPen(r.bg)
	return r
}}

// Render draws the scene at Size×Size. It is deterministic: the same scene
// gives the same pixels. It panics on a scene that fails Validate.
func (s *Scene) Render() *image.RGBA {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	r := renderers.Get().(*renderer)
	defer renderers.Put(r)
	rng := rand.New(rand.NewPCG(s.Seed, 0x5eed))
	ctx := s.Context
	groundPx := ctx.Ground * side

	// background
	r.bg.clear()
	r.pn.dst, r.pn.t = r.bg, xform{a: side, d: side}
	ctx.draw(&scenery{pn: r.pn, rng: rng, ground: ctx.Ground})

	// where the figure goes
	cam := s.Camera
	scale := side * 0.34 * cam.Scale
	cx := side * (0.5 + cam.X)
	cy := groundPx - scale
	rot := cam.Rot
	switch ctx.Placement {
	case Floating:
		cy += 0.3 * scale
		rot += 0.12 * math.Copysign(1, cam.X+0.01)
	case Swimming:
		cy += 0.5 * scale
	}
	if top := cy - 1.15*scale; top < 0 {
		cy -= top
	}
	t := place(cx, cy, scale, rot, cam.Flip)

	// shadow or puddle
	if ctx.Placement == OnGround || ctx.Placement == OnMirror {
		r.pn.fill(ellipse(cx, groundPx, scale*0.75, scale*0.08), solid(black), 0.25)
	}
	wet := s.Modifier(Material) != nil && s.Modifier(Material).Name == "wet"
	if wet && ctx.Placement == OnGround {
		r.pn.fill(ellipse(cx, groundPx+scale*0.03, scale*0.95, scale*0.12), solid(hex(0x9fc6e0)), 0.55)
	}

	// subject
	r.subj.clear()
	r.pn.dst, r.pn.t = r.subj, t
	f := s.figure(r.pn, t)
	s.Identity.Class.draw(f, s.Identity.Plan)
	if m := s.Modifier(Accessory); m != nil {
		m.draw(f)
	}
	if m := s.Modifier(Material); m != nil {
		material(r.subj, r.pn, f, m.Name, rng)
	}

	if ctx.Placement == OnMirror {
		reflect(r.tmp, r.subj, int(groundPx))
		r.bg.over(r.tmp, 0.4)
	}
	r.bg.over(r.subj, 1)
	switch ctx.Placement {
	case Swimming, Floating:
		water := hex(0x1f78b4)
		if ctx.Name == "pool" {
			water = hex(0x29a8e0)
		} else if ctx.Name == "milk" {
			water = hex(0xf4f1e6)
		}
		r.pn.dst, r.pn.t = r.bg, identityXform()
		wl := cy + 0.35*scale
		if ctx.Placement == Floating {
			wl = cy + 0.75*scale
		}
		r.pn.fill(rect(0, wl, side, side, 0), solid(water), 0.6)
		r.pn.fill(rect(0, wl, side, wl+1.5, 0), solid(white), 0.5)
	}
	if s.Modifier(Style) != nil {
		vanGogh(r.tmp, r.bg, s.Seed)
		r.bg, r.tmp = r.tmp, r.bg
	}
	return r.bg.downscale()
}

// figure prepares the drawing of the subject with its colours after
// modifiers.
func (s *Scene) figure(pn *pen, t xform) *figure {
	id := &s.Identity
	f := &figure{pn: pn, inv: t.inverse(), id: id, sh: id.Shape,
		prim: id.PrimaryRGB(), sec: id.SecondaryRGB(), acc: id.AccentRGB()}
	if m := s.Modifier(Recolour); m != nil {
		c := m.colour.RGB()
		if luma(f.sec) < luma(f.prim) {
			f.prim, f.sec = c, c.scale(0.6)
		} else {
			f.prim, f.sec = c, light(c)
		}
	}
	f.body = id.patternPaint(f.inv, f.prim, f.sec)
	f.cube = s.Modifier(Shape) != nil
	return f
}

func luma(c RGB) float32 { return 0.3*c.R + 0.59*c.G + 0.11*c.B }

// material applies shiny (contrast and specular highlights) or wet (darker,
// droplets) to the subject layer.
func material(l *layer, pn *pen, f *figure, name string, rng *rand.Rand) {
	t := f.a.torso
	switch name {
	case "shiny":
		for i := 0; i < len(l.pix); i += 4 {
			a := l.pix[i+3]
			if a == 0 {
				continue
			}
			for k := 0; k < 3; k++ {
				v := l.pix[i+k] / a
				l.pix[i+k] = clamp01((v-0.5)*1.35+0.55) * a
			}
		}
		w, h := t[2]-t[0], t[3]-t[1]
		pn.fillAtop(ellipse(t[0]+w*0.3, t[1]+h*0.25, w*0.18, h*0.09), solid(white), 0.85)
		pn.fillAtop(ellipse(t[0]+w*0.55, t[1]+h*0.2, w*0.06, h*0.05), solid(white), 0.9)
		pn.fillAtop(ellipse(f.a.face[0]-f.a.face[2]*0.3, f.a.face[1]-f.a.face[2]*0.4, f.a.face[2]*0.25, f.a.face[2]*0.12), solid(white), 0.8)
	case "wet":
		for i := 0; i < len(l.pix); i += 4 {
			l.pix[i] *= 0.62
			l.pix[i+1] *= 0.66
			l.pix[i+2] *= 0.78
		}
		for k := 0; k < 14; k++ {
			x, y := -0.9+rng.Float64()*1.8, -0.9+rng.Float64()*1.8
			pn.fillAtop(ellipse(x, y, 0.05, 0.07), solid(hex(0xdff3ff)), 0.9)
		}
		for k := 0; k < 5; k++ {
			x := -0.6 + rng.Float64()*1.2
			pn.fill(ellipse(x, 1.05+rng.Float64()*0.1, 0.03, 0.05), solid(hex(0xbfe3ff)), 0.9)
		}
	}
}

// reflect writes into dst the subject layer mirrored about row y.
func reflect(dst, src *layer, y int) {
	dst.clear()
	for row := 0; row < side; row++ {
		from := 2*y - row
		if from < 0 || from >= side || row <= y {
			continue
		}
		copy(dst.pix[row*side*4:(row+1)*side*4], src.pix[from*side*4:(from+1)*side*4])
	}
}

// vanGogh repaints src into dst as swirling brush strokes in a blue–yellow
// palette.
func vanGogh(dst, src *layer, seed uint64) {
	ph := float64(seed%97) * 0.13
	deep, gold := hex(0x1d3a8a), hex(0xf2c230)
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			fx, fy := float64(x), float64(y)
			th := 2.2*math.Sin(fx*0.045+ph) + 2.2*math.Cos(fy*0.05-ph) + math.Sin((fx+fy)*0.02)
			cs, sn := math.Cos(th), math.Sin(th)
			sx := clampInt(int(fx+3*cs), 0, side-1)
			sy := clampInt(int(fy+3*sn), 0, side-1)
			c, _ := src.at(sx, sy)
			stroke := float32(0.82 + 0.18*math.Sin(1.1*(-fx*sn+fy*cs)))
			q := func(v float32) float32 { return float32(math.Round(float64(v)*5)) / 5 }
			c = RGB{q(c.R), q(c.G), q(c.B)}.scale(stroke)
			tone := deep
			if luma(c) > 0.5 {
				tone = gold
			}
			c = c.mix(tone, 0.3)
			i := (y*side + x) * 4
			dst.pix[i], dst.pix[i+1], dst.pix[i+2], dst.pix[i+3] = c.R, c.G, c.B, 1
		}
	}
}

func clampInt(v, lo, hi int) int { return max(lo, min(v, hi)) }
