package world

import "math"

// Class is one DreamBench class: its noun, whether it is a live subject,
// its body plans, the colours and patterns its identities draw from, and
// how to draw it.
type Class struct {
	Name     string
	Live     bool // dog and cat: the live-subject prompts apply
	Plans    []string
	Colours  []Colour
	Patterns []Pattern
	draw     func(f *figure, plan int)
}

var (
	allColours  = []Colour{Black, White, Grey, Brown, Tan, Golden, Orange, Red, Pink, Purple, Blue, Green}
	coatColours = []Colour{Black, White, Grey, Brown, Tan, Golden, Orange}
	allPatterns = []Pattern{Plain, Stripes, Dots, Patches, Checks}
	coatPattern = []Pattern{Plain, Patches, Dots, Stripes}
)

// Classes are the 15 DreamBench classes, in a fixed order.
var Classes = []*Class{
	{Name: "backpack", Plans: []string{"classic", "rounded", "dog face"}, Colours: allColours, Patterns: allPatterns, draw: drawBackpack},
	{Name: "stuffed animal", Plans: []string{"bear", "sloth", "wolf"}, Colours: allColours, Patterns: []Pattern{Plain, Patches, Dots}, draw: drawPlush},
	{Name: "bowl", Plans: []string{"round", "wide", "berries"}, Colours: allColours, Patterns: allPatterns, draw: drawBowl},
	{Name: "can", Plans: []string{"tall", "short"}, Colours: allColours, Patterns: allPatterns, draw: drawCan},
	{Name: "candle", Plans: []string{"pillar", "jar"}, Colours: allColours, Patterns: []Pattern{Plain, Stripes, Dots}, draw: drawCandle},
	{Name: "cat", Live: true, Plans: []string{"sitting", "fluffy", "slim"}, Colours: coatColours, Patterns: coatPattern, draw: drawCat},
	{Name: "clock", Plans: []string{"wall", "alarm"}, Colours: allColours, Patterns: allPatterns, draw: drawClock},
	{Name: "sneaker", Plans: []string{"low", "high top"}, Colours: allColours, Patterns: allPatterns, draw: drawSneaker},
	{Name: "dog", Live: true, Plans: []string{"floppy ears", "pointy ears", "fluffy"}, Colours: coatColours, Patterns: coatPattern, draw: drawDog},
	{Name: "toy", Plans: []string{"duck", "monster", "poop emoji", "rc car", "robot"}, Colours: allColours, Patterns: allPatterns, draw: drawToy},
	{Name: "boot", Plans: []string{"ankle", "tall", "fancy"}, Colours: allColours, Patterns: allPatterns, draw: drawBoot},
	{Name: "glasses", Plans: []string{"round", "square", "cat eye"}, Colours: allColours, Patterns: []Pattern{Plain, Stripes, Dots}, draw: drawGlasses},
	{Name: "cartoon", Plans: []string{"horned", "eared", "antenna"}, Colours: allColours, Patterns: []Pattern{Plain, Dots, Stripes}, draw: drawCartoon},
	{Name: "teapot", Plans: []string{"round", "tall"}, Colours: allColours, Patterns: allPatterns, draw: drawTeapot},
	{Name: "vase", Plans: []string{"round", "slim", "amphora"}, Colours: allColours, Patterns: allPatterns, draw: drawVase},
}

