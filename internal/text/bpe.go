package text

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

// BPE is CLIP's byte-level BPE tokenizer (the tokenizer of every Stable
// Diffusion 1.x/2.x model), read from a Hugging Face tokenizer directory:
// vocab.json, merges.txt and tokenizer_config.json (or
// special_tokens_map.json) for the padding token and the length. It encodes
// as openai CLIP's simple_tokenizer does: HTML entities unescaped twice,
// runs of whitespace made one space, lower case, split by CLIP's pattern,
// each piece's UTF-8 bytes mapped to printable characters and merged by
// rank; then <|startoftext|>, at most MaxLen−2 tokens, <|endoftext|>, and
// padding to MaxLen (diffusers' padding="max_length", truncation=True).
type BPE struct {
	MaxLen       int
	BOS, EOS     int
	PadID        int
	encoder      map[string]int
	ranks        map[[2]string]int
	byteEncoder  [256]string
	cache        map[string][]int
	vocabulary   int
	specialWords map[string]bool
}

// clipPattern is CLIP's token pattern (simple_tokenizer.py), case-insensitive.
var clipPattern = regexp.MustCompile(`(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`)

// LoadBPE reads a tokenizer directory.
func LoadBPE(dir string) (*BPE, error) {
	vf := filepath.Join(dir, "vocab.json")
	b, err := os.ReadFile(vf)
	if err != nil {
		return nil, fmt.Errorf("text: tokenizer: %w", err)
	}
	t := &BPE{MaxLen: 77, encoder: map[string]int{}, ranks: map[[2]string]int{}, cache: map[string][]int{}}
	if err := json.Unmarshal(b, &t.encoder); err != nil {
		return nil, fmt.Errorf("text: %s: %w", vf, err)
	}
	mf := filepath.Join(dir, "merges.txt")
	mb, err := os.ReadFile(mf)
	if err != nil {
		return nil, fmt.Errorf("text: tokenizer: %w", err)
	}
	rank := 0
	for i, line := range strings.Split(string(mb), "\n") {
		if line == "" || i == 0 && strings.HasPrefix(line, "#version") {
			continue
		}
		p := strings.Split(line, " ")
		if len(p) != 2 {
			return nil, fmt.Errorf("text: %s: line %d is not a pair of symbols: %q", mf, i+1, line)
		}
		t.ranks[[2]string{p[0], p[1]}] = rank
		rank++
	}
	for i, r := range bytesToUnicode() {
		t.byteEncoder[i] = string(r)
	}
	var ok bool
	if t.BOS, ok = t.encoder["<|startoftext|>"]; !ok {
		return nil, fmt.Errorf("text: %s has no <|startoftext|>", vf)
	}
	if t.EOS, ok = t.encoder["<|endoftext|>"]; !ok {
		return nil, fmt.Errorf("text: %s has no <|endoftext|>", vf)
	}
	t.specialWords = map[string]bool{"<|startoftext|>": true, "<|endoftext|>": true}
	for _, v := range t.encoder {
		t.vocabulary = max(t.vocabulary, v+1)
	}
	t.PadID = t.EOS
	pad, maxLen, err := tokenizerConfig(dir)
	if err != nil {
		return nil, err
	}
	if maxLen > 0 && maxLen < 1000 {
		t.MaxLen = maxLen
	}
	if pad != "" {
		id, ok := t.encoder[pad]
		if !ok {
			id, ok = t.encoder[pad+"</w>"]
		}
		if !ok {
			return nil, fmt.Errorf("text: %s: pad_token %q is not in %s", dir, pad, vf)
		}
		t.PadID = id
	}
	return t, nil
}

// tokenizerConfig reads pad_token and model_max_length from
// tokenizer_config.json, then special_tokens_map.json (either may be absent).
func tokenizerConfig(dir string) (pad string, maxLen int, err error) {
	for _, name := range []string{"tokenizer_config.json", "special_tokens_map.json"} {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			return "", 0, fmt.Errorf("text: %w", err)
		}
		var c map[string]any
		if err := json.Unmarshal(b, &c); err != nil {
			return "", 0, fmt.Errorf("text: %s: %w", p, err)
		}
		if pad == "" {
			switch v := c["pad_token"].(type) {
			case string:
				pad = v
			case map[string]any: // an AddedToken: {"content": "!", ...}
				pad, _ = v["content"].(string)
			}
		}
		if n, ok := c["model_max_length"].(float64); ok && maxLen == 0 {
			maxLen = int(n)
		}
	}
	return pad, maxLen, nil
}

