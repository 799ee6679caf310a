package reward

import (
	"image"
	"math"
	"testing"
)

// fakeEmbedder embeds an image by its first pixel and a text by its length,
// counting the texts it is asked for.
type fakeEmbedder struct{ texts []string }

func (f *fakeEmbedder) EmbedImages(imgs []*image.RGBA) ([][]float64, error) {
	out := make([][]float64, len(imgs))
	for i, im := range imgs {
		out[i] = []float64{float64(im.Pix[0]), float64(im.Pix[1])}
	}
	return out, nil
}

func (f *fakeEmbedder) EmbedTexts(ts []string) ([][]float64, error) {
	f.texts = append(f.texts, ts...)
	out := make([][]float64, len(ts))
	for i, t := range ts {
		out[i] = []float64{float64(len(t)), 1}
	}
	return out, nil
}

func pixel(r, g uint8) *image.RGBA {
	im := image.NewRGBA(image.Rect(0, 0, 1, 1))
	im.Pix[0], im.Pix[1] = r, g
	return im
}

// TestScorer: hand-checked ALIGN-I, ALIGN-T and r_0.5 of one image; each
// cleaned prompt is embedded once, whatever the number of calls.
func TestScorer(t *testing.T) {
	f := &fakeEmbedder{}
	s, err := NewScorer(f, []*image.RGBA{pixel(1, 0), pixel(0, 1)}, "sks")
	if err != nil {
		t.Fatal(err)
	}
	// image (1, 1): cos with (1,0) and (0,1) = 1/√2 each: ALIGN-I = (1/√2 + 1)/2
	// prompt "a dog" (5 letters): text (5, 1); cos((5,1),(1,1)) = 6/(√26·√2)
	for i := 0; i < 2; i++ {
		sc, err := s.Score([]*image.RGBA{pixel(1, 1)}, []string{"a sks dog"})
		if err != nil {
			t.Fatal(err)
		}
		wantI := (1/math.Sqrt2 + 1) / 2
		wantT := (6/(math.Sqrt(26)*math.Sqrt2) + 1) / 2
		if math.Abs(sc[0].AlignI-wantI) > 1e-12 || math.Abs(sc[0].AlignT-wantT) > 1e-12 {
			t.Fatalf("scores %+v, want %v %v", sc[0], wantI, wantT)
		}
		wantR := 1 / (0.5/(wantI+Guard) + 0.5/(wantT+Guard))
		if math.Abs(sc[0].Reward(0.5)-wantR) > 1e-12 {
			t.Fatalf("r_0.5 %v, want %v", sc[0].Reward(0.5), wantR)
		}
	}
	if len(f.texts) != 1 || f.texts[0] != "a dog" {
		t.Errorf("texts embedded: %q", f.texts)
	}
	if _, err := s.Score([]*image.RGBA{pixel(1, 1)}, nil); err == nil {
		t.Error("images and prompts of different lengths accepted")
	}
}
