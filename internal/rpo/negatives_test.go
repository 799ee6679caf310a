package rpo

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
)

// TestNegativesCache: a second call samples nothing (it returns what is on
// disk under each key), and a manifest that lost its entries (overwritten by
// a concurrent run) neither hides a cached image nor stays incomplete.
func TestNegativesCache(t *testing.T) {
	base, err := models.NewT2I(models.TinyT2IConfig(16), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	cache, s := t.TempDir(), diffusion.Sampler{Steps: 2, Guidance: 7.5}
	ps := []string{"a sks dog on the beach", "a sks dog in the snow"}
	first, err := Negatives(base, "tiny", ps, 2, 4, s, cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 4 || first[0].Image == nil || first[3].Seed != 5 || first[2].Prompt != ps[1] {
		t.Fatalf("negatives: %+v", first)
	}
	// mark each cached file, and drop the manifest's entries
	marked := image.NewRGBA(image.Rect(0, 0, 16, 16))
	draw.Draw(marked, marked.Bounds(), image.NewUniform(color.RGBA{200, 200, 200, 255}), image.Point{}, draw.Src)
	for _, n := range first {
		if err := imageio.SavePNG(filepath.Join(cache, n.File), marked); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(cache, "negatives.json"), []byte(`{"negatives": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := Negatives(base, "tiny", ps, 2, 4, s, cache)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range again {
		if n.Key != first[i].Key || n.Image.RGBAAt(3, 3) != (color.RGBA{200, 200, 200, 255}) {
			t.Errorf("negative %d was sampled again, not read from the cache: %s %s %v", i, n.Key, first[i].Key, n.Image.RGBAAt(3, 3))
		}
	}
	man, err := os.ReadFile(filepath.Join(cache, "negatives.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range first {
		if !strings.Contains(string(man), n.Key) {
			t.Errorf("manifest lacks %s after the second call", n.Key)
		}
	}
	// another sampler is another key: sampled, not read
	other, err := Negatives(base, "tiny", ps[:1], 1, 4, diffusion.Sampler{Steps: 3, Guidance: 7.5}, cache)
	if err != nil {
		t.Fatal(err)
	}
	if other[0].Key == first[0].Key || other[0].Image.RGBAAt(3, 3) == (color.RGBA{200, 200, 200, 255}) {
		t.Errorf("another sampler's negative came from the cache")
	}
}

// TestNegativesProgress: the sampler's progress runs over every batch of
// missing negatives (10 negatives: two batches of two steps), and the
// images are those of a run without it.
func TestNegativesProgress(t *testing.T) {
	base, err := models.NewT2I(models.TinyT2IConfig(16), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	var got [][2]int
	s := diffusion.Sampler{Steps: 2, Guidance: 7.5, Progress: func(d, n int) { got = append(got, [2]int{d, n}) }}
	ps := []string{"a sks dog on the beach", "a sks dog in the snow"}
	negs, err := Negatives(base, "tiny", ps, 5, 4, s, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{1, 4}, {2, 4}, {3, 4}, {4, 4}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("progress %v, want %v", got, want)
	}
	s.Progress = nil
	plain, err := Negatives(base, "tiny", ps, 5, 4, s, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i := range negs {
		if fmt.Sprint(negs[i].Image.Pix) != fmt.Sprint(plain[i].Image.Pix) {
			t.Fatalf("negative %d differs with a progress display", i)
		}
	}
}

// TestNegativesTwoAtATime: three batches of 8, sampled two at a time by the
// model and a replica of it, are the images the model samples batch by
// batch, and the progress reports reach the total once.
func TestNegativesTwoAtATime(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one core: batches one at a time")
	}
	base, err := models.NewT2I(models.TinyT2IConfig(16), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	var ps []string
	for i := 0; i < 5; i++ {
		ps = append(ps, fmt.Sprintf("a sks dog %d", i))
	}
	var mu sync.Mutex
	last, total := 0, 0
	s := diffusion.Sampler{Steps: 2, Guidance: 7.5, Progress: func(d, n int) { mu.Lock(); last, total = max(last, d), n; mu.Unlock() }}
	got, err := Negatives(base, "tiny", ps, 4, 9, s, t.TempDir()) // 20 images: batches of 8, 8, 4
	if err != nil {
		t.Fatal(err)
	}
	if last != total || total != 3*2 {
		t.Errorf("progress ended at %d of %d, want 6 of 6", last, total)
	}
	s.Progress = nil
	for b := 0; b < len(got); b += 8 {
		var bp []string
		var seeds []uint64
		for _, n := range got[b:min(b+8, len(got))] {
			bp, seeds = append(bp, n.Prompt), append(seeds, n.Seed)
		}
		want, err := base.Generate(bp, seeds, s)
		if err != nil {
			t.Fatal(err)
		}
		for j, w := range want {
			if !bytes.Equal(w.Pix, got[b+j].Image.Pix) {
				t.Errorf("negative %d (%q, seed %d) differs from the model's batch-by-batch sample", b+j, bp[j], seeds[j])
			}
		}
	}
}
