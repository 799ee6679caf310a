package text

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// WordPiece is BERT's tokenizer (transformers' BertTokenizer, the text
// side of ALIGN), read from vocab.txt and tokenizer_config.json. It encodes
// as BertTokenizer does: control characters dropped and whitespace made
// spaces, CJK ideographs split apart, lower case with accents stripped
// (do_lower_case), punctuation split off, then each word matched greedily
// longest-first against the vocabulary, continuations prefixed "##", a word
// that cannot be matched (or longer than 100 characters) one [UNK]; then
// [CLS], at most MaxLen−2 tokens, [SEP], and [PAD] up to MaxLen (ALIGN's
// processor pads to max_length 64).
type WordPiece struct {
	MaxLen               int
	CLS, SEP, PadID, UNK int
	unk                  string
	lower, stripAccents  bool
	chinese              bool // split CJK ideographs into words of their own
	vocab                map[string]int
	size                 int
	never                map[string]bool // the special tokens, kept as they are
}

// BERT's word-piece constants (transformers' WordpieceTokenizer).
const (
	maxCharsPerWord = 100
	subwordPrefix   = "##"
)

// LoadWordPiece reads a BERT tokenizer directory (vocab.txt, and
// tokenizer_config.json when present).
func LoadWordPiece(dir string) (*WordPiece, error) {
	vf := filepath.Join(dir, "vocab.txt")
	f, err := os.Open(vf)
	if err != nil {
		return nil, fmt.Errorf("text: tokenizer: %w", err)
	}
	defer f.Close()
	w := &WordPiece{MaxLen: 64, lower: true, chinese: true, vocab: map[string]int{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		tok := strings.TrimRight(sc.Text(), "\r\n")
		if _, dup := w.vocab[tok]; !dup {
			w.vocab[tok] = w.size
		}
		w.size++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("text: %s: %w", vf, err)
	}
	var cfg struct {
		Lower        *bool  `json:"do_lower_case"`
		StripAccents *bool  `json:"strip_accents"`
		Chinese      *bool  `json:"tokenize_chinese_chars"`
		MaxLen       int    `json:"model_max_length"`
		CLS          string `json:"cls_token"`
		SEP          string `json:"sep_token"`
		Pad          string `json:"pad_token"`
		UNK          string `json:"unk_token"`
	}
	cf := filepath.Join(dir, "tokenizer_config.json")
	if b, err := os.ReadFile(cf); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return nil, fmt.Errorf("text: %s: %w", cf, err)
		}
	}
	if cfg.Lower != nil {
		w.lower = *cfg.Lower
	}
	w.stripAccents = w.lower // transformers: strip_accents None follows do_lower_case
	if cfg.StripAccents != nil {
		w.stripAccents = *cfg.StripAccents
	}
	if cfg.Chinese != nil {
		w.chinese = *cfg.Chinese
	}
	if cfg.MaxLen > 0 && cfg.MaxLen < 1<<20 { // transformers writes 1e30 for "no limit"
		w.MaxLen = cfg.MaxLen
	}
	w.never = map[string]bool{}
	for _, s := range []struct {
		name, def string
		dst       *int
	}{{cfg.CLS, "[CLS]", &w.CLS}, {cfg.SEP, "[SEP]", &w.SEP}, {cfg.Pad, "[PAD]", &w.PadID}, {cfg.UNK, "[UNK]", &w.UNK}} {
		tok := s.name
		if tok == "" {
			tok = s.def
		}
		id, ok := w.vocab[tok]
		if !ok {
			return nil, fmt.Errorf("text: %s has no %q token", vf, tok)
		}
		*s.dst = id
		w.never[tok] = true
		if s.dst == &w.UNK {
			w.unk = tok
		}
	}
	if w.MaxLen < 2 {
		return nil, fmt.Errorf("text: %s: model_max_length %d leaves no room for [CLS] and [SEP]", cf, w.MaxLen)
	}
	return w, nil
}

