package world

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
)

// CaptionOptions choose the optional parts of a caption.
type CaptionOptions struct {
	Token         string // unique identifier before the class noun ("sks"), or ""
	IdentityWords bool   // name the identity's colours and pattern
	OmitContext   bool   // leave out the setting phrase (the pretraining sampler does for plain reference settings; encoder training for any, "a dog" for a dog on the beach)
	PhotoOf       bool   // "a photo of ..." (the instance-prompt grammar)
}

// Caption writes the scene in the DreamBench grammar:
//
//	a [shiny|wet] [red|purple|green] [cube shaped] [identity words] [token] <class> [accessory] [setting] [style]
//
// for example "a dog on the beach", "a red sks backpack", "a cat wearing a
// santa hat", "a brown and white spotted dog in the snow".
func (s *Scene) Caption(o CaptionOptions) string {
	var w []string
	if o.PhotoOf {
		w = append(w, "a photo of")
		if o.Token == "" {
			w = append(w, "a")
		}
	} else {
		w = append(w, "a")
	}
	for _, k := range []ModKind{Material, Recolour, Shape} {
		if m := s.Modifier(k); m != nil {
			w = append(w, m.Phrase)
		}
	}
	if o.IdentityWords && s.Modifier(Recolour) == nil {
		w = append(w, s.Identity.Words())
	}
	if o.Token != "" {
		w = append(w, o.Token)
	}
	w = append(w, s.Identity.Class.Name)
	if m := s.Modifier(Accessory); m != nil {
		w = append(w, m.Phrase)
	}
	if !o.OmitContext {
		w = append(w, s.Context.Phrase)
	}
	if m := s.Modifier(Style); m != nil {
		w = append(w, m.Phrase)
	}
	return strings.Join(w, " ")
}

// Prompt is what a caption says: the class, the setting (nil when the
// prompt names none), the modifiers, and whether it carried the token.
type Prompt struct {
	Class     *Class
	Context   *Context
	Modifiers []*Modifier
	Token     bool
	Identity  string // identity words, if any ("brown and white spotted")
}

