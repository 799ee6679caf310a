package text

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"strings"
)

// clipVocab is CLIP's BPE vocabulary as openai/CLIP ships it
// (bpe_simple_vocab_16e6.txt.gz, MIT licence, bpe_simple_vocab_16e6.LICENSE):
// the vocabulary of every Stable Diffusion 1.x/2.x tokenizer, for
// single-file checkpoints, which carry no tokenizer.
//
//go:embed bpe_simple_vocab_16e6.txt.gz
var clipVocab []byte

// CLIPBPE is CLIP's tokenizer built from the embedded vocabulary, as
// simple_tokenizer.py builds it (the 256 byte symbols, each with </w>, the
// first 48,894 merges, <|startoftext|>, <|endoftext|>: 49,408 ids), padding
// with pad ("<|endoftext|>" for SD 1.x, "!" for SD 2.x) to 77 tokens.
func CLIPBPE(pad string) (*BPE, error) {
	zr, err := gzip.NewReader(bytes.NewReader(clipVocab))
	if err != nil {
		return nil, fmt.Errorf("text: the embedded CLIP vocabulary: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("text: the embedded CLIP vocabulary: %w", err)
	}
	lines := strings.Split(string(raw), "\n")[1 : 49152-256-2+1]
	t := &BPE{MaxLen: 77, encoder: map[string]int{}, ranks: map[[2]string]int{}, cache: map[string][]int{},
		specialWords: map[string]bool{"<|startoftext|>": true, "<|endoftext|>": true}}
	b2u := bytesToUnicode()
	for i, r := range b2u {
		t.byteEncoder[i] = string(r)
	}
	// in the order of bytes_to_unicode's dict: the printable bytes, then the rest
	var order []string
	for pass := 0; pass < 2; pass++ {
		for b, r := range b2u {
			if printable := rune(b) == r; printable == (pass == 0) {
				order = append(order, string(r))
			}
		}
	}
	vocab := append([]string(nil), order...)
	for _, r := range order {
		vocab = append(vocab, r+"</w>")
	}
	for i, l := range lines {
		p := strings.Split(l, " ")
		if len(p) != 2 {
			return nil, fmt.Errorf("text: the embedded CLIP vocabulary: merge %d is %q", i, l)
		}
		t.ranks[[2]string{p[0], p[1]}] = i
		vocab = append(vocab, p[0]+p[1])
	}
	vocab = append(vocab, "<|startoftext|>", "<|endoftext|>")
	for i, v := range vocab {
		t.encoder[v] = i
	}
	t.vocabulary = len(vocab)
	t.BOS, t.EOS = t.encoder["<|startoftext|>"], t.encoder["<|endoftext|>"]
	id, ok := t.encoder[pad]
	if !ok {
		return nil, fmt.Errorf("text: pad token %q is not in CLIP's vocabulary", pad)
	}
	t.PadID = id
	return t, nil
}
