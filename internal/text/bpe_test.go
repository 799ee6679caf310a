package text

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
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
