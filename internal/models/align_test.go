package models

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/oracle"
)

// TestAlignMatchesTwin loads an AlignModel directory written by the oracle
// (random weights under transformers' names; the script first checks its
// EfficientNet against torchvision's and its BERT layers against
// torch.nn.TransformerEncoderLayer) and compares rpo's unit image and text
// embeddings, and its token ids, with the twin's.
func TestAlignMatchesTwin(t *testing.T) { checkAlign(t, oracle.Run(t, "align.py")) }

// TestAlignFullSize is the same at align-base's shapes (EfficientNet-B7 at
// 289 pixels, BERT-base); make parity-full writes them and sets
// RPOTEST_ALIGN_FULL.
func TestAlignFullSize(t *testing.T) {
	dir := os.Getenv("RPOTEST_ALIGN_FULL")
	if dir == "" {
		t.Skip("RPOTEST_ALIGN_FULL is not set (make parity-full)")
	}
	checkAlign(t, dir)
}

func checkAlign(t *testing.T, dir string) {
	e := expected(t, dir)
	enc, err := LoadTransformersEncoder(filepath.Join(dir, "align"))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if !enc.Dual() {
		t.Fatal("ALIGN is not dual")
	}
	parityPair(t, "ALIGN image embedding", embedPixels(t, enc, e.Tensors["align_pixels"].Float32s()), e.Tensors["align_image"].Float32s(), 1e-4)
	prompts := readPrompts(t, dir)
	ids := e.Tensors["align_ids"].Float32s()
	for i, s := range prompts {
		got, _ := enc.hf.align.wp.Encode(s)
		for j, id := range got {
			if float32(id) != ids[i*len(got)+j] {
				t.Fatalf("prompt %q: token %d is %d, the reference %g", s, j, id, ids[i*len(got)+j])
			}
		}
	}
	txt, err := enc.EmbedTexts(prompts)
	if err != nil {
		t.Fatal(err)
	}
	parityPair(t, "ALIGN text embedding", flatten(txt), e.Tensors["align_text"].Float32s(), 1e-4)
}

// TestAlignPreprocessingMatchesPIL compares rpo's ALIGN preprocessing
// (align-base's preprocessor_config.json: 346×346 bilinear, centre crop
// 289, (v − 127.5)/127.5) of real photos with EfficientNetImageProcessor's
// by PIL.
func TestAlignPreprocessingMatchesPIL(t *testing.T) {
	var photos []string
	if d := oracle.DreamBench(); d != "" {
		photos = []string{filepath.Join(d, "dog", "00.jpg"), filepath.Join(d, "backpack", "02.jpg"), filepath.Join(d, "cat", "01.jpg")}
	} else {
		photos = []string{filepath.Join(oracle.Root(), "testdata", "images", "cmyk.jpg")}
	}
	ref := oracle.Exec(t, "align.py", photos...)
	f, err := ckpt.Read(filepath.Join(ref, "pixels.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var pp EfficientNetPreprocess
	if err := readJSON(filepath.Join(ref, "align", "preprocessor_config.json"), &pp); err != nil {
		t.Fatal(err)
	}
	pp.Size.Height, pp.Size.Width, pp.CropSize.Height, pp.CropSize.Width = 346, 346, 289, 289 // align-base's
	pix, err := resolveAlignPixels(&pp, "align-base")
	if err != nil {
		t.Fatal(err)
	}
	a := &alignModel{pix: pix}
	for i, p := range photos {
		img, err := imageio.Load(p, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, 3*289*289)
		a.pixels(img, got)
		want := f.Tensors[fmt.Sprintf("image%d", i)].Float32s()
		var sum float64
		for j := range got {
			sum += math.Abs(float64(got[j]-want[j])) * 127.5
		}
		mean := sum / float64(len(got))
		t.Logf("%s: mean |Δ| %.3f/255 against PIL", filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p), mean)
		if mean > 1 {
			t.Errorf("%s: preprocessing differs from PIL's by %.2f/255 on average", p, mean)
		}
	}
}
