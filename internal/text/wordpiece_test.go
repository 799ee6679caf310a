package text

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestWordPiece checks BertTokenizer's rules on a hand-made vocabulary;
// the expected pieces are worked out by hand from transformers'
// BasicTokenizer and WordpieceTokenizer (the "unwanted running" case is
// their docstring's own example).
func TestWordPiece(t *testing.T) {
	dir := t.TempDir()
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "photo", "of", "sks", "dog", "##s", "un", "##want", "##ed", ",", ".", "runn", "##ing", "cafe", "中", "b"}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(vocab, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"do_lower_case": true, "model_max_length": 8}`), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := LoadWordPiece(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"A photo of a sks dog.", []string{"a", "photo", "of", "a", "sks", "dog", "."}},
		{"UNwantéd,running", []string{"un", "##want", "##ed", ",", "runn", "##ing"}},
		{"dogs  Café", []string{"dog", "##s", "cafe"}},
		{"xyz dog", []string{"[UNK]", "dog"}},
		{"a中b", []string{"a", "中", "b"}},
		{"a\x00\tdog\u200b", []string{"a", "dog"}},
		{"[CLS] dog", []string{"[CLS]", "dog"}},
		{strings.Repeat("a", 101), []string{"[UNK]"}},
	} {
		if got := w.Tokens(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Tokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	ids, n := w.Encode("dogs")
	if want := []int{2, 8, 9, 3, 0, 0, 0, 0}; !reflect.DeepEqual(ids, want) || n != 4 {
		t.Errorf("Encode(dogs) = %v, %d; want %v, 4", ids, n, want)
	}
	ids, n = w.Encode("a a a a a a a a")
	if want := []int{2, 4, 4, 4, 4, 4, 4, 3}; !reflect.DeepEqual(ids, want) || n != 8 {
		t.Errorf("Encode(8 words) = %v, %d; want %v (truncated), 8", ids, n, want)
	}
	os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("a\nb\n"), 0o644)
	if _, err := LoadWordPiece(dir); err == nil || !strings.Contains(err.Error(), "[CLS]") {
		t.Errorf("a vocabulary without [CLS]: err %v", err)
	}
}
