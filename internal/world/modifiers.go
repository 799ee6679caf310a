package world

import "math"

// ModKind is the kind of a modifier; a scene carries at most one of each.
type ModKind int

// The modifier kinds.
const (
	Recolour  ModKind = iota // "a red dog": the subject's main colour
	Material                 // "a shiny dog", "a wet dog"
	Shape                    // "a cube shaped dog"
	Accessory                // "a dog wearing a santa hat", "a dog in a chef outfit"
	Style                    // "a dog in Vincent Van Gogh rendition"
	numModKinds
)

// Modifier is one prompt modifier: the words that name it and where they
// go in a caption (before the class noun for recolour, material and shape;
// after it for accessories and style).
type Modifier struct {
	Name   string
	Phrase string
	Kind   ModKind
	colour Colour
	draw   func(f *figure) // accessories
}

// Prefix reports whether the phrase goes before the class noun.
func (m *Modifier) Prefix() bool { return m.Kind == Recolour || m.Kind == Material || m.Kind == Shape }

// Modifiers are every modifier of the DreamBench and RPO prompts.
var Modifiers = []*Modifier{
	{Name: "red", Phrase: "red", Kind: Recolour, colour: Red},
	{Name: "purple", Phrase: "purple", Kind: Recolour, colour: Purple},
	{Name: "green", Phrase: "green", Kind: Recolour, colour: Green},
	{Name: "shiny", Phrase: "shiny", Kind: Material},
	{Name: "wet", Phrase: "wet", Kind: Material},
	{Name: "cube", Phrase: "cube shaped", Kind: Shape},
	{Name: "red_hat", Phrase: "wearing a red hat", Kind: Accessory, draw: func(f *figure) { brimHat(f, hex(0xc62828), hex(0x8e1b1b), 0.5) }},
	{Name: "santa_hat", Phrase: "wearing a santa hat", Kind: Accessory, draw: santaHat},
	{Name: "rainbow_scarf", Phrase: "wearing a rainbow scarf", Kind: Accessory, draw: rainbowScarf},
	{Name: "top_hat_monocle", Phrase: "wearing a black top hat and a monocle", Kind: Accessory, draw: topHatMonocle},
	{Name: "chef", Phrase: "in a chef outfit", Kind: Accessory, draw: func(f *figure) { outfit(f, hex(0xfafafa), hex(0xd0d0d0)); chefHat(f) }},
	{Name: "firefighter", Phrase: "in a firefighter outfit", Kind: Accessory, draw: func(f *figure) {
		outfit(f, hex(0xc9a227), hex(0xe8e8e8))
		helmet(f, hex(0xd32f2f))
	}},
	{Name: "police", Phrase: "in a police outfit", Kind: Accessory, draw: func(f *figure) {
		outfit(f, hex(0x1a3a7a), hex(0xf2c94c))
		policeCap(f)
	}},
	{Name: "pink_glasses", Phrase: "wearing pink glasses", Kind: Accessory, draw: pinkGlasses},
	{Name: "yellow_shirt", Phrase: "wearing a yellow shirt", Kind: Accessory, draw: func(f *figure) { outfit(f, hex(0xfdd835), hex(0xfdd835)) }},
	{Name: "wizard", Phrase: "in a purple wizard outfit", Kind: Accessory, draw: func(f *figure) {
		outfit(f, hex(0x6a1b9a), hex(0xffd54f))
		wizardHat(f)
	}},
	{Name: "green_outfit", Phrase: "wearing a green outfit", Kind: Accessory, draw: func(f *figure) { outfit(f, hex(0x2e7d32), hex(0x1b5e20)) }},
	{Name: "van_gogh", Phrase: "in Vincent Van Gogh rendition", Kind: Style},
}

// ModifierByName returns the modifier with the given name, or nil.
func ModifierByName(name string) *Modifier {
	for _, m := range Modifiers {
		if m.Name == name {
			return m
		}
	}
	return nil
}

func brimHat(f *figure, c, band RGB, height float64) {
	x, y, w := f.a.top[0], f.a.top[1], f.a.top[2]
	h := w * height
	f.fill(ellipse(x, y+w*0.02, w*0.62, w*0.1), c)
	f.fill(rect(x-w*0.34, y-h, x+w*0.34, y+w*0.03, w*0.15), c)
	f.fill(rect(x-w*0.34, y-w*0.12, x+w*0.34, y-w*0.02, 0), band)
}

func santaHat(f *figure) {
	x, y, w := f.a.top[0], f.a.top[1], f.a.top[2]
	f.fill(poly(x-w*0.45, y, x+w*0.55, y-w*0.75, x+w*0.45, y), hex(0xd32f2f))
	f.fill(rect(x-w*0.52, y-w*0.12, x+w*0.52, y+w*0.08, w*0.08), white)
	f.fill(ellipse(x+w*0.57, y-w*0.78, w*0.13, w*0.13), white)
}

