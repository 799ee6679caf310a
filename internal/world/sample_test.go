package world

import (
	"math/rand/v2"
	"testing"
)

func TestSampleTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	found := 0
	for i := 0; i < 300; i++ {
		s, _ := SampleScene(rng, DefaultSampleOptions())
		tw, ok := SampleTwin(rng, s.Identity)
		if !ok {
			continue
		}
		found++
		if tw.Class == s.Identity.Class || tw.Reserved() {
			t.Fatalf("twin of %s: class %s, reserved %v", s.Identity.Key(), tw.Class.Name, tw.Reserved())
		}
		if tw.Primary != s.Identity.Primary || tw.Secondary != s.Identity.Secondary || tw.Pattern != s.Identity.Pattern || tw.Words() != s.Identity.Words() {
			t.Fatalf("twin %s of %s does not share the colours and pattern", tw.Key(), s.Identity.Key())
		}
	}
	if found < 250 {
		t.Errorf("only %d of 300 identities have a twin", found)
	}
}

func TestCaptionOmitContext(t *testing.T) {
	s := &Scene{Identity: SampleIdentity(rand.New(rand.NewPCG(1, 1)), ClassByName("dog"), false), Context: ContextByName("beach")}
	if s.Context == nil {
		t.Fatal("no beach context")
	}
	if got := s.Caption(CaptionOptions{}); got != "a dog "+s.Context.Phrase {
		t.Errorf("with the setting: %q", got)
	}
	if got := s.Caption(CaptionOptions{OmitContext: true}); got != "a dog" {
		t.Errorf("OmitContext on a scene setting: %q", got)
	}
}
