package world

import (
	"bytes"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rpo-dev/rpo/internal/dreambench"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/prompts"
)

func pngBytes(t *testing.T, img image.Image) []byte {
	b, err := imageio.EncodePNG(img)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSameSeedSameBytes: a scene drawn from a seed renders to the same
// bytes every time, through the pool of renderers too.
func TestSameSeedSameBytes(t *testing.T) {
	draw := func(seed uint64) [][]byte {
		rng := rand.New(rand.NewPCG(seed, 1))
		var out [][]byte
		for i := 0; i < 40; i++ {
			s, _ := SampleScene(rng, DefaultSampleOptions())
			out = append(out, pngBytes(t, s.Render()))
		}
		return out
	}
	a, b, c := draw(7), draw(7), draw(8)
	same := 0
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("scene %d differs between two runs of seed 7", i)
		}
		if bytes.Equal(a[i], c[i]) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d of 40 scenes identical under seeds 7 and 8", same)
	}
}

type template struct{ text, kind string }

func allTemplates(t *testing.T) []template {
	p, err := dreambench.ParsePrompts(strings.NewReader(prompts.DreamBench), "prompts_and_classes.txt")
	if err != nil {
		t.Fatal(err)
	}
	var ts []template
	for _, s := range p.Object {
		ts = append(ts, template{s, "object"})
	}
	for _, s := range p.Live {
		ts = append(ts, template{s, "live"})
	}
	for _, s := range prompts.TrainObject() {
		ts = append(ts, template{s, "object"})
	}
	for _, s := range prompts.TrainLive() {
		ts = append(ts, template{s, "live"})
	}
	return ts
}

// TestEveryPromptRenders: every template of prompts/, for every class of
// its kind, parses into a scene that shows each phrase (none falls back to
// a default), renders, and captions back to the same text.
func TestEveryPromptRenders(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	ts := allTemplates(t)
	if len(ts) != 25+25+8+8 {
		t.Fatalf("%d templates", len(ts))
	}
	for _, tp := range ts {
		for _, c := range Classes {
			if c.Live != (tp.kind == "live") {
				continue
			}
			text := dreambench.Format(tp.text, "sks", c.Name)
			p, err := ParsePrompt(text, "sks")
			if err != nil {
				t.Fatalf("%q: %v", text, err)
			}
			if p.Class != c || !p.Token {
				t.Fatalf("%q: class %v token %v", text, p.Class, p.Token)
			}
			if p.Context == nil && len(p.Modifiers) == 0 {
				t.Fatalf("%q: no phrase recognised", text)
			}
			s := p.Scene(SampleIdentity(rng, c, false), rng)
			if img := s.Render(); img.Bounds().Dx() != Size {
				t.Fatalf("%q: %v", text, img.Bounds())
			}
			if got := s.Caption(CaptionOptions{Token: "sks", OmitContext: p.Context == nil}); got != text {
				t.Fatalf("caption %q of prompt %q", got, text)
			}
		}
	}
}

func TestParsePromptErrors(t *testing.T) {
	for text, says := range map[string]string{
		"a dog on Mars":    `unknown phrase "on mars"`,
		"a fluffy dog":     `unknown words "fluffy"`,
		"the dog":          `does not start with "a"`,
		"a red purple dog": "two modifiers of one kind",
		"a red":            "names no class",
	} {
		_, err := ParsePrompt(text, "sks")
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%q: %v (want %q)", text, err, says)
		}
	}
}