// ClassByName returns the class with the given noun, or nil.
func ClassByName(name string) *Class {
	for _, c := range Classes {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// PlanIndex returns the index of a body plan by name, or -1.
func (c *Class) PlanIndex(name string) int {
	for i, p := range c.Plans {
		if p == name {
			return i
		}
	}
	return -1
}

func drawDog(f *figure, plan int) {
	s := f.sh
	bl := 0.5 * s[0]
	legTop, legW := 0.35, 0.13
	// tail
	tail := thickLine(-bl-0.05, 0.1, -bl-0.3, -0.25*s[3], 0.1)
	if plan == 2 {
		tail = ellipse(-bl-0.15, -0.05, 0.16, 0.22*s[3])
	}
	f.fill(tail, f.prim)
	// far legs, darker
	for _, x := range []float64{-bl + 0.2, 0.3 * s[0]} {
		f.fill(rect(x-legW/2+0.06, legTop, x+legW/2+0.06, 1, 0.05), dark(f.prim))
	}
	// body
	by0, by1 := 0.0, 0.55
	if plan == 2 {
		by0, by1 = -0.08, 0.62
	}
	f.main(ellipse(-0.08, (by0+by1)/2, bl+0.05, (by1-by0)/2), -bl, by0, bl, by1)
	// near legs
	for _, x := range []float64{-bl + 0.1, 0.2 * s[0]} {
		f.fillP(rect(x-legW/2, legTop, x+legW/2, 1, 0.05), f.body)
		f.fill(ellipse(x+0.02, 0.97, legW*0.6, 0.04), dark(f.prim))
	}
	// head
	hr := 0.27 * s[2]
	hx, hy := bl-0.02, -0.22
	// ears behind/around head
	switch plan {
	case 1: // pointy
		f.fill(poly(hx-hr*0.7, hy-hr*0.5, hx-hr*0.35, hy-hr*1.7, hx+hr*0.05, hy-hr*0.7), dark(f.sec))
	default: // floppy or fluffy
		f.fill(ellipse(hx-hr*0.65, hy+hr*0.35, hr*0.38, hr*0.85*s[3]), dark(f.sec))
	}
	f.fillP(ellipse(hx, hy, hr, hr), f.body)
	f.fill(ellipse(hx+hr*0.85, hy+hr*0.35, hr*0.62, hr*0.42), light(f.prim)) // snout
	f.fill(ellipse(hx+hr*1.38, hy+hr*0.2, hr*0.17, hr*0.14), black)          // nose
	f.eye(hx+hr*0.35, hy-hr*0.2, hr*0.13)
	f.fill(thickLine(hx-hr*0.5, hy+hr*0.95, hx+hr*0.3, hy+hr*1.05, 0.06), f.acc) // collar
	f.a = anchors{
		top:   [3]float64{hx, hy - hr*0.9, hr * 1.5},
		face:  [3]float64{hx + hr*0.35, hy - hr*0.2, hr * 0.55},
		neck:  [3]float64{hx - hr*0.1, hy + hr*1.0, hr * 0.7},
		torso: [4]float64{-bl * 0.8, by0 + 0.02, bl * 0.8, by1},
		eyeY:  hy - hr*0.2,
	}
}

func drawCat(f *figure, plan int) {
	s := f.sh
	bw := 0.36 * s[0]
	if plan == 1 {
		bw *= 1.2
	} else if plan == 2 {
		bw *= 0.85
	}
	// tail curling on the ground
	f.fill(thickLine(bw*0.6, 0.9, bw+0.35, 0.75, 0.11), dark(f.prim))
	f.fill(thickLine(bw+0.35, 0.75, bw+0.42, 0.35*s[3], 0.1), dark(f.prim))
	f.main(ellipse(0, 0.45, bw, 0.52), -bw, -0.05, bw, 0.97)
	f.fill(ellipse(-bw*0.45, 0.93, bw*0.35, 0.08), light(f.prim)) // paws
	f.fill(ellipse(bw*0.45, 0.93, bw*0.35, 0.08), light(f.prim))
	hr := 0.3 * s[2]
	hx, hy := 0.0, -0.3
	er := hr * 0.75 * s[3]
	f.fill(poly(hx-hr*0.95, hy-hr*0.25, hx-hr*0.7, hy-hr-er, hx-hr*0.15, hy-hr*0.75), f.prim)
	f.fill(poly(hx+hr*0.95, hy-hr*0.25, hx+hr*0.7, hy-hr-er, hx+hr*0.15, hy-hr*0.75), f.prim)
	f.fill(poly(hx-hr*0.8, hy-hr*0.45, hx-hr*0.68, hy-hr-er*0.6, hx-hr*0.35, hy-hr*0.75), pink)
	f.fill(poly(hx+hr*0.8, hy-hr*0.45, hx+hr*0.68, hy-hr-er*0.6, hx+hr*0.35, hy-hr*0.75), pink)
	f.fillP(ellipse(hx, hy, hr*1.05, hr*0.92), f.body)
	for _, sx := range []float64{-1, 1} {
		ex := hx + sx*hr*0.4
		f.fill(ellipse(ex, hy-hr*0.1, hr*0.2, hr*0.22), catEye)
		f.fill(ellipse(ex, hy-hr*0.1, hr*0.07, hr*0.2), eyeDark)
	}
	f.fill(poly(hx-hr*0.1, hy+hr*0.2, hx+hr*0.1, hy+hr*0.2, hx, hy+hr*0.33), pink)
	for _, sx := range []float64{-1, 1} {
		f.fill(thickLine(hx+sx*hr*0.2, hy+hr*0.35, hx+sx*hr*1.2, hy+hr*0.25, 0.02), light(f.acc))
	}
	f.a = anchors{
		top:   [3]float64{hx, hy - hr*0.85, hr * 1.6},
		face:  [3]float64{hx, hy - hr*0.1, hr * 0.7},
		neck:  [3]float64{hx, hy + hr*1.0, hr * 0.8},
		torso: [4]float64{-bw * 0.9, 0.05, bw * 0.9, 0.95},
		eyeY:  hy - hr*0.1,
	}
}

var (
	pink   = hex(0xf2a0b0)
	catEye = hex(0x9acd32)
)

func drawBackpack(f *figure, plan int) {
	s := f.sh
	w := 0.55 * s[0]
	top := -0.62 * s[1]
	f.fill(ring(0, top+0.02, 0.22, 0.2, 0.06), dark(f.acc)) // handle
	f.fill(rect(-w-0.06, top+0.25, -w+0.04, 0.85, 0.04), dark(f.prim))
	f.fill(rect(w-0.04, top+0.25, w+0.06, 0.85, 0.04), dark(f.prim))
	r := 0.25
	if plan == 1 {
		r = 0.5
	}
	f.main(rect(-w, top, w, 1, r), -w, top, w, 1)
	if f.cube {
		return
	}
	pw := w * 0.72 * s[2]
	f.fill(rect(-pw, 0.28, pw, 0.9, 0.12), f.sec) // pocket
	f.fill(rect(-pw, 0.34, pw, 0.38, 0), f.acc)   // zipper
	f.fill(rect(-w*0.85, top+0.3, w*0.85, top+0.34, 0), dark(f.acc))
	if plan == 2 { // dog face on the flap
		f.fill(ellipse(-w*0.78, top+0.3, 0.14, 0.28), dark(f.sec))
		f.fill(ellipse(w*0.78, top+0.3, 0.14, 0.28), dark(f.sec))
		f.eye(-0.17, top+0.45, 0.06)
		f.eye(0.17, top+0.45, 0.06)
		f.fill(ellipse(0, 0.12, 0.09, 0.07), black)
	}
	f.a = anchors{
		top:   [3]float64{0, top, w * 1.3},
		face:  [3]float64{0, top + 0.45, 0.3},
		neck:  [3]float64{0, top + 0.3, w * 0.9},
		torso: [4]float64{-w, top + 0.35, w, 1},
		eyeY:  top + 0.45,
	}
}

func drawPlush(f *figure, plan int) {
	s := f.sh
	bw := 0.42 * s[0]
	f.fill(ellipse(-bw*0.95, 0.4, 0.14, 0.26), dark(f.prim)) // arms
	f.fill(ellipse(bw*0.95, 0.4, 0.14, 0.26), dark(f.prim))
	f.main(ellipse(0, 0.5, bw, 0.45), -bw, 0.1, bw, 0.95)
	f.fill(ellipse(-bw*0.6, 0.9, 0.17, 0.1), light(f.prim))
	f.fill(ellipse(bw*0.6, 0.9, 0.17, 0.1), light(f.prim))
	hr := 0.38 * s[2]
	hx, hy := 0.0, -0.3
	switch plan {
	case 0: // bear: round ears
		for _, sx := range []float64{-1, 1} {
			f.fill(ellipse(hx+sx*hr*0.75, hy-hr*0.75, hr*0.32*s[3], hr*0.32*s[3]), f.prim)
			f.fill(ellipse(hx+sx*hr*0.75, hy-hr*0.75, hr*0.17, hr*0.17), f.sec)
		}
	case 2: // wolf: pointy ears
		for _, sx := range []float64{-1, 1} {
			f.fill(poly(hx+sx*hr*0.9, hy-hr*0.2, hx+sx*hr*0.6, hy-hr*1.5*s[3], hx+sx*hr*0.15, hy-hr*0.8), f.prim)
		}
	}
	f.fillP(ellipse(hx, hy, hr, hr*0.92), f.body)
	switch plan {
	case 1: // sloth: face mask with dark eye patches
		f.fill(ellipse(hx, hy+hr*0.05, hr*0.78, hr*0.55), light(f.sec))
		for _, sx := range []float64{-1, 1} {
			f.fill(ellipse(hx+sx*hr*0.35, hy, hr*0.25, hr*0.14), dark(f.prim))
			f.eye(hx+sx*hr*0.35, hy, hr*0.07)
		}
		f.fill(ellipse(hx, hy+hr*0.25, hr*0.12, hr*0.08), black)
	case 2: // wolf: long snout
		f.fill(ellipse(hx, hy+hr*0.4, hr*0.4, hr*0.3), light(f.sec))
		f.fill(ellipse(hx, hy+hr*0.25, hr*0.13, hr*0.09), black)
		f.eye(hx-hr*0.35, hy-hr*0.15, hr*0.1)
		f.eye(hx+hr*0.35, hy-hr*0.15, hr*0.1)
	default:
		f.fill(ellipse(hx, hy+hr*0.35, hr*0.35, hr*0.27), light(f.sec))
		f.fill(ellipse(hx, hy+hr*0.25, hr*0.13, hr*0.09), black)
		f.eye(hx-hr*0.35, hy-hr*0.1, hr*0.1)
		f.eye(hx+hr*0.35, hy-hr*0.1, hr*0.1)
	}
	f.a = anchors{
		top:   [3]float64{hx, hy - hr*0.85, hr * 1.6},
		face:  [3]float64{hx, hy - hr*0.1, hr * 0.7},
		neck:  [3]float64{hx, hy + hr*0.95, hr * 0.8},
		torso: [4]float64{-bw * 0.9, 0.15, bw * 0.9, 0.9},
		eyeY:  hy - hr*0.1,
	}
}

func drawBowl(f *figure, plan int) {
	s := f.sh
	w := 0.8 * s[0]
	if plan == 1 {
		w *= 1.15
	}
	rim := 0.25 * s[1]
	f.fill(rect(-w*0.35, 0.88, w*0.35, 1, 0.03), dark(f.prim)) // foot
	p := &path{}
	p.moveTo(-w, rim).cubeTo(-w, 0.75, -w*0.45, 0.92, 0, 0.92).cubeTo(w*0.45, 0.92, w, 0.75, w, rim).close()
	f.main(p, -w, rim, w, 0.92)
	f.fill(ellipse(0, rim, w, 0.13), light(f.acc))
	f.fill(ellipse(0, rim+0.01, w*0.9, 0.1), dark(f.acc))
	if plan == 2 && !f.cube { // berries
		for i, x := range []float64{-0.45, -0.2, 0.05, 0.3, 0.5, -0.3, 0.18} {
			y := rim - 0.05 - float64(i/5)*0.1
			f.fill(ellipse(x*w, y, 0.11, 0.11), berry)
			f.fill(ellipse(x*w+0.03, y-0.03, 0.03, 0.03), light(berry))
		}
	}
	f.a = objectAnchors(-w, rim-0.1, w, 0.95)
}

var berry = hex(0x4b1f6f)

// objectAnchors puts accessories on an object's bounding box.
func objectAnchors(x0, y0, x1, y1 float64) anchors {
	w := x1 - x0
	return anchors{
		top:   [3]float64{(x0 + x1) / 2, y0, w * 0.6},
		face:  [3]float64{(x0 + x1) / 2, y0 + (y1-y0)*0.3, w * 0.3},
		neck:  [3]float64{(x0 + x1) / 2, y0 + (y1-y0)*0.15, w * 0.45},
		torso: [4]float64{x0 + w*0.1, y0 + (y1-y0)*0.35, x1 - w*0.1, y1},
		eyeY:  y0 + (y1-y0)*0.3,
	}
}

func drawCan(f *figure, plan int) {
	s := f.sh
	w := 0.38 * s[0]
	top := -0.75
	if plan == 1 {
		top, w = -0.3, w*1.1
	}
	top *= s[1]
	metal := hex(0xb8bcc2)
	f.fill(rect(-w, top, w, 0.95, 0), metal)
	f.fill(ellipse(0, 0.95, w, 0.08), dark(metal))
	f.main(rect(-w, top+0.12, w, 0.85, 0), -w, top+0.12, w, 0.85)
	if !f.cube {
		mid := (top + 0.85) / 2
		f.fill(rect(-w, mid-0.08, w, mid+0.08, 0), f.acc)
		f.fill(rect(-w*0.8, top+0.12, -w*0.6, 0.85, 0), RGB{1, 1, 1}.mix(f.prim, 0.6)) // shine
	}
	f.fill(ellipse(0, top, w, 0.08), light(metal))
	f.fill(ellipse(0, top, w*0.8, 0.055), metal)
	f.a = objectAnchors(-w, top, w, 0.95)
}

func drawCandle(f *figure, plan int) {
	s := f.sh
	w := 0.33 * s[0]
	top := -0.3 * s[1]
	if plan == 1 { // glass jar
		glass := hex(0xdfe9ee)
		f.fillA(rect(-w-0.1, top-0.15, w+0.1, 1, 0.12), glass, 0.55)
	}
	f.main(rect(-w, top, w, 0.97, 0.04), -w, top, w, 0.97)
	f.fill(ellipse(0, top, w, 0.07), light(f.prim))
	f.fill(thickLine(0, top, 0, top-0.12, 0.03), black)
	flame := &path{}
	fy := top - 0.12
	flame.moveTo(0, fy).cubeTo(-0.16, fy-0.1, -0.06, fy-0.3, 0, fy-0.42).cubeTo(0.06, fy-0.3, 0.16, fy-0.1, 0, fy).close()
	f.fill(flame, hex(0xffa21f))
	f.fill(ellipse(0, fy-0.1, 0.05, 0.09), hex(0xfff3a0))
	f.a = objectAnchors(-w, top, w, 0.97)
}

func drawClock(f *figure, plan int) {
	s := f.sh
	r := 0.72 * s[0]
	cy := 0.95 - r
	if plan == 1 { // alarm clock: bells and legs
		cy -= 0.08
		f.fill(ellipse(-r*0.7, cy-r*0.85, r*0.32, r*0.25), f.acc)
		f.fill(ellipse(r*0.7, cy-r*0.85, r*0.32, r*0.25), f.acc)
		f.fill(thickLine(-r*0.5, cy+r*0.8, -r*0.75, 1, 0.07), dark(f.prim))
		f.fill(thickLine(r*0.5, cy+r*0.8, r*0.75, 1, 0.07), dark(f.prim))
	}
	f.main(ellipse(0, cy, r, r), -r, cy-r, r, cy+r)
	face := hex(0xf7f3e8)
	fr := r * 0.8 * s[1]
	f.fill(ellipse(0, cy, fr, fr), face)
	for i := 0; i < 12; i++ {
		a := float64(i) * math.Pi / 6
		l := 0.1
		if i%3 == 0 {
			l = 0.17
		}
		x0, y0 := math.Sin(a)*fr*0.92, -math.Cos(a)*fr*0.92
		x1, y1 := math.Sin(a)*(fr*0.92-l), -math.Cos(a)*(fr*0.92-l)
		f.fill(thickLine(x0, cy+y0, x1, cy+y1, 0.04), black)
	}
	ha := f.sh[2] * 5
	f.fill(thickLine(0, cy, math.Sin(ha)*fr*0.5, cy-math.Cos(ha)*fr*0.5, 0.07), black)
	f.fill(thickLine(0, cy, math.Sin(ha*3.1)*fr*0.78, cy-math.Cos(ha*3.1)*fr*0.78, 0.045), black)
	f.fill(ellipse(0, cy, 0.05, 0.05), f.acc)
	f.a = objectAnchors(-r, cy-r, r, cy+r)
}

func drawSneaker(f *figure, plan int) {
	s := f.sh
	l := 0.9 * s[0]
	collar := 0.05
	if plan == 1 {
		collar = -0.45
	}
	sole := hex(0xf4f4f0)
	upper := &path{}
	upper.moveTo(-l, 0.78).lineTo(-l*0.95, collar).cubeTo(-l*0.6, collar-0.05, -l*0.35, collar+0.02, -l*0.25, collar+0.15)
	upper.cubeTo(0, 0.2, l*0.5, 0.3, l*0.85, 0.55).cubeTo(l*1.02, 0.65, l, 0.78, l*0.9, 0.78).close()
	f.main(upper, -l, collar, l, 0.78)
	if !f.cube {
		f.fill(thickLine(-l*0.5, 0.55, l*0.35, 0.45, 0.1*s[2]), f.sec) // side stripe
		for i := 0; i < 4; i++ {
			x := -l*0.15 + float64(i)*0.14
			f.fill(thickLine(x, 0.22+float64(i)*0.05, x+0.1, 0.3+float64(i)*0.05, 0.035), f.acc)
		}
	}
	f.fill(rect(-l-0.02, 0.76, l+0.02, 0.97, 0.08), sole)
	f.fill(rect(-l, 0.92, l, 0.97, 0), dark(sole))
	f.a = objectAnchors(-l, collar, l, 0.97)
}

func drawToy(f *figure, plan int) {
	s := f.sh
	switch plan {
	case 0: // duck
		bw := 0.6 * s[0]
		f.main(ellipse(0, 0.55, bw, 0.4), -bw, 0.15, bw, 0.95)
		f.fill(ellipse(-0.1, 0.5, bw*0.5, 0.2), dark(f.sec))
		hr := 0.3 * s[2]
		f.fillP(ellipse(0.3, -0.15, hr, hr), f.body)
		f.fill(poly(0.3+hr*0.8, -0.15, 0.3+hr*1.8, -0.05, 0.3+hr*0.8, 0.05), hex(0xf28c1e))
		f.eye(0.3+hr*0.35, -0.15-hr*0.25, hr*0.14)
		f.a = anchors{top: [3]float64{0.3, -0.15 - hr*0.9, hr * 1.6}, face: [3]float64{0.3 + hr*0.3, -0.15 - hr*0.25, hr * 0.5}, neck: [3]float64{0.25, 0.15, hr}, torso: [4]float64{-bw * 0.8, 0.25, bw * 0.8, 0.9}, eyeY: -0.15 - hr*0.25}
	case 1: // monster
		w := 0.55 * s[0]
		top := -0.55 * s[1]
		f.fill(poly(-w*0.6, top+0.1, -w*0.9, top-0.35, -w*0.2, top+0.02), f.acc)
		f.fill(poly(w*0.6, top+0.1, w*0.9, top-0.35, w*0.2, top+0.02), f.acc)
		f.main(rect(-w, top, w, 0.9, 0.45), -w, top, w, 0.9)
		f.fill(rect(-w*0.7, 0.85, -w*0.2, 1, 0.05), dark(f.prim))
		f.fill(rect(w*0.2, 0.85, w*0.7, 1, 0.05), dark(f.prim))
		f.bigEye(-w*0.38, top+0.35, 0.16, f.acc)
		f.bigEye(w*0.38, top+0.35, 0.16, f.acc)
		f.fill(rect(-w*0.5, top+0.7, w*0.5, top+0.85, 0.06), eyeDark)
		for _, x := range []float64{-0.3, 0, 0.3} {
			f.fill(poly(x*w-0.06, top+0.7, x*w+0.06, top+0.7, x*w, top+0.8), white)
		}
		f.a = objectAnchors(-w, top, w, 0.95)
		f.a.eyeY, f.a.face = top+0.35, [3]float64{0, top + 0.35, w * 0.6}
	case 2: // poop emoji: three tiers and a tip
		w := 0.75 * s[0]
		f.main(ellipse(0, 0.78, w, 0.22), -w, 0.56, w, 1)
		f.fillP(ellipse(0, 0.45, w*0.78, 0.2), f.body)
		f.fillP(ellipse(0, 0.15, w*0.55, 0.18), f.body)
		f.fillP(poly(-w*0.3, 0.05, 0.05, -0.45*s[1], w*0.3, 0.05), f.body)
		f.bigEye(-w*0.3, 0.45, 0.13, eyeDark)
		f.bigEye(w*0.3, 0.45, 0.13, eyeDark)
		sm := &path{}
		sm.moveTo(-w*0.4, 0.7).quadTo(0, 0.95, w*0.4, 0.7).close()
		f.fill(sm, eyeDark)
		f.a = objectAnchors(-w, -0.3, w, 1)
		f.a.eyeY, f.a.face = 0.45, [3]float64{0, 0.45, w * 0.5}
	case 3: // rc car
		l := 0.9 * s[0]
		f.fill(thickLine(l*0.5, 0.1, l*0.65, -0.55, 0.03), black) // antenna
		f.fillP(poly(-l*0.45, 0.3, -l*0.25, -0.05, l*0.35, -0.05, l*0.55, 0.3), func(x, y float32) RGB { return dark(f.body(x, y)) })
		f.fill(poly(-l*0.3, 0.27, -l*0.17, 0.03, l*0.28, 0.03, l*0.42, 0.27), hex(0x9fd3f0))
		f.main(rect(-l, 0.28, l, 0.75, 0.12), -l, 0.28, l, 0.75)
		for _, x := range []float64{-l * 0.6, l * 0.6} {
			f.fill(ellipse(x, 0.78, 0.22*s[2], 0.22*s[2]), black)
			f.fill(ellipse(x, 0.78, 0.1, 0.1), f.acc)
		}
		f.fill(rect(l*0.85, 0.38, l, 0.5, 0.02), hex(0xfff1a0))
		f.a = objectAnchors(-l, -0.05, l, 1)
	default: // robot
		w := 0.42 * s[0]
		f.fill(thickLine(0, -0.6, 0, -0.85, 0.04), dark(f.acc))
		f.fill(ellipse(0, -0.88, 0.07, 0.07), f.acc)
		f.fill(rect(-w*1.35, 0.05, -w*1.05, 0.6, 0.05), dark(f.prim)) // arms
		f.fill(rect(w*1.05, 0.05, w*1.35, 0.6, 0.05), dark(f.prim))
		f.fill(rect(-w*0.7, 0.7, -w*0.2, 1, 0.03), dark(f.prim))
		f.fill(rect(w*0.2, 0.7, w*0.7, 1, 0.03), dark(f.prim))
		f.main(rect(-w, -0.02, w, 0.75, 0.06), -w, -0.02, w, 0.75)
		hw := w * 0.85 * s[2]
		f.fillP(rect(-hw, -0.62, hw, -0.08, 0.08), f.body)
		f.fill(rect(-hw*0.6, -0.45, -hw*0.15, -0.3, 0.03), f.acc)
		f.fill(rect(hw*0.15, -0.45, hw*0.6, -0.3, 0.03), f.acc)
		f.fill(rect(-hw*0.5, -0.2, hw*0.5, -0.15, 0), eyeDark)
		f.a = anchors{top: [3]float64{0, -0.62, hw * 2}, face: [3]float64{0, -0.38, hw * 0.7}, neck: [3]float64{0, -0.04, w}, torso: [4]float64{-w, 0, w, 0.75}, eyeY: -0.38}
	}
}

func drawBoot(f *figure, plan int) {
	s := f.sh
	top := -0.2
	switch plan {
	case 1:
		top = -0.9
	case 2:
		top = -0.7
	}
	top *= s[1]
	l := 0.75 * s[0]
	p := &path{}
	p.moveTo(-0.5, top).lineTo(0.2, top).lineTo(0.22, 0.45).cubeTo(0.5, 0.5, l, 0.55, l, 0.85).lineTo(-0.52, 0.85)
	if plan == 2 {
		p = &path{}
		p.moveTo(-0.55, top-0.05).quadTo(-0.15, top+0.08, 0.28, top-0.08).lineTo(0.22, 0.45).cubeTo(0.5, 0.5, l+0.1, 0.5, l+0.12, 0.82).lineTo(-0.52, 0.85)
	}
	f.main(p.close(), -0.5, top, l, 0.85)
	f.fill(rect(-0.55, 0.82, l+0.05, 0.93, 0.03), dark(dark(f.prim))) // sole
	f.fill(rect(-0.55, 0.82, -0.2, 1, 0.02), dark(dark(f.prim)))      // heel
	if !f.cube {
		f.fill(rect(-0.52, top, 0.22, top+0.1, 0.02), f.sec) // cuff
		if plan == 2 {
			f.fill(ellipse(-0.15, 0.55, 0.12, 0.08), f.acc) // buckle
			f.fill(ellipse(-0.15, 0.55, 0.06, 0.04), dark(f.prim))
		} else {
			for i := 0; i < 3; i++ {
				y := top + 0.25 + float64(i)*0.15
				f.fill(thickLine(0.05, y, 0.25, y+0.04, 0.035), f.acc)
			}
		}
	}
	f.a = objectAnchors(-0.5, top, l, 1)
}

func drawGlasses(f *figure, plan int) {
	s := f.sh
	r := 0.36 * s[0]
	gap := 0.12 * s[1]
	cy := 0.45
	lens := func(cx, rr float64) *path {
		switch plan {
		case 1:
			return rect(cx-rr*1.1, cy-rr*0.8, cx+rr*1.1, cy+rr*0.8, rr*0.25)
		case 2:
			return poly(cx-rr*1.15, cy-rr*0.75, cx+rr*1.1, cy-rr*0.55, cx+rr*0.9, cy+rr*0.7, cx-rr*0.9, cy+rr*0.7)
		}
		return ellipse(cx, cy, rr, rr*0.92)
	}
	lx := r + gap/2 + 0.05
	f.fill(thickLine(-lx-r, cy-0.05, -lx-r-0.2, cy-0.35, 0.06), dark(f.prim)) // temples
	f.fill(thickLine(lx+r, cy-0.05, lx+r+0.2, cy-0.35, 0.06), dark(f.prim))
	if f.cube {
		f.main(nil, -lx-r, cy-r, lx+r, cy+r)
	} else {
		for _, sx := range []float64{-1, 1} {
			f.fillP(lens(sx*lx, r+0.07), f.body)
			f.fillA(lens(sx*lx, r-0.04), f.sec, 0.35)
			f.fillA(ellipse(sx*lx-r*0.35, cy-r*0.35, r*0.2, r*0.12), white, 0.6)
		}
		f.fillP(rect(-gap/2-0.08, cy-r*0.55, gap/2+0.08, cy-r*0.35, 0.03), f.body)
	}
	f.a = objectAnchors(-lx-r, cy-r, lx+r, cy+r)
}

func drawCartoon(f *figure, plan int) {
	s := f.sh
	outline := func(p *path, c RGB, grow *path) {
		f.fill(grow, black)
		f.fill(p, c)
	}
	hr := 0.45 * s[2]
	hx, hy := 0.0, -0.3
	bw := 0.3 * s[0]
	// legs and arms with outlines
	for _, sx := range []float64{-1, 1} {
		outline(rect(sx*bw*0.5-0.08, 0.6, sx*bw*0.5+0.08, 1, 0.05), f.prim, rect(sx*bw*0.5-0.11, 0.57, sx*bw*0.5+0.11, 1.02, 0.06))
		f.fill(thickLine(sx*bw*0.8, 0.25, sx*(bw+0.3), 0.45, 0.12), black)
		f.fill(thickLine(sx*bw*0.8, 0.25, sx*(bw+0.3), 0.45, 0.07), f.prim)
	}
	f.fill(ellipse(0, 0.4, bw+0.04, 0.32), black)
	f.main(ellipse(0, 0.4, bw, 0.28), -bw, 0.12, bw, 0.68)
	switch plan {
	case 0: // horns
		for _, sx := range []float64{-1, 1} {
			f.fill(poly(hx+sx*hr*0.5, hy-hr*0.7, hx+sx*hr*0.9, hy-hr*1.4, hx+sx*hr*0.85, hy-hr*0.45), black)
			f.fill(poly(hx+sx*hr*0.55, hy-hr*0.72, hx+sx*hr*0.86, hy-hr*1.28, hx+sx*hr*0.8, hy-hr*0.5), f.acc)
		}
	case 1: // big round ears
		for _, sx := range []float64{-1, 1} {
			f.fill(ellipse(hx+sx*hr*0.85, hy-hr*0.7, hr*0.42, hr*0.42), black)
			f.fill(ellipse(hx+sx*hr*0.85, hy-hr*0.7, hr*0.36, hr*0.36), f.sec)
		}
	default: // antenna
		f.fill(thickLine(hx, hy-hr, hx+hr*0.3, hy-hr*1.5, 0.05), black)
		f.fill(ellipse(hx+hr*0.3, hy-hr*1.5, 0.08, 0.08), f.acc)
	}
	f.fill(ellipse(hx, hy, hr+0.04, hr*0.9+0.04), black)
	f.fillP(ellipse(hx, hy, hr, hr*0.9), f.body)
	f.bigEye(hx-hr*0.38, hy-hr*0.1, hr*0.3, f.acc)
	f.bigEye(hx+hr*0.38, hy-hr*0.1, hr*0.3, f.acc)
	sm := &path{}
	sm.moveTo(hx-hr*0.4, hy+hr*0.4).quadTo(hx, hy+hr*0.75, hx+hr*0.4, hy+hr*0.4).close()
	f.fill(sm, eyeDark)
	f.a = anchors{
		top:   [3]float64{hx, hy - hr*0.85, hr * 1.6},
		face:  [3]float64{hx, hy - hr*0.1, hr * 0.75},
		neck:  [3]float64{hx, hy + hr*0.95, hr * 0.6},
		torso: [4]float64{-bw, 0.15, bw, 0.68},
		eyeY:  hy - hr*0.1,
	}
}

func drawTeapot(f *figure, plan int) {
	s := f.sh
	rx, ry := 0.52*s[0], 0.42
	cy := 0.52
	if plan == 1 {
		rx, ry, cy = rx*0.8, 0.5, 0.45
	}
	f.fill(ring(-rx-0.05, cy-0.05, 0.28, 0.3*s[2], 0.08), dark(f.prim)) // handle
	sp := &path{}
	sp.moveTo(rx*0.7, cy+0.1).quadTo(rx+0.25, cy+0.05, rx+0.4*s[3], cy-0.4).lineTo(rx+0.48*s[3], cy-0.38).quadTo(rx+0.3, cy+0.25, rx*0.75, cy+0.3).close()
	f.fill(sp, dark(f.prim))
	f.main(ellipse(0, cy, rx, ry), -rx, cy-ry, rx, cy+ry)
	f.fill(rect(-rx*0.5, cy+ry-0.05, rx*0.5, cy+ry+0.05, 0.03), dark(f.prim))
	f.fill(ellipse(0, cy-ry+0.02, rx*0.55, 0.09), f.sec) // lid
	f.fill(ellipse(0, cy-ry-0.08, 0.08, 0.07), f.acc)    // knob
	f.a = objectAnchors(-rx, cy-ry-0.1, rx, cy+ry)
}

func drawVase(f *figure, plan int) {
	s := f.sh
	belly := 0.55 * s[0]
	neck := 0.18 * s[1]
	lip := 0.3 * s[1]
	top := -0.8
	by := 0.35
	if plan == 1 {
		belly, by, top = belly*0.7, 0.45, -0.9
	}
	p := &path{}
	p.moveTo(-0.3, 1).cubeTo(-belly*1.2, 0.8, -belly*1.1, by, -belly, by-0.1).cubeTo(-belly*0.9, -0.2, -neck, -0.3, -neck, -0.5).lineTo(-lip, top)
	p.lineTo(lip, top).lineTo(neck, -0.5).cubeTo(neck, -0.3, belly*0.9, -0.2, belly, by-0.1).cubeTo(belly*1.1, by, belly*1.2, 0.8, 0.3, 1).close()
	if plan == 2 { // amphora handles
		f.fill(ring(-belly*0.75, -0.3, 0.22, 0.25, 0.06), dark(f.prim))
		f.fill(ring(belly*0.75, -0.3, 0.22, 0.25, 0.06), dark(f.prim))
	}
	f.main(p, -belly, top, belly, 1)
	f.fill(ellipse(0, top, lip, 0.06), dark(f.prim))
	if !f.cube {
		f.fill(rect(-belly*0.95, by-0.2, belly*0.95, by-0.13, 0), f.acc)
	}
	f.a = objectAnchors(-belly, top, belly, 1)
}
