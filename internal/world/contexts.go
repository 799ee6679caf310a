package world

import (
	"math"
	"math/rand/v2"
)

// Placement says how a subject sits in a context.
type Placement int

// The placements.
const (
	OnGround Placement = iota // standing on the ground line, with a shadow
	Floating                  // on a liquid surface, tilted, partly sunk
	Swimming                  // in water up to the middle
	OnMirror                  // on a mirror, with a reflection
)

// Context is a setting: a background, where the ground is, and the phrase
// that names it in a caption ("on the beach").
type Context struct {
	Name      string
	Phrase    string
	Reference bool    // a plain reference-photo setting
	Ground    float64 // ground line, fraction of the height from the top
	Placement Placement
	draw      func(d *scenery)
}

// scenery draws a background in unit coordinates ([0, 1]², y down).
type scenery struct {
	pn     *pen
	rng    *rand.Rand
	ground float64
}

func (d *scenery) fill(p *path, c RGB)             { d.pn.fill(p, solid(c), 1) }
func (d *scenery) fillA(p *path, c RGB, a float32) { d.pn.fill(p, solid(c), a) }
func (d *scenery) fillP(p *path, pt paint)         { d.pn.fill(p, pt, 1) }
func (d *scenery) r(lo, hi float64) float64        { return lo + d.rng.Float64()*(hi-lo) }

// sky paints a vertical gradient above y1 and a ground colour below.
func (d *scenery) sky(top, horizon RGB, y1 float64) {
	d.fillP(rect(0, 0, 1, y1, 0), vgradient(top, horizon, 0, float32(y1*side)))
}

func (d *scenery) groundFill(c1, c2 RGB) {
	g := d.ground - 0.12
	d.fillP(rect(0, g, 1, 1, 0), vgradient(c1, c2, float32(g*side), side))
}

var (
	skyBlue  = hex(0x7fb8ea)
	skyPale  = hex(0xd8ecf8)
	grass    = hex(0x5aa03c)
	grassDk  = hex(0x3b7a2a)
	sand     = hex(0xe8d39a)
	wallGrey = hex(0xd9d4cc)
)