// Size is the number of token ids.
func (t *BPE) Size() int { return t.vocabulary }

// Clean is CLIP's text normalisation: HTML entities unescaped (twice),
// whitespace runs made one space, trimmed, lower case. (openai CLIP also runs
// ftfy.fix_text, which only repairs mis-decoded Unicode; rpo does not.)
func Clean(s string) string {
	s = html.UnescapeString(html.UnescapeString(s))
	return strings.ToLower(strings.Join(strings.FieldsFunc(s, isPySpace), " "))
}

// isPySpace is Python's str.isspace: Unicode White_Space plus the
// information separators U+001C–U+001F.
func isPySpace(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }

// Tokens returns the BPE ids of a prompt without BOS, EOS or padding.
func (t *BPE) Tokens(prompt string) []int {
	var ids []int
	for _, piece := range clipPattern.FindAllString(Clean(prompt), -1) {
		if t.specialWords[piece] {
			ids = append(ids, t.encoder[piece])
			continue
		}
		if c, ok := t.cache[piece]; ok {
			ids = append(ids, c...)
			continue
		}
		var sb strings.Builder
		for _, c := range []byte(piece) {
			sb.WriteString(t.byteEncoder[c])
		}
		var out []int
		for _, w := range t.merge(sb.String()) {
			out = append(out, t.encoder[w])
		}
		if len(t.cache) < 100_000 {
			t.cache[piece] = out
		}
		ids = append(ids, out...)
	}
	return ids
}

// Encode returns MaxLen ids: BOS, the prompt's tokens (cut to MaxLen−2,
// reported as truncated), EOS, padding. A byte-level BPE knows every
// string, so unknown is always empty.
func (t *BPE) Encode(prompt string) (ids []int, unknown []string, truncated bool) {
	body := t.Tokens(prompt)
	if len(body) > t.MaxLen-2 {
		body, truncated = body[:t.MaxLen-2], true
	}
	ids = make([]int, 0, t.MaxLen)
	ids = append(append(append(ids, t.BOS), body...), t.EOS)
	for len(ids) < t.MaxLen {
		ids = append(ids, t.PadID)
	}
	return ids, nil, truncated
}

// merge applies the merges to one piece (its characters, the last marked
// as a word end with </w>) by rank, lowest first, as simple_tokenizer.bpe.
func (t *BPE) merge(piece string) []string {
	rs := []rune(piece)
	word := make([]string, len(rs))
	for i, r := range rs {
		word[i] = string(r)
	}
	word[len(word)-1] += "</w>"
	for len(word) > 1 {
		best, bestRank := -1, 0
		for i := 0; i+1 < len(word); i++ {
			if r, ok := t.ranks[[2]string{word[i], word[i+1]}]; ok && (best < 0 || r < bestRank) {
				best, bestRank = i, r
			}
		}
		if best < 0 {
			break
		}
		first, second := word[best], word[best+1]
		next := word[:0:0]
		for i := 0; i < len(word); {
			if i+1 < len(word) && word[i] == first && word[i+1] == second {
				next = append(next, first+second)
				i += 2
			} else {
				next = append(next, word[i])
				i++
			}
		}
		word = next
	}
	return word
}

// bytesToUnicode is GPT-2's reversible map from bytes to printable
// characters: printable Latin-1 bytes map to themselves, the rest to 256+n.
func bytesToUnicode() [256]rune {
	var m [256]rune
	var set [256]bool
	for _, rg := range [][2]int{{'!', '~'}, {0xa1, 0xac}, {0xae, 0xff}} {
		for b := rg[0]; b <= rg[1]; b++ {
			m[b], set[b] = rune(b), true
		}
	}
	n := 0
	for b := 0; b < 256; b++ {
		if !set[b] {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}
