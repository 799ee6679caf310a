// Package text is the text side of the embedded models: a closed-vocabulary
// word tokenizer over the procedural world's vocabulary plus reserved rare
// identifier tokens, and the small transformer text encoder whose token
// outputs condition the U-Net by cross-attention.
package text

import (
	"sort"
	"strings"

	"github.com/rpo-dev/rpo/internal/world"
)

// Special token ids.
const (
	Pad = 0 // padding after the end
	BOS = 1 // start of text
	EOS = 2 // end of text
	Unk = 3 // a word outside the vocabulary (reported, never silently dropped)
)

// Identifiers are rare tokens that pretraining never shows the model, kept
// for subject identifiers ("a sks dog"), as DreamBooth uses rare tokens.
var Identifiers = []string{"sks", "ohwx", "zwx", "qxv", "vbq"}

// Tokenizer maps prompts to fixed-length id sequences.
type Tokenizer struct {
	MaxLen int
	words  []string
	ids    map[string]int
}

// NewTokenizer builds the tokenizer of the world's vocabulary (sorted),
// after the four special tokens and the identifiers.
func NewTokenizer(maxLen int) *Tokenizer {
	t := &Tokenizer{MaxLen: maxLen, ids: map[string]int{}}
	t.words = append([]string{"<pad>", "<bos>", "<eos>", "<unk>"}, Identifiers...)
	vocab := world.Vocabulary()
	sort.Strings(vocab)
	t.words = append(t.words, vocab...)
	for i, w := range t.words {
		t.ids[w] = i
	}
	return t
}

// Size is the number of token ids.
func (t *Tokenizer) Size() int { return len(t.words) }

// Words splits a prompt into lower-case words, dropping punctuation.
func Words(prompt string) []string {
	return strings.FieldsFunc(strings.ToLower(prompt), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}

// Encode returns <bos> words <eos> <pad>..., MaxLen ids, and the words it
// did not know (encoded as <unk>). Words past MaxLen−2 are cut and reported
// as truncated.
func (t *Tokenizer) Encode(prompt string) (ids []int, unknown []string, truncated bool) {
	ids = make([]int, t.MaxLen)
	ids[0] = BOS
	n := 1
	for _, w := range Words(prompt) {
		if n >= t.MaxLen-1 {
			truncated = true
			break
		}
		id, ok := t.ids[w]
		if !ok {
			id = Unk
			unknown = append(unknown, w)
		}
		ids[n] = id
		n++
	}
	ids[n] = EOS
	return ids, unknown, truncated
}

// Decode writes ids back as words (without special tokens).
func (t *Tokenizer) Decode(ids []int) string {
	var w []string
	for _, id := range ids {
		if id == EOS {
			break
		}
		if id > Unk && id < len(t.words) {
			w = append(w, t.words[id])
		} else if id == Unk {
			w = append(w, "<unk>")
		}
	}
	return strings.Join(w, " ")
}