// Contexts are every setting of the DreamBench and RPO prompts, then the
// plain reference settings.
var Contexts = []*Context{
	{Name: "jungle", Phrase: "in the jungle", Ground: 0.85, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 1, 0), hex(0x1f4d22))
		for i := 0; i < 14; i++ {
			x, y := d.r(0, 1), d.r(0, 0.75)
			d.fill(ellipse(x, y, d.r(0.08, 0.16), d.r(0.03, 0.06)), []RGB{hex(0x2e7d32), hex(0x43a047), hex(0x1b5e20)}[i%3])
		}
		for i := 0; i < 4; i++ {
			x := d.r(0, 1)
			d.fill(thickLine(x, 0, x+d.r(-0.05, 0.05), 0.6, 0.015), hex(0x6d4c2f))
		}
		d.groundFill(hex(0x33691e), hex(0x254d16))
		for i := 0; i < 6; i++ {
			x := d.r(0, 1)
			d.fill(poly(x, 1, x+0.04, 0.8, x+0.08, 1), hex(0x66bb6a))
		}
	}},
	{Name: "snow", Phrase: "in the snow", Ground: 0.8, draw: func(d *scenery) {
		d.sky(hex(0xaab7c4), hex(0xe3e9ef), 0.7)
		d.fill(poly(0, 0.7, 0.3, 0.5, 0.55, 0.7), hex(0xf0f4f8))
		d.fill(poly(0.4, 0.7, 0.75, 0.45, 1, 0.7), hex(0xe6ecf2))
		d.groundFill(hex(0xf7f9fb), hex(0xdfe6ee))
		for i := 0; i < 40; i++ {
			d.fill(ellipse(d.r(0, 1), d.r(0, 1), 0.008, 0.008), white)
		}
	}},
	{Name: "beach", Phrase: "on the beach", Ground: 0.85, draw: func(d *scenery) {
		d.sky(skyBlue, skyPale, 0.5)
		d.fill(ellipse(0.85, 0.12, 0.06, 0.06), hex(0xfff3b0))
		d.fillP(rect(0, 0.45, 1, 0.62, 0), vgradient(hex(0x1e6fb0), hex(0x4fa3d8), 0.45*side, 0.62*side))
		d.fill(rect(0, 0.6, 1, 0.64, 0), hex(0xf4f1e6))
		d.fillP(rect(0, 0.63, 1, 1, 0), vgradient(sand, hex(0xd9bf7a), 0.63*side, side))
	}},
	{Name: "cobblestone", Phrase: "on a cobblestone street", Ground: 0.85, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 0.55, 0), hex(0xa1887f))
		for y := 0.05; y < 0.5; y += 0.12 {
			for x := 0.05; x < 1; x += 0.3 {
				d.fill(rect(x, y, x+0.14, y+0.08, 0.01), hex(0x5d4037))
			}
		}
		d.fill(rect(0, 0.55, 1, 1, 0), hex(0x6e6e6e))
		for row := 0; row < 8; row++ {
			y := 0.57 + float64(row)*0.06
			off := float64(row%2) * 0.04
			for x := -0.04 + off; x < 1; x += 0.08 {
				d.fill(ellipse(x, y, 0.035, 0.024), []RGB{hex(0x9e9e9e), hex(0x8a8a8a), hex(0xa8a29a)}[(row+int(x*20))%3])
			}
		}
	}},
	{Name: "pink_fabric", Phrase: "on top of pink fabric", Ground: 0.8, draw: func(d *scenery) {
		d.fillP(rect(0, 0, 1, 1, 0), vgradient(hex(0xf8bbd0), hex(0xf48fb1), 0, side))
		for i := 0; i < 6; i++ {
			y := d.r(0.1, 1)
			d.fillA(thickLine(0, y, 1, y+d.r(-0.2, 0.2), 0.03), hex(0xe56b9a), 0.5)
			d.fillA(thickLine(0, y+0.025, 1, y+0.025+d.r(-0.1, 0.1), 0.015), hex(0xfde4ee), 0.6)
		}
	}},
	{Name: "wooden_floor", Phrase: "on top of a wooden floor", Ground: 0.85, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 0.5, 0), hex(0xefe6d8))
		d.fill(rect(0, 0.45, 1, 0.5, 0), hex(0xffffff))
		for i := 0; i < 7; i++ {
			y0 := 0.5 + float64(i)*0.075
			d.fill(rect(0, y0, 1, y0+0.075, 0), []RGB{hex(0xa0673a), hex(0xb57a47), hex(0x8f5a30)}[i%3])
			d.fill(rect(0, y0, 1, y0+0.006, 0), hex(0x5c3a1e))
			x := d.r(0, 1)
			d.fill(rect(x, y0, x+0.006, y0+0.075, 0), hex(0x5c3a1e))
		}
	}},
	{Name: "city", Phrase: "with a city in the background", Ground: 0.85, draw: func(d *scenery) {
		d.sky(hex(0x90b4d8), hex(0xdde8f0), 0.75)
		x := 0.0
		for x < 1 {
			w, h := d.r(0.08, 0.16), d.r(0.25, 0.6)
			c := []RGB{hex(0x607d8b), hex(0x78909c), hex(0x546e7a), hex(0x8d99a6)}[d.rng.IntN(4)]
			d.fill(rect(x, 0.75-h, x+w, 0.75, 0), c)
			for wy := 0.75 - h + 0.03; wy < 0.72; wy += 0.06 {
				for wx := x + 0.02; wx < x+w-0.02; wx += 0.04 {
					d.fill(rect(wx, wy, wx+0.02, wy+0.03, 0), hex(0xffe9a8))
				}
			}
			x += w + 0.01
		}
		d.groundFill(hex(0x8a8a8a), hex(0x6a6a6a))
	}},
	{Name: "mountain", Phrase: "with a mountain in the background", Ground: 0.85, draw: func(d *scenery) {
		d.sky(skyBlue, skyPale, 0.7)
		p := d.r(0.35, 0.65)
		d.fill(poly(p-0.55, 0.75, p, 0.12, p+0.55, 0.75), hex(0x6d6875))
		d.fill(poly(p-0.14, 0.29, p, 0.12, p+0.14, 0.29, p+0.05, 0.25, p-0.03, 0.3), white)
		d.fill(poly(-0.1, 0.75, 0.2, 0.4, 0.45, 0.75), hex(0x857e8c))
		d.groundFill(grass, grassDk)
	}},
	{Name: "blue_house", Phrase: "with a blue house in the background", Ground: 0.85, draw: func(d *scenery) {
		d.sky(skyBlue, skyPale, 0.75)
		x := d.r(0.15, 0.3)
		d.fill(rect(x, 0.3, x+0.6, 0.75, 0), hex(0x3f6fc4))
		d.fill(poly(x-0.05, 0.32, x+0.3, 0.08, x+0.65, 0.32), hex(0x6d3b2a))
		d.fill(rect(x+0.25, 0.52, x+0.36, 0.75, 0), hex(0xf2f2f2))
		d.fill(rect(x+0.06, 0.4, x+0.18, 0.5, 0), hex(0xd6ecff))
		d.fill(rect(x+0.43, 0.4, x+0.55, 0.5, 0), hex(0xd6ecff))
		d.groundFill(grass, grassDk)
	}},
	{Name: "purple_rug_forest", Phrase: "on top of a purple rug in a forest", Ground: 0.85, draw: func(d *scenery) {
		d.sky(hex(0x9cc9a0), hex(0xcfe3c8), 0.6)
		for i := 0; i < 7; i++ {
			x := d.r(0, 1)
			d.fill(rect(x-0.015, 0.35, x+0.015, 0.65, 0), hex(0x5d4037))
			d.fill(poly(x-0.1, 0.45, x, 0.05+d.r(0, 0.15), x+0.1, 0.45), []RGB{hex(0x2e7d32), hex(0x1b5e20)}[i%2])
		}
		d.groundFill(hex(0x4e7d3a), hex(0x3a5f2b))
		d.fill(ellipse(0.5, 0.86, 0.45, 0.12), hex(0x7b3fa6))
		d.fill(ellipse(0.5, 0.86, 0.4, 0.095), hex(0x9156bf))
	}},
	{Name: "wheat_field", Phrase: "with a wheat field in the background", Ground: 0.85, draw: func(d *scenery) {
		d.sky(skyBlue, skyPale, 0.5)
		d.fillP(rect(0, 0.45, 1, 1, 0), vgradient(hex(0xe6c25a), hex(0xc99a2e), 0.45*side, side))
		for i := 0; i < 60; i++ {
			x, y := d.r(0, 1), d.r(0.45, 1)
			d.fill(thickLine(x, y, x+0.01, y-0.06, 0.008), hex(0xf5dc8a))
		}
	}},
	{Name: "autumn_tree", Phrase: "with a tree and autumn leaves in the background", Ground: 0.85, draw: func(d *scenery) {
		d.sky(hex(0xa8c8e0), hex(0xe8e0d0), 0.7)
		x := d.r(0.3, 0.7)
		d.fill(rect(x-0.04, 0.25, x+0.04, 0.75, 0), hex(0x5d4037))
		for i := 0; i < 9; i++ {
			d.fill(ellipse(x+d.r(-0.3, 0.3), d.r(0.08, 0.35), d.r(0.1, 0.16), d.r(0.08, 0.12)), []RGB{hex(0xe65100), hex(0xf9a825), hex(0xc62828)}[i%3])
		}
		d.groundFill(hex(0x8d6e3f), hex(0x6d5230))
		for i := 0; i < 25; i++ {
			d.fill(ellipse(d.r(0, 1), d.r(0.75, 1), 0.015, 0.008), []RGB{hex(0xe65100), hex(0xf9a825), hex(0xc62828)}[i%3])
		}
	}},
	{Name: "eiffel", Phrase: "with the Eiffel Tower in the background", Ground: 0.85, draw: func(d *scenery) {
		d.sky(skyBlue, skyPale, 0.75)
		x := d.r(0.3, 0.7)
		c := hex(0x5d4a3a)
		d.fill(poly(x-0.2, 0.75, x-0.015, 0.05, x+0.015, 0.05, x+0.2, 0.75, x+0.12, 0.75, x, 0.5, x-0.12, 0.75), c)
		d.fill(rect(x-0.11, 0.42, x+0.11, 0.45, 0), c)
		d.fill(rect(x-0.07, 0.25, x+0.07, 0.27, 0), c)
		d.fill(thickLine(x, 0.05, x, 0.0, 0.01), c)
		d.groundFill(grass, grassDk)
	}},
	{Name: "water", Phrase: "floating on top of water", Ground: 0.75, Placement: Floating, draw: func(d *scenery) {
		d.sky(skyBlue, skyPale, 0.45)
		d.fillP(rect(0, 0.45, 1, 1, 0), vgradient(hex(0x2b7bb9), hex(0x14527f), 0.45*side, side))
		for i := 0; i < 14; i++ {
			x, y := d.r(0, 1), d.r(0.5, 1)
			d.fillA(thickLine(x, y, x+0.1, y, 0.01), hex(0xa9d6f5), 0.7)
		}
	}},
	{Name: "milk", Phrase: "floating in an ocean of milk", Ground: 0.75, Placement: Floating, draw: func(d *scenery) {
		d.sky(hex(0xc9dcec), hex(0xf3f3ee), 0.42)
		d.fillP(rect(0, 0.42, 1, 1, 0), vgradient(hex(0xfbfaf3), hex(0xe8e4d6), 0.42*side, side))
		for i := 0; i < 12; i++ {
			x, y := d.r(0, 1), d.r(0.48, 1)
			d.fillA(ellipse(x, y, 0.08, 0.012), hex(0xd7d1bf), 0.6)
		}
	}},
	{Name: "sunflowers", Phrase: "on top of green grass with sunflowers around it", Ground: 0.85, draw: func(d *scenery) {
		d.sky(skyBlue, skyPale, 0.55)
		d.fillP(rect(0, 0.5, 1, 1, 0), vgradient(grass, grassDk, 0.5*side, side))
		for i := 0; i < 7; i++ {
			x := d.r(0, 1)
			if x > 0.3 && x < 0.7 {
				x = math.Mod(x+0.4, 1)
			}
			y := d.r(0.35, 0.75)
			d.fill(thickLine(x, y, x, y+0.3, 0.015), grassDk)
			d.fill(ellipse(x, y, 0.07, 0.07), hex(0xfbc02d))
			d.fill(ellipse(x, y, 0.03, 0.03), hex(0x5d4037))
		}
	}},
	{Name: "mirror", Phrase: "on top of a mirror", Ground: 0.72, Placement: OnMirror, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 1, 0), hex(0xdedad2))
		d.fillP(rect(0, 0.72, 1, 1, 0), vgradient(hex(0xcfd8dc), hex(0x9fb0b8), 0.72*side, side))
		d.fill(rect(0, 0.715, 1, 0.73, 0), hex(0x9e9e9e))
		d.fillA(thickLine(0.1, 0.95, 0.3, 0.76, 0.03), white, 0.5)
	}},
	{Name: "sidewalk", Phrase: "on top of the sidewalk in a crowded street", Ground: 0.88, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 0.6, 0), hex(0xb0a89e))
		for i := 0; i < 7; i++ {
			x := d.r(-0.05, 1)
			c := []RGB{hex(0x37474f), hex(0xad1457), hex(0x1565c0), hex(0x6d4c41), hex(0x2e7d32)}[d.rng.IntN(5)]
			h := d.r(0.35, 0.5)
			d.fill(rect(x, 0.7-h+0.08, x+0.09, 0.7, 0.03), c)
			d.fill(ellipse(x+0.045, 0.7-h+0.03, 0.035, 0.04), hex(0xd7a98c))
		}
		d.fill(rect(0, 0.7, 1, 1, 0), hex(0xbdbdbd))
		for x := 0.0; x < 1; x += 0.25 {
			d.fill(thickLine(x, 0.7, x-0.1, 1, 0.008), hex(0x9e9e9e))
		}
	}},
	{Name: "dirt_road", Phrase: "on top of a dirt road", Ground: 0.85, draw: func(d *scenery) {
		d.sky(skyBlue, skyPale, 0.5)
		d.fillP(rect(0, 0.48, 1, 1, 0), vgradient(grass, grassDk, 0.48*side, side))
		d.fill(poly(0.45, 0.48, 0.55, 0.48, 1.0, 1, 0, 1), hex(0x9c7a54))
		for i := 0; i < 20; i++ {
			d.fill(ellipse(d.r(0.2, 0.8), d.r(0.6, 1), 0.01, 0.006), hex(0x6f5437))
		}
	}},
	{Name: "white_rug", Phrase: "on top of a white rug", Ground: 0.85, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 0.55, 0), hex(0xc8b8a6))
		d.fill(rect(0, 0.55, 1, 1, 0), hex(0x8d6e63))
		d.fill(ellipse(0.5, 0.85, 0.55, 0.2), hex(0xf5f5f0))
		for i := 0; i < 30; i++ {
			x, y := d.r(0.1, 0.9), d.r(0.72, 0.98)
			d.fill(thickLine(x, y, x+0.01, y-0.03, 0.008), hex(0xe0ddd4))
		}
	}},
	{Name: "moon", Phrase: "on the Moon", Ground: 0.82, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 1, 0), hex(0x05070d))
		for i := 0; i < 30; i++ {
			d.fill(ellipse(d.r(0, 1), d.r(0, 0.6), 0.005, 0.005), white)
		}
		d.fill(ellipse(0.8, 0.18, 0.08, 0.08), hex(0x3d7dd8))
		d.fill(ellipse(0.78, 0.16, 0.03, 0.02), hex(0x4caf50))
		d.fillP(rect(0, 0.62, 1, 1, 0), vgradient(hex(0xbdbdbd), hex(0x8a8a8a), 0.62*side, side))
		for i := 0; i < 7; i++ {
			x, y, r := d.r(0, 1), d.r(0.68, 1), d.r(0.03, 0.07)
			d.fill(ellipse(x, y, r, r*0.35), hex(0x757575))
		}
	}},
	{Name: "great_wall", Phrase: "with a China Great Wall in the background", Ground: 0.85, draw: func(d *scenery) {
		d.sky(skyBlue, skyPale, 0.65)
		d.fill(poly(0, 0.7, 0.25, 0.35, 0.5, 0.55, 0.8, 0.3, 1, 0.5, 1, 0.75, 0, 0.75), hex(0x5b8a3c))
		wall := hex(0xa1866a)
		prev := [2]float64{0, 0.6}
		for i := 1; i <= 10; i++ {
			x := float64(i) / 10
			y := 0.55 - 0.15*math.Sin(x*5)
			d.fill(thickLine(prev[0], prev[1], x, y, 0.06), wall)
			d.fill(rect(x-0.02, y-0.06, x+0.01, y-0.02, 0), wall)
			prev = [2]float64{x, y}
		}
		d.fill(rect(0.58, 0.32, 0.68, 0.42, 0), dark(wall))
		d.groundFill(grass, grassDk)
	}},
	{Name: "wooden_roof", Phrase: "on top of wooden roof", Ground: 0.85, draw: func(d *scenery) {
		d.sky(skyBlue, skyPale, 0.5)
		d.fill(poly(0, 0.5, 1, 0.45, 1, 1, 0, 1), hex(0x8d5a2b))
		for row := 0; row < 6; row++ {
			y := 0.5 + float64(row)*0.09
			for x := float64(row%2) * 0.05; x < 1; x += 0.1 {
				d.fill(rect(x, y, x+0.095, y+0.085, 0.01), []RGB{hex(0xa66a35), hex(0x93592a), hex(0xb5773f)}[(row+int(x*10))%3])
			}
		}
	}},
	{Name: "liberty", Phrase: "with the Statue of Liberty in the background", Ground: 0.85, draw: func(d *scenery) {
		d.sky(skyBlue, skyPale, 0.75)
		x := d.r(0.25, 0.75)
		g := hex(0x5e9e8a)
		d.fill(rect(x-0.1, 0.6, x+0.1, 0.75, 0), hex(0x9e8e7e))
		d.fill(poly(x-0.07, 0.6, x-0.04, 0.25, x+0.04, 0.25, x+0.07, 0.6), g)
		d.fill(ellipse(x, 0.21, 0.035, 0.04), g)
		d.fill(thickLine(x+0.03, 0.3, x+0.09, 0.1, 0.025), g)
		d.fill(ellipse(x+0.09, 0.08, 0.02, 0.03), hex(0xffb300))
		for i := 0; i < 5; i++ {
			a := -math.Pi/2 + float64(i-2)*0.45
			d.fill(thickLine(x, 0.2, x+0.06*math.Cos(a), 0.2+0.06*math.Sin(a), 0.01), g)
		}
		d.groundFill(hex(0x3b77a8), hex(0x2a5a84))
	}},
	{Name: "volcano", Phrase: "with a volcano in the background", Ground: 0.85, draw: func(d *scenery) {
		d.sky(hex(0x8a8f99), hex(0xe0b49a), 0.7)
		x := d.r(0.35, 0.65)
		d.fill(ellipse(x+0.05, 0.12, 0.16, 0.08), hex(0x777777))
		d.fill(ellipse(x-0.05, 0.06, 0.12, 0.06), hex(0x8e8e8e))
		d.fill(poly(x-0.5, 0.75, x-0.08, 0.2, x+0.08, 0.2, x+0.5, 0.75), hex(0x5d4037))
		d.fill(poly(x-0.08, 0.2, x+0.08, 0.2, x+0.05, 0.3, x+0.01, 0.45, x-0.03, 0.3), hex(0xff5722))
		d.groundFill(hex(0x6d5d4b), hex(0x4e4236))
	}},
	{Name: "subway", Phrase: "on a subway platform", Ground: 0.8, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 0.6, 0), hex(0xe8e4d8))
		for y := 0.0; y < 0.6; y += 0.06 {
			d.fill(rect(0, y, 1, y+0.004, 0), hex(0xbdb7a8))
		}
		d.fill(rect(0, 0.2, 1, 0.3, 0), hex(0x2e7d32))
		d.fill(rect(0, 0.6, 1, 1, 0), hex(0x9e9e9e))
		d.fill(rect(0, 0.9, 1, 0.94, 0), hex(0xfdd835))
		d.fill(rect(0, 0.94, 1, 1, 0), hex(0x212121))
	}},
	{Name: "pool", Phrase: "is swimming in a pool", Ground: 0.88, Placement: Swimming, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 0.3, 0), hex(0xe0e0e0))
		d.fillP(rect(0, 0.3, 1, 1, 0), vgradient(hex(0x4fc3f7), hex(0x0288d1), 0.3*side, side))
		for x := 0.0; x < 1; x += 0.125 {
			d.fillA(thickLine(x, 0.3, x, 1, 0.006), hex(0xb3e5fc), 0.6)
		}
	}},
	// plain reference settings
	{Name: "floor", Phrase: "on the floor", Reference: true, Ground: 0.85, draw: plainRoom(hex(0xece6dc), hex(0xcfc3b0))},
	{Name: "table", Phrase: "on a table", Reference: true, Ground: 0.82, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 1, 0), hex(0xe9e2d6))
		d.fill(rect(0, 0.6, 1, 1, 0), hex(0xa87444))
		d.fill(rect(0, 0.6, 1, 0.63, 0), hex(0xc08a58))
	}},
	{Name: "sofa", Phrase: "on a sofa", Reference: true, Ground: 0.82, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 1, 0), hex(0xe5dfd3))
		d.fill(rect(-0.05, 0.15, 1.05, 0.7, 0.08), hex(0x5c6b8a))
		d.fill(rect(-0.05, 0.6, 1.05, 1, 0.05), hex(0x6d7da0))
	}},
	{Name: "plain_wall", Phrase: "in front of a plain wall", Reference: true, Ground: 0.85, draw: plainRoom(wallGrey, hex(0xb9b2a6))},
	{Name: "grass", Phrase: "on the grass", Reference: true, Ground: 0.85, draw: func(d *scenery) {
		d.fillP(rect(0, 0, 1, 1, 0), vgradient(hex(0x6fb54e), hex(0x3f8a2c), 0, side))
		for i := 0; i < 40; i++ {
			x, y := d.r(0, 1), d.r(0, 1)
			d.fill(thickLine(x, y, x+0.005, y-0.03, 0.006), hex(0x9ccc65))
		}
	}},
	{Name: "carpet", Phrase: "on a carpet", Reference: true, Ground: 0.85, draw: plainRoom(hex(0xe0d8cc), hex(0x8e5c4a))},
	{Name: "counter", Phrase: "on a kitchen counter", Reference: true, Ground: 0.8, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 1, 0), hex(0xf2f2f0))
		for x := 0.0; x < 1; x += 0.1 {
			d.fill(rect(x, 0, x+0.003, 0.6, 0), hex(0xd0d0cc))
		}
		d.fill(rect(0, 0.6, 1, 1, 0), hex(0x7d8288))
	}},
	{Name: "bed", Phrase: "on a bed", Reference: true, Ground: 0.85, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 1, 0), hex(0xd7ccc8))
		d.fill(rect(0, 0.45, 1, 1, 0.05), hex(0xf0f0ff))
		d.fill(rect(0, 0.45, 1, 0.5, 0), hex(0xc5cae9))
	}},
	{Name: "shelf", Phrase: "on a shelf", Reference: true, Ground: 0.8, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 1, 0), hex(0xf3ede2))
		d.fill(rect(0, 0.8, 1, 0.88, 0), hex(0x8d6e63))
		d.fill(rect(0, 0.88, 1, 1, 0), hex(0xe8e0d4))
	}},
	{Name: "desk", Phrase: "on a desk", Reference: true, Ground: 0.82, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 1, 0), hex(0xdfe6ea))
		d.fill(rect(0, 0.62, 1, 1, 0), hex(0xf5f5f5))
		d.fill(rect(0, 0.62, 1, 0.64, 0), hex(0xbdbdbd))
	}},
	{Name: "windowsill", Phrase: "on a windowsill", Reference: true, Ground: 0.8, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 1, 0), hex(0xf5f5f5))
		d.fillP(rect(0.1, 0.05, 0.9, 0.7, 0), vgradient(skyBlue, skyPale, 0.05*side, 0.7*side))
		d.fill(rect(0.49, 0.05, 0.51, 0.7, 0), white)
		d.fill(rect(0, 0.7, 1, 1, 0), hex(0xe6e1d8))
	}},
	{Name: "garden_path", Phrase: "on a garden path", Reference: true, Ground: 0.85, draw: func(d *scenery) {
		d.fill(rect(0, 0, 1, 0.5, 0), hex(0x6a9f4b))
		d.fill(rect(0, 0.5, 1, 1, 0), hex(0xcbb89d))
		for i := 0; i < 12; i++ {
			d.fill(ellipse(d.r(0, 1), d.r(0.55, 1), 0.05, 0.025), hex(0xb5a184))
		}
	}},
}

func plainRoom(wall, floor RGB) func(d *scenery) {
	return func(d *scenery) {
		d.fill(rect(0, 0, 1, 1, 0), wall)
		d.fillP(rect(0, d.ground-0.15, 1, 1, 0), vgradient(floor, dark(floor), float32((d.ground-0.15)*side), side))
	}
}

// ContextByName returns the context with the given name, or nil.
func ContextByName(name string) *Context {
	for _, c := range Contexts {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ReferenceContexts are the plain reference-photo settings.
func ReferenceContexts() []*Context {
	var out []*Context
	for _, c := range Contexts {
		if c.Reference {
			out = append(out, c)
		}
	}
	return out
}
