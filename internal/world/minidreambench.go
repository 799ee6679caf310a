package world

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
)

// Subject is one MiniDreamBench subject: a DreamBench name and class, a
// fixed identity from the reserved region, and its reference images.
type Subject struct {
	Name     string
	Class    *Class
	Refs     int // number of reference images (as in DreamBench)
	Identity Identity
	Variant  int
}

// dreamBenchSubjects are DreamBench's 30 subjects with their classes and
// reference counts; plan and colour follow what the name says.
var dreamBenchSubjects = []struct {
	name, class string
	refs        int
	plan        string // "" = any
	colour      Colour // -1 = any
}{
	{"backpack", "backpack", 6, "classic", -1},
	{"backpack_dog", "backpack", 5, "dog face", -1},
	{"bear_plushie", "stuffed animal", 5, "bear", Brown},
	{"berry_bowl", "bowl", 6, "berries", -1},
	{"can", "can", 6, "", -1},
	{"candle", "candle", 5, "", -1},
	{"cat", "cat", 5, "", -1},
	{"cat2", "cat", 5, "", -1},
	{"clock", "clock", 6, "", -1},
	{"colorful_sneaker", "sneaker", 5, "", -1},
	{"dog", "dog", 5, "", -1},
	{"dog2", "dog", 6, "", -1},
	{"dog3", "dog", 6, "", -1},
	{"dog5", "dog", 5, "", -1},
	{"dog6", "dog", 5, "", -1},
	{"dog7", "dog", 5, "", -1},
	{"dog8", "dog", 5, "", -1},
	{"duck_toy", "toy", 4, "duck", -1},
	{"fancy_boot", "boot", 6, "fancy", -1},
	{"grey_sloth_plushie", "stuffed animal", 5, "sloth", Grey},
	{"monster_toy", "toy", 5, "monster", -1},
	{"pink_sunglasses", "glasses", 6, "", Pink},
	{"poop_emoji", "toy", 5, "poop emoji", -1},
	{"rc_car", "toy", 5, "rc car", -1},
	{"red_cartoon", "cartoon", 4, "", Red},
	{"robot_toy", "toy", 5, "robot", -1},
	{"shiny_sneaker", "sneaker", 6, "", -1},
	{"teapot", "teapot", 5, "", -1},
	{"vase", "vase", 6, "", -1},
	{"wolf_plushie", "stuffed animal", 5, "wolf", Grey},
}

// MiniDreamBench returns the 30 subjects of a variant (0 is the standard
// set; every other number draws another 30 from the reserved region, so
// results can be checked on subjects nobody tuned for). Identities within a
// variant are distinct.
func MiniDreamBench(variant int) []Subject {
	out := make([]Subject, 0, len(dreamBenchSubjects))
	used := map[string]bool{}
	for _, d := range dreamBenchSubjects {
		c := ClassByName(d.class)
		h := fnv.New64a()
		fmt.Fprintf(h, "minidreambench/%d/%s", variant, d.name)
		rng := rand.New(rand.NewPCG(h.Sum64(), uint64(variant)))
		var id Identity
		for {
			id = drawIdentity(rng, c)
			if d.plan != "" {
				id.Plan = c.PlanIndex(d.plan)
			}
			if d.colour >= 0 {
				id.Primary = d.colour
				if id.Secondary == id.Primary {
					continue
				}
			}
			if id.Reserved() && !used[id.Key()] {
				break
			}
		}
		used[id.Key()] = true
		out = append(out, Subject{Name: d.name, Class: c, Refs: d.refs, Identity: id, Variant: variant})
	}
	return out
}

// SubjectByName finds a subject of a variant by its DreamBench name.
func SubjectByName(variant int, name string) (Subject, bool) {
	for _, s := range MiniDreamBench(variant) {
		if s.Name == name {
			return s, true
		}
	}
	return Subject{}, false
}

// References returns the scenes of the subject's reference images: plain
// reference settings, varied camera (offset, scale, small rotation, flip).
func (s Subject) References() []*Scene {
	h := fnv.New64a()
	fmt.Fprintf(h, "minidreambench-refs/%d/%s", s.Variant, s.Name)
	rng := rand.New(rand.NewPCG(h.Sum64(), 7))
	refs := ReferenceContexts()
	order := rng.Perm(len(refs))
	scenes := make([]*Scene, s.Refs)
	for i := range scenes {
		cam := SampleCamera(rng)
		cam.Scale = 0.85 + rng.Float64()*0.25
		scenes[i] = &Scene{Identity: s.Identity, Context: refs[order[i%len(refs)]], Camera: cam, Seed: rng.Uint64()}
	}
	return scenes
}

// Describe says what the subject looks like, for the exported README.
func (s Subject) Describe() string {
	id := s.Identity
	return fmt.Sprintf("%s (%s), %s; accent %s; marking %s", s.Class.Name, s.Class.Plans[id.Plan], id.Words(), id.Accent, id.Marking)
}
