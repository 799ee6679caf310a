package world

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
)

// Colour is one of the world's named colours; identities are built from
// them (with a little jitter), and captions name them.
type Colour int

// The named colours.
const (
	Black Colour = iota
	White
	Grey
	Brown
	Tan
	Golden
	Orange
	Red
	Pink
	Purple
	Blue
	Green
	numColours
)

var colourInfo = [numColours]struct {
	name string
	rgb  RGB
}{
	{"black", hex(0x26221f)},
	{"white", hex(0xf2efe8)},
	{"grey", hex(0x8c8c8c)},
	{"brown", hex(0x7a4a26)},
	{"tan", hex(0xd2b48c)},
	{"golden", hex(0xe0a526)},
	{"orange", hex(0xf07820)},
	{"red", hex(0xd42a2a)},
	{"pink", hex(0xf48cbc)},
	{"purple", hex(0x7f3fbf)},
	{"blue", hex(0x2f6fd6)},
	{"green", hex(0x3a9d3a)},
}

func (c Colour) String() string { return colourInfo[c].name }

// RGB is the colour's base value.
func (c Colour) RGB() RGB { return colourInfo[c].rgb }

// Pattern is how the primary and secondary colours are laid on a subject.
type Pattern int

// The patterns.
const (
	Plain Pattern = iota
	Stripes
	Dots
	Patches
	Checks
	numPatterns
)

var patternWords = [numPatterns]string{"plain", "striped", "spotted", "patched", "checkered"}

func (p Pattern) String() string { return patternWords[p] }

// Marking is a distinctive mark on a subject.
type Marking int

// The markings.
const (
	NoMarking Marking = iota
	Star
	Heart
	Band
	EyePatch
	numMarkings
)

var markingNames = [numMarkings]string{"none", "star", "heart", "band", "eye patch"}

func (m Marking) String() string { return markingNames[m] }

// Identity is everything that makes one subject itself, whatever the
// context, pose or camera: class and body plan, palette, pattern,
// proportions and marking.
type Identity struct {
	Class     *Class
	Plan      int           // body plan within the class (toys: duck, monster, ...)
	Primary   Colour        // main colour
	Secondary Colour        // pattern colour
	Accent    Colour        // details (pocket, lid, laces, collar)
	Jitter    [3][3]float32 // per-colour RGB jitter, ±0.05
	Pattern   Pattern
	PatScale  float64    // pattern period, in figure units
	PatAngle  float64    // radians
	Shape     [4]float64 // proportions, each in [0.85, 1.15]
	Marking   Marking
	MarkPos   [2]float64 // marking position within the body, [-0.5, 0.5]²
}

func (id *Identity) colour(i int, c Colour) RGB {
	b := c.RGB()
	j := id.Jitter[i]
	return RGB{clamp01(b.R + j[0]), clamp01(b.G + j[1]), clamp01(b.B + j[2])}
}

// PrimaryRGB, SecondaryRGB and AccentRGB are the jittered colours.
func (id *Identity) PrimaryRGB() RGB   { return id.colour(0, id.Primary) }
func (id *Identity) SecondaryRGB() RGB { return id.colour(1, id.Secondary) }
func (id *Identity) AccentRGB() RGB    { return id.colour(2, id.Accent) }

// Key is the discrete part of the identity, which decides whether it lies in
// the reserved region.
func (id *Identity) Key() string {
	return fmt.Sprintf("%s/%d/%s/%s/%s/%s", id.Class.Name, id.Plan, id.Primary, id.Secondary, id.Pattern, id.Marking)
}

// Reserved reports whether the identity lies in the part of identity space
// kept for MiniDreamBench: a fixed quarter of the (class, plan, primary,
// secondary, pattern, marking) combinations, chosen by hash. Pretraining
// sampling never draws one; every colour, pattern and marking still occurs
// in pretraining, only not in these combinations.
func (id *Identity) Reserved() bool {
	h := fnv.New32a()
	h.Write([]byte(id.Key()))
	return h.Sum32()%4 == 0
}

// Words are the identity words a caption may carry: the primary colour, and
// the secondary colour and pattern word unless the pattern is plain
// ("brown and white spotted").
func (id *Identity) Words() string {
	if id.Pattern == Plain || id.Secondary == id.Primary {
		return id.Primary.String()
	}
	return fmt.Sprintf("%s and %s %s", id.Primary, id.Secondary, id.Pattern)
}

// SampleIdentity draws an identity of class c. reserved selects the region:
// false for pretraining (never reserved), true for benchmark subjects (only
// reserved).
func SampleIdentity(rng *rand.Rand, c *Class, reserved bool) Identity {
	for {
		id := drawIdentity(rng, c)
		if id.Reserved() == reserved {
			return id
		}
	}
}

func drawIdentity(rng *rand.Rand, c *Class) Identity {
	id := Identity{Class: c, Plan: rng.IntN(len(c.Plans))}
	pal := c.Colours
	id.Primary = pal[rng.IntN(len(pal))]
	for {
		id.Secondary = pal[rng.IntN(len(pal))]
		if id.Secondary != id.Primary {
			break
		}
	}
	id.Accent = Colour(rng.IntN(int(numColours)))
	for i := range id.Jitter {
		for k := range id.Jitter[i] {
			id.Jitter[i][k] = float32(rng.Float64()*0.1 - 0.05)
		}
	}
	id.Pattern = c.Patterns[rng.IntN(len(c.Patterns))]
	id.PatScale = 0.18 + rng.Float64()*0.14
	id.PatAngle = (rng.Float64() - 0.5) * 1.6
	for i := range id.Shape {
		id.Shape[i] = 0.85 + rng.Float64()*0.3
	}
	id.Marking = Marking(rng.IntN(int(numMarkings)))
	id.MarkPos = [2]float64{rng.Float64() - 0.5, rng.Float64() - 0.5}
	return id
}

// patternPaint paints the identity's pattern in figure coordinates through
// the inverse of the figure transform inv.
func (id *Identity) patternPaint(inv xform, primary, secondary RGB) paint {
	if id.Pattern == Plain {
		return solid(primary)
	}
	s := id.PatScale
	cs, sn := cosSin(id.PatAngle)
	kind := id.Pattern
	return func(x, y float32) RGB {
		fx, fy := inv.apply(float64(x), float64(y))
		u := (fx*cs - fy*sn) / s
		v := (fx*sn + fy*cs) / s
		on := false
		switch kind {
		case Stripes:
			on = frac(u) < 0.45
		case Checks:
			on = (int(floor(u))+int(floor(v)))&1 == 0
		case Dots:
			du, dv := frac(u)-0.5, frac(v)-0.5
			on = du*du+dv*dv < 0.09
		case Patches:
			// large soft blobs from a fixed sum of waves
			w := sin(u*1.3+0.7) + sin(v*1.1+2.1) + sin((u+v)*0.7)
			on = w > 0.9
		}
		if on {
			return secondary
		}
		return primary
	}
}