// ParsePrompt reads a caption of the DreamBench grammar. token is the
// unique identifier that may stand before the class noun ("" for none). A
// phrase the world does not know is an error that quotes it: no prompt
// silently falls back to a default.
func ParsePrompt(text, token string) (*Prompt, error) {
	rest := strings.TrimSpace(strings.ToLower(text))
	p := &Prompt{}
	switch {
	case strings.HasPrefix(rest, "a photo of a "):
		rest = rest[len("a photo of a "):]
	case strings.HasPrefix(rest, "a photo of "):
		rest = rest[len("a photo of "):]
	case strings.HasPrefix(rest, "a "):
		rest = rest[2:]
	case strings.HasPrefix(rest, "an "):
		rest = rest[3:]
	default:
		return nil, fmt.Errorf("world: prompt %q does not start with \"a\"", text)
	}
	// prefix words up to the class noun
	for p.Class == nil {
		if rest == "" {
			return nil, fmt.Errorf("world: prompt %q names no class (one of %s)", text, classList())
		}
		if c := longestClass(rest); c != nil {
			p.Class = c
			rest = strings.TrimSpace(rest[len(c.Name):])
			break
		}
		if token != "" && strings.HasPrefix(rest, token+" ") {
			p.Token = true
			rest = rest[len(token)+1:]
			continue
		}
		if words, n := identityPrefix(rest); n > 0 && strings.Contains(words, " and ") {
			p.Identity = words
			rest = strings.TrimSpace(rest[n:])
			continue
		}
		if m := prefixModifier(rest); m != nil {
			p.Modifiers = append(p.Modifiers, m)
			rest = strings.TrimSpace(rest[len(m.Phrase):])
			continue
		}
		if words, n := identityPrefix(rest); n > 0 {
			p.Identity = words
			rest = strings.TrimSpace(rest[n:])
			continue
		}
		return nil, fmt.Errorf("world: prompt %q: unknown words %q before the class", text, firstWord(rest))
	}
	// suffix phrases
	for rest != "" {
		matched := false
		for _, m := range Modifiers {
			if !m.Prefix() && strings.HasPrefix(rest, strings.ToLower(m.Phrase)) {
				p.Modifiers = append(p.Modifiers, m)
				rest = strings.TrimSpace(rest[len(m.Phrase):])
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		if c := longestContext(rest); c != nil && p.Context == nil {
			p.Context = c
			rest = strings.TrimSpace(rest[len(c.Phrase):])
			continue
		}
		return nil, fmt.Errorf("world: prompt %q: unknown phrase %q after the class", text, rest)
	}
	var seen [numModKinds]bool
	for _, m := range p.Modifiers {
		if seen[m.Kind] {
			return nil, fmt.Errorf("world: prompt %q has two modifiers of one kind", text)
		}
		seen[m.Kind] = true
	}
	return p, nil
}

func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}

// hasPhrase reports whether s starts with phrase as whole words.
func hasPhrase(s, phrase string) bool {
	return strings.HasPrefix(s, phrase) && (len(s) == len(phrase) || s[len(phrase)] == ' ')
}

func longestClass(s string) *Class {
	var best *Class
	for _, c := range Classes {
		if hasPhrase(s, c.Name) && (best == nil || len(c.Name) > len(best.Name)) {
			best = c
		}
	}
	return best
}

func longestContext(s string) *Context {
	var best *Context
	for _, c := range Contexts {
		if hasPhrase(s, strings.ToLower(c.Phrase)) && (best == nil || len(c.Phrase) > len(best.Phrase)) {
			best = c
		}
	}
	return best
}

func prefixModifier(s string) *Modifier {
	for _, m := range Modifiers {
		if m.Prefix() && hasPhrase(s, m.Phrase) {
			return m
		}
	}
	return nil
}

// identityPrefix matches "<colour>" or "<colour> and <colour> <pattern>".
func identityPrefix(s string) (string, int) {
	w := strings.Fields(s)
	if len(w) == 0 || colourByName(w[0]) < 0 {
		return "", 0
	}
	if len(w) >= 4 && w[1] == "and" && colourByName(w[2]) >= 0 && patternByWord(w[3]) >= 0 {
		words := strings.Join(w[:4], " ")
		return words, len(words)
	}
	return w[0], len(w[0])
}

func colourByName(n string) Colour {
	for c := Colour(0); c < numColours; c++ {
		if c.String() == n {
			return c
		}
	}
	return -1
}

func patternByWord(n string) Pattern {
	for p := Pattern(0); p < numPatterns; p++ {
		if p.String() == n {
			return p
		}
	}
	return -1
}

func classList() string {
	names := make([]string, len(Classes))
	for i, c := range Classes {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// Vocabulary is the world's closed vocabulary: every word a caption can
// hold (without the unique token), lower-case, sorted. Captions keep
// proper nouns capitalised ("the Eiffel Tower"); tokenizers lower-case.
func Vocabulary() []string {
	set := map[string]bool{"a": true, "photo": true, "of": true, "and": true}
	add := func(s string) {
		for _, w := range strings.Fields(strings.ToLower(s)) {
			set[w] = true
		}
	}
	for _, c := range Classes {
		add(c.Name)
	}
	for _, c := range Contexts {
		add(c.Phrase)
	}
	for _, m := range Modifiers {
		add(m.Phrase)
	}
	for c := Colour(0); c < numColours; c++ {
		add(c.String())
	}
	for p := Pattern(0); p < numPatterns; p++ {
		add(p.String())
	}
	out := make([]string, 0, len(set))
	for w := range set {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// Scene returns a scene that shows the prompt with identity id (whose class
// must be the prompt's), camera and scenery drawn from rng. A prompt without
// a setting gets a reference setting.
func (p *Prompt) Scene(id Identity, rng *rand.Rand) *Scene {
	ctx := p.Context
	if ctx == nil {
		refs := ReferenceContexts()
		ctx = refs[rng.IntN(len(refs))]
	}
	return &Scene{Identity: id, Context: ctx, Modifiers: append([]*Modifier(nil), p.Modifiers...), Camera: SampleCamera(rng), Seed: rng.Uint64()}
}

// SampleCamera draws a camera: offset ±0.12, scale 0.8–1.1, rotation ±8°,
// flipped half the time.
func SampleCamera(rng *rand.Rand) Camera {
	return Camera{X: (rng.Float64() - 0.5) * 0.24, Scale: 0.8 + rng.Float64()*0.3, Rot: (rng.Float64() - 0.5) * 0.28, Flip: rng.IntN(2) == 0}
}