// Size is the vocabulary size.
func (w *WordPiece) Size() int { return w.size }

// Tokens returns the word pieces of s, without [CLS], [SEP] or padding.
func (w *WordPiece) Tokens(s string) []string {
	var out []string
	for _, word := range w.basic(s) {
		out = append(out, w.pieces(word)...)
	}
	return out
}

// Encode returns MaxLen ids ([CLS] … [SEP] [PAD]…) and how many of them
// are not padding (the attention mask's ones).
func (w *WordPiece) Encode(s string) (ids []int, length int) {
	toks := w.Tokens(s)
	if len(toks) > w.MaxLen-2 {
		toks = toks[:w.MaxLen-2]
	}
	ids = make([]int, 0, w.MaxLen)
	ids = append(ids, w.CLS)
	for _, t := range toks {
		id, ok := w.vocab[t]
		if !ok {
			id = w.UNK
		}
		ids = append(ids, id)
	}
	ids = append(ids, w.SEP)
	length = len(ids)
	for len(ids) < w.MaxLen {
		ids = append(ids, w.PadID)
	}
	return ids, length
}

// basic is BertTokenizer's BasicTokenizer: the words of s.
func (w *WordPiece) basic(s string) []string {
	var clean strings.Builder
	for _, r := range s {
		switch {
		case r == 0 || r == 0xfffd || isControl(r):
		case isWhitespace(r):
			clean.WriteByte(' ')
		case w.chinese && isCJK(r):
			clean.WriteByte(' ')
			clean.WriteRune(r)
			clean.WriteByte(' ')
		default:
			clean.WriteRune(r)
		}
	}
	s = norm.NFC.String(clean.String())
	var out []string
	for _, tok := range strings.Fields(s) {
		if !w.never[tok] {
			if w.lower {
				tok = strings.ToLower(tok)
			}
			if w.stripAccents {
				tok = stripAccents(tok)
			}
		}
		if w.never[tok] {
			out = append(out, tok)
			continue
		}
		start := 0
		rs := []rune(tok)
		for i, r := range rs {
			if isPunct(r) {
				if i > start {
					out = append(out, string(rs[start:i]))
				}
				out = append(out, string(r))
				start = i + 1
			}
		}
		if start < len(rs) {
			out = append(out, string(rs[start:]))
		}
	}
	return out
}

// pieces is WordPiece's greedy longest-match-first split of one word.
func (w *WordPiece) pieces(word string) []string {
	rs := []rune(word)
	if len(rs) > maxCharsPerWord {
		return []string{w.unk}
	}
	var out []string
	for start := 0; start < len(rs); {
		end := len(rs)
		cur := ""
		for ; end > start; end-- {
			sub := string(rs[start:end])
			if start > 0 {
				sub = subwordPrefix + sub
			}
			if _, ok := w.vocab[sub]; ok {
				cur = sub
				break
			}
		}
		if cur == "" {
			return []string{w.unk}
		}
		out = append(out, cur)
		start = end
	}
	return out
}

func stripAccents(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isWhitespace, isControl and isPunct are BERT's _is_whitespace,
// _is_control and _is_punctuation.
func isWhitespace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.Zs, r)
}

func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.C)
}

func isPunct(r rune) bool {
	if r >= 33 && r <= 47 || r >= 58 && r <= 64 || r >= 91 && r <= 96 || r >= 123 && r <= 126 {
		return true
	}
	return unicode.IsPunct(r)
}

func isCJK(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF || r >= 0x20000 && r <= 0x2A6DF ||
		r >= 0x2A700 && r <= 0x2B73F || r >= 0x2B740 && r <= 0x2B81F || r >= 0x2B820 && r <= 0x2CEAF ||
		r >= 0xF900 && r <= 0xFAFF || r >= 0x2F800 && r <= 0x2FA1F
}
