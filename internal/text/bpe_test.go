package text

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rpo-dev/rpo/internal/oracle"
)

// TestBPEMatchesCLIP encodes strings (ASCII, case, punctuation, digits,
// accents, emoji, CJK, HTML entities, contractions, special tokens and an
// over-long prompt) with the real CLIP vocabulary and compares every id with
// openai CLIP's tokenizer (the oracle), padded and cut as diffusers does.
func TestBPEMatchesCLIP(t *testing.T) {
	for _, variant := range []string{"sd1", "sd2"} {
		dir := oracle.TinySD(t, variant)
		tk, err := LoadBPE(filepath.Join(dir, "model", "tokenizer"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "tokens.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cases []struct {
			Text string `json:"text"`
			IDs  []int  `json:"ids"`
		}
		if err := json.Unmarshal(b, &cases); err != nil {
			t.Fatal(err)
		}
		if len(cases) < 10 || tk.Size() != 49408 {
			t.Fatalf("%d cases, vocabulary %d", len(cases), tk.Size())
		}
		for _, c := range cases {
			got, unknown, trunc := tk.Encode(c.Text)
			if !slices.Equal(got, c.IDs) || len(unknown) > 0 {
				t.Errorf("%s: %q:\n got %v\nwant %v", variant, c.Text, got, c.IDs)
			}
			if want := len(tk.Tokens(c.Text)) > 75; trunc != want {
				t.Errorf("%q: truncated %v, want %v", c.Text, trunc, want)
			}
		}
	}
}

// TestEmbeddedCLIPVocabulary checks that the embedded vocabulary gives the
// tokenizer directory's ids (derived by the oracle the way the Hugging Face
// files were) on every test string.
func TestEmbeddedCLIPVocabulary(t *testing.T) {
	dir := oracle.TinySD(t, "sd1")
	want, err := LoadBPE(filepath.Join(dir, "model", "tokenizer"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := CLIPBPE("<|endoftext|>")
	if err != nil {
		t.Fatal(err)
	}
	if got.Size() != 49408 || got.PadID != 49407 {
		t.Fatalf("size %d, pad %d", got.Size(), got.PadID)
	}
	for _, s := range []string{"a photo of a sks dog", "café naïve 🐶 don't 3.14", "日本語 <|endoftext|>", strings.Repeat("a ", 90)} {
		a, _, _ := got.Encode(s)
		b, _, _ := want.Encode(s)
		if !slices.Equal(a, b) {
			t.Errorf("%q: %v, want %v", s, a, b)
		}
	}
	if sd2, _ := CLIPBPE("!"); sd2 == nil || sd2.PadID != 0 {
		t.Errorf("SD 2.x padding id wrong")
	}
}
