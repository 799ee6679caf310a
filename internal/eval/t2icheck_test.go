package eval

import (
	"image"
	"math"
	"testing"

	"github.com/rpo-dev/rpo/internal/models"
)

func TestHeldOutCaptionsAreReservedAndSeeded(t *testing.T) {
	s1, c1 := HeldOutCaptions(30, 9)
	_, c2 := HeldOutCaptions(30, 9)
	_, c3 := HeldOutCaptions(30, 10)
	same := 0
	for i := range s1 {
		if !s1[i].Identity.Reserved() {
			t.Errorf("caption %d (%q): identity is not in the reserved region", i, c1[i])
		}
		if c1[i] != c2[i] {
			t.Errorf("caption %d differs between runs with one seed: %q vs %q", i, c1[i], c2[i])
		}
		if c1[i] == c3[i] {
			same++
		}
	}
	if same > 10 {
		t.Errorf("%d of 30 captions equal under another seed", same)
	}
}

// Generated images equal to the real renders give a ratio of exactly 1
// and equal accuracies; shuffled images change the generated side only.
func TestMeasureCaptionsIdentity(t *testing.T) {
	e, err := models.NewEncoder(models.TinyEncoderConfig("tiny-clip", true, 16), nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	scenes, caps := HeldOutCaptions(12, 4)
	real := make([]*image.RGBA, len(scenes))
	for i, s := range scenes {
		real[i] = s.Render()
	}
	r, err := MeasureCaptions(e, scenes, caps, real, real)
	if err != nil {
		t.Fatal(err)
	}
	if r.CLIPTRatio != 1 || r.ClassGenerated != r.ClassReal || r.ClassGeneratedPlain != r.ClassRealPlain || r.ContextGenerated != r.ContextReal || r.CLIPTGenerated.Mean != r.CLIPTReal.Mean {
		t.Errorf("identical images: %+v", r)
	}
	n, unreshaped := 0, 0
	for _, s := range scenes {
		if !reshaped(s) {
			unreshaped++
		}
	}
	for c, a := range r.ByClass {
		n += a.N
		if a.Generated != a.Real || a.Real < 0 || a.Real > 1 {
			t.Errorf("identical images, class %s: %+v", c, a)
		}
	}
	if n != len(scenes) || r.Unreshaped.N != unreshaped || r.Unreshaped.Generated != r.Unreshaped.Real {
		t.Errorf("by class %d scenes of %d; unreshaped %+v of %d", n, len(scenes), r.Unreshaped, unreshaped)
	}
	shuffled := append(real[1:len(real):len(real)], real[0])
	r2, err := MeasureCaptions(e, scenes, caps, real, shuffled)
	if err != nil {
		t.Fatal(err)
	}
	for c, a := range r2.ByClass { // every misclassified generated image is counted where it went
		wrong := 0
		for to, k := range a.GeneratedAs {
			if to == c || k < 1 {
				t.Errorf("class %s: generated_as %v", c, a.GeneratedAs)
			}
			wrong += k
		}
		if want := a.N - int(math.Round(a.Generated*float64(a.N))); wrong != want {
			t.Errorf("class %s: %d misclassified generated images counted, %d wrong", c, wrong, want)
		}
	}
	if r2.ByClass["dog"].Real != r.ByClass["dog"].Real || r2.Unreshaped.Real != r.Unreshaped.Real {
		t.Errorf("shuffled images changed the real side: %+v → %+v", r.ByClass, r2.ByClass)
	}
	if r2.CLIPTReal.Mean != r.CLIPTReal.Mean || r2.CLIPTGenerated.Mean == r.CLIPTGenerated.Mean {
		t.Errorf("shuffled images: real %v→%v, generated %v→%v", r.CLIPTReal, r2.CLIPTReal, r.CLIPTGenerated, r2.CLIPTGenerated)
	}
}

func TestMostConfused(t *testing.T) {
	if c, n := (ClassAcc{GeneratedAs: map[string]int{"vase": 2, "boot": 5, "toy": 5}}).MostConfused(); c != "boot" || n != 5 {
		t.Errorf("MostConfused = %s %d, want boot 5", c, n)
	}
	if c, n := (ClassAcc{}).MostConfused(); c != "" || n != 0 {
		t.Errorf("MostConfused of none = %q %d", c, n)
	}
}