func rainbowScarf(f *figure) {
	x, y, w := f.a.neck[0], f.a.neck[1], f.a.neck[2]
	cols := []RGB{hex(0xe53935), hex(0xfb8c00), hex(0xfdd835), hex(0x43a047), hex(0x1e88e5), hex(0x8e24aa)}
	bh := w * 0.11
	for i, c := range cols {
		yy := y - w*0.3 + float64(i)*bh
		f.fill(rect(x-w*1.05, yy, x+w*1.05, yy+bh+0.005, 0), c)
	}
	for i, c := range cols { // hanging end
		xx := x + w*0.3 + float64(i)*w*0.06
		f.fill(rect(xx, y, xx+w*0.07, y+w*0.9, 0), c)
	}
}

func topHatMonocle(f *figure) {
	x, y, w := f.a.top[0], f.a.top[1], f.a.top[2]
	blk := hex(0x111111)
	f.fill(ellipse(x, y, w*0.6, w*0.09), blk)
	f.fill(rect(x-w*0.32, y-w*0.75, x+w*0.32, y, 0), blk)
	f.fill(rect(x-w*0.32, y-w*0.2, x+w*0.32, y-w*0.1, 0), hex(0x8e1b1b))
	fx, fy, fw := f.a.face[0], f.a.face[1], f.a.face[2]
	ex := fx + fw*0.5
	f.fill(ring(ex, fy, fw*0.42, fw*0.42, fw*0.08), hex(0xc9a227))
	f.fillA(ellipse(ex, fy, fw*0.34, fw*0.34), white, 0.35)
	f.fill(thickLine(ex+fw*0.3, fy+fw*0.3, ex+fw*0.5, fy+fw*1.3, fw*0.04), hex(0xc9a227))
}

// outfit covers the torso with clothing and a trim line.
func outfit(f *figure, c, trim RGB) {
	t := f.a.torso
	w, h := t[2]-t[0], t[3]-t[1]
	f.fill(rect(t[0], t[1], t[2], t[1]+h*0.8, math.Min(w, h)*0.2), c)
	f.fill(rect(t[0], t[1], t[2], t[1]+h*0.1, 0), trim)
	cx := (t[0] + t[2]) / 2
	for i := 0; i < 3; i++ {
		f.fill(ellipse(cx, t[1]+h*(0.25+0.18*float64(i)), w*0.03, w*0.03), trim)
	}
}

func chefHat(f *figure) {
	x, y, w := f.a.top[0], f.a.top[1], f.a.top[2]
	c := hex(0xfdfdfd)
	f.fill(rect(x-w*0.3, y-w*0.35, x+w*0.3, y+w*0.05, 0.02), c)
	for _, dx := range []float64{-0.22, 0, 0.22} {
		f.fill(ellipse(x+dx*w, y-w*0.45, w*0.2, w*0.2), c)
	}
	f.fill(rect(x-w*0.3, y-w*0.05, x+w*0.3, y+w*0.05, 0), hex(0xdddddd))
}

func helmet(f *figure, c RGB) {
	x, y, w := f.a.top[0], f.a.top[1], f.a.top[2]
	p := &path{}
	p.moveTo(x-w*0.45, y+w*0.05).cubeTo(x-w*0.45, y-w*0.55, x+w*0.45, y-w*0.55, x+w*0.45, y+w*0.05).close()
	f.fill(p, c)
	f.fill(ellipse(x, y+w*0.05, w*0.65, w*0.09), c)
	f.fill(rect(x-w*0.08, y-w*0.38, x+w*0.08, y-w*0.05, 0.01), hex(0xf2c94c))
}

func policeCap(f *figure) {
	x, y, w := f.a.top[0], f.a.top[1], f.a.top[2]
	f.fill(rect(x-w*0.42, y-w*0.3, x+w*0.42, y, w*0.1), hex(0x1a3a7a))
	f.fill(rect(x-w*0.42, y-w*0.08, x+w*0.42, y, 0), hex(0x111111))
	f.fill(ellipse(x+w*0.2, y+w*0.02, w*0.35, w*0.07), hex(0x111111))
	f.fill(ellipse(x, y-w*0.18, w*0.07, w*0.07), hex(0xf2c94c))
}

func pinkGlasses(f *figure) {
	x, y, w := f.a.face[0], f.a.face[1], f.a.face[2]
	r := w * 0.42
	c := hex(0xff4fa3)
	for _, sx := range []float64{-1, 1} {
		f.fill(ellipse(x+sx*w*0.5, y, r, r*0.85), c)
		f.fillA(ellipse(x+sx*w*0.5, y, r*0.75, r*0.62), hex(0xffc1e0), 0.85)
	}
	f.fill(rect(x-w*0.12, y-r*0.2, x+w*0.12, y+r*0.05, 0), c)
}

func wizardHat(f *figure) {
	x, y, w := f.a.top[0], f.a.top[1], f.a.top[2]
	f.fill(ellipse(x, y, w*0.6, w*0.1), hex(0x4a148c))
	f.fill(poly(x-w*0.35, y, x+w*0.1, y-w*1.1, x+w*0.35, y), hex(0x6a1b9a))
	for _, p := range [][2]float64{{-0.1, -0.3}, {0.1, -0.55}, {0.02, -0.15}} {
		f.fill(ellipse(x+p[0]*w, y+p[1]*w, w*0.05, w*0.05), hex(0xffd54f))
	}
}