// TestCaptionsRoundTrip: captions of pretraining scenes use only the
// vocabulary and parse back to the scene's class, setting and modifiers.
func TestCaptionsRoundTrip(t *testing.T) {
	vocab := map[string]bool{}
	for _, w := range Vocabulary() {
		vocab[w] = true
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for i := 0; i < 2000; i++ {
		s, o := SampleScene(rng, DefaultSampleOptions())
		text := s.Caption(o)
		for _, w := range strings.Fields(text) {
			if !vocab[strings.ToLower(w)] {
				t.Fatalf("%q: word %q not in the vocabulary", text, w)
			}
		}
		p, err := ParsePrompt(text, "")
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if p.Class != s.Identity.Class || (p.Context != nil && p.Context != s.Context) || (p.Context == nil && !(o.OmitContext && s.Context.Reference)) {
			t.Fatalf("%q parsed to %v / %v", text, p.Class.Name, p.Context)
		}
		// a one-colour identity word that is also a recolour modifier
		// ("a red vase") parses as the modifier: the same picture
		if len(p.Modifiers) == len(s.Modifiers)+1 && s.Modifier(Recolour) == nil {
			for i, m := range p.Modifiers {
				if m.Kind == Recolour && m.colour == s.Identity.Primary && o.IdentityWords {
					p.Modifiers = append(p.Modifiers[:i:i], p.Modifiers[i+1:]...)
					p.Identity = m.Phrase
					break
				}
			}
		}
		if len(p.Modifiers) != len(s.Modifiers) {
			t.Fatalf("%q: %d modifiers parsed, scene has %d", text, len(p.Modifiers), len(s.Modifiers))
		}
		if o.IdentityWords && s.Modifier(Recolour) == nil && p.Identity != s.Identity.Words() {
			t.Fatalf("%q: identity words %q, want %q", text, p.Identity, s.Identity.Words())
		}
	}
}

// TestReservedRegion: pretraining never samples a reserved identity;
// MiniDreamBench only uses reserved ones, distinct within a variant, and
// variants differ.
func TestReservedRegion(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 5000; i++ {
		s, _ := SampleScene(rng, DefaultSampleOptions())
		if s.Identity.Reserved() {
			t.Fatalf("pretraining sampled reserved identity %s", s.Identity.Key())
		}
	}
	v0, v1 := MiniDreamBench(0), MiniDreamBench(1)
	keys := map[string]bool{}
	differ := 0
	for i, s := range v0 {
		if !s.Identity.Reserved() || !v1[i].Identity.Reserved() {
			t.Fatalf("%s is not reserved", s.Name)
		}
		if keys[s.Identity.Key()] {
			t.Fatalf("%s repeats an identity", s.Name)
		}
		keys[s.Identity.Key()] = true
		if s.Identity.Key() != v1[i].Identity.Key() {
			differ++
		}
	}
	if differ < 20 {
		t.Errorf("variants 0 and 1 differ on only %d subjects", differ)
	}
}

// TestMiniDreamBenchIsDreamBench: the same 30 names, classes and reference
// counts as DreamBench.
func TestMiniDreamBenchIsDreamBench(t *testing.T) {
	p, err := dreambench.ParsePrompts(strings.NewReader(prompts.DreamBench), "prompts")
	if err != nil {
		t.Fatal(err)
	}
	subs := MiniDreamBench(0)
	if len(subs) != len(p.Classes) || len(subs) != 30 {
		t.Fatalf("%d subjects, DreamBench has %d", len(subs), len(p.Classes))
	}
	real, _ := dreambench.Load("../../../shared/dreambench/dataset")
	for i, s := range subs {
		if s.Name != p.Classes[i].Subject || s.Class.Name != p.Classes[i].Class {
			t.Errorf("subject %d: %s/%s, DreamBench %s/%s", i, s.Name, s.Class.Name, p.Classes[i].Subject, p.Classes[i].Class)
		}
		if real != nil && len(real.Subjects[i].Images) != s.Refs {
			t.Errorf("%s: %d references, DreamBench has %d", s.Name, s.Refs, len(real.Subjects[i].Images))
		}
	}
}

// TestExportLoadRoundTrip: an exported MiniDreamBench loads with the
// DreamBench loader and its PNGs are the rendered references.
func TestExportLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if err := Export(dir, 2); err != nil {
		t.Fatal(err)
	}
	b, err := dreambench.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	subs := MiniDreamBench(2)
	if len(b.Subjects) != 30 || len(b.Prompts.Object) != 25 || len(b.Prompts.Live) != 25 {
		t.Fatalf("%d subjects, %d/%d prompts", len(b.Subjects), len(b.Prompts.Object), len(b.Prompts.Live))
	}
	for i, s := range b.Subjects {
		if s.Name != subs[i].Name || s.Class != subs[i].Class.Name || len(s.Images) != subs[i].Refs {
			t.Fatalf("%+v vs %s", s, subs[i].Name)
		}
	}
	f, err := os.ReadFile(filepath.Join(dir, "dog3", "01.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	dog3, _ := SubjectByName(2, "dog3")
	if !bytes.Equal(img.(*image.RGBA).Pix, dog3.References()[1].Render().Pix) {
		t.Error("exported dog3/01.png is not the rendered reference")
	}
}

func TestVocabularyIsClosedAndSorted(t *testing.T) {
	v := Vocabulary()
	if !sort.StringsAreSorted(v) || len(v) < 100 {
		t.Fatalf("%d words", len(v))
	}
	for _, w := range []string{"sks", "photo", "jungle", "monocle", "vincent", "checkered", "stuffed"} {
		i := sort.SearchStrings(v, w)
		if found := i < len(v) && v[i] == w; found != (w != "sks") {
			t.Errorf("word %q: in vocabulary = %v", w, found)
		}
	}
}
