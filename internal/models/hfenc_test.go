package models

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/oracle"
)

// parityPair compares two unit embeddings and also their difference, the
// part that depends on the input: with random weights a constant part
// (class token, biases) can dominate each vector.
func parityPair(t *testing.T, what string, got, want []float32, relTol float64) {
	t.Helper()
	h := len(want) / 2
	w := append(unit(want[:h]), unit(want[h:])...)
	parity(t, what, got, w, relTol)
	gd, wd := make([]float32, h), make([]float32, h)
	for i := range gd {
		gd[i], wd[i] = got[i]-got[h+i], w[i]-w[h+i]
	}
	parity(t, what+", difference of the two", gd, wd, 10*relTol)
	for k := 0; k < 2; k++ {
		var dot float64
		for i := 0; i < h; i++ {
			dot += float64(got[k*h+i]) * float64(w[k*h+i])
		}
		t.Logf("%s %d: cosine to the reference 1 − %.1e", what, k, 1-dot)
		if dot < 0.9999 {
			t.Errorf("%s %d: cosine %.6f to the reference", what, k, dot)
		}
	}
}

// embedPixels runs a transformers encoder's image program on two images
// pixels as the reference took them, and returns the unit embeddings, flat.
func embedPixels(t *testing.T, enc *Encoder, px []float32) []float32 {
	t.Helper()
	p, err := enc.imageProgram(2)
	if err != nil {
		t.Fatal(err)
	}
	copy(p.in.Data().([]float32), px)
	got, err := enc.runHF(p, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	return flatten(got)
}

func flatten(v [][]float64) []float32 {
	var out []float32
	for _, r := range v {
		for _, x := range r {
			out = append(out, float32(x))
		}
	}
	return out
}

// readPrompts reads an oracle directory's prompts.json.
func readPrompts(t *testing.T, dir string) []string {
	t.Helper()
	var prompts []string
	b, err := os.ReadFile(filepath.Join(dir, "prompts.json"))
	if err == nil {
		err = json.Unmarshal(b, &prompts)
	}
	if err != nil {
		t.Fatal(err)
	}
	return prompts
}

func unit(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / math.Sqrt(n))
	}
	return out
}

// TestEncodersMatchReferences loads a CLIPModel directory holding openai
// CLIP's weights and a ViTModel directory holding DINO's (written by the
// oracle under transformers' names) and compares the unit embeddings of
// the same pixels and prompts with openai CLIP's encode_image/encode_text
// and DINO's CLS output.
func TestEncodersMatchReferences(t *testing.T) { checkEncoders(t, oracle.Run(t, "encoders.py")) }

// TestEncodersFullSize is the same at CLIP ViT-B/16's (or B/32's) and DINO
// ViT-S/16's real shapes (make parity-full writes them and sets
// RPOTEST_ENC_FULL).
func TestEncodersFullSize(t *testing.T) {
	dir := os.Getenv("RPOTEST_ENC_FULL")
	if dir == "" {
		t.Skip("RPOTEST_ENC_FULL is not set (make parity-full)")
	}
	checkEncoders(t, dir)
}

func checkEncoders(t *testing.T, dir string) {
	e := expected(t, dir)
	clip, err := LoadTransformersEncoder(filepath.Join(dir, "clip"))
	if err != nil {
		t.Fatal(err)
	}
	defer clip.Close()
	parityPair(t, "CLIP image embedding", embedPixels(t, clip, e.Tensors["clip_pixels"].Float32s()), e.Tensors["clip_image"].Float32s(), 1e-4)
	txt, err := clip.EmbedTexts(readPrompts(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	parityPair(t, "CLIP text embedding", flatten(txt), e.Tensors["clip_text"].Float32s(), 1e-4)

	dino, err := LoadTransformersEncoder(filepath.Join(dir, "dino"))
	if err != nil {
		t.Fatal(err)
	}
	defer dino.Close()
	if dino.Dual() || !clip.Dual() {
		t.Errorf("dual: dino %v, clip %v", dino.Dual(), clip.Dual())
	}
	parityPair(t, "DINO CLS feature", embedPixels(t, dino, e.Tensors["dino_pixels"].Float32s()), e.Tensors["dino_cls"].Float32s(), 1e-4)
}

// TestPreprocessingMatchesPIL compares rpo's crop and resize of real photos
// (centre square, Catmull–Rom, antialiased) with CLIPImageProcessor's
// (shortest edge by PIL's bicubic, centre crop) at CLIP's 224 pixels.
func TestPreprocessingMatchesPIL(t *testing.T) {
	var photos []string
	if d := oracle.DreamBench(); d != "" {
		photos = []string{filepath.Join(d, "dog", "00.jpg"), filepath.Join(d, "backpack", "02.jpg"), filepath.Join(d, "cat", "01.jpg")}
	} else {
		photos = []string{filepath.Join(oracle.Root(), "testdata", "images", "cmyk.jpg")}
	}
	ref := oracle.Exec(t, "preprocess.py", append([]string{"224"}, photos...)...)
	f, err := ckpt.Read(filepath.Join(ref, "pixels.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range photos {
		img, err := imageio.Load(p, 224)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, 3*224*224)
		imageio.ToCHW(img, got)
		want := f.Tensors[fmt.Sprintf("image%d", i)].Float32s()
		var sum float64
		for j := range got {
			sum += math.Abs((float64(got[j])+1)*127.5 - float64(want[j]))
		}
		mean := sum / float64(len(got))
		t.Logf("%s: mean |Δ| %.3f/255 against PIL", filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p), mean)
		if mean > 1 {
			t.Errorf("%s: preprocessing differs from PIL's by %.2f/255 on average", p, mean)
		}
	}
}
