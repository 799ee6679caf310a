package models

import (
	"bytes"
	"math"
	"path/filepath"
	"testing"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/diffusion"
)

func tinyT2I() T2IConfig { return TinyT2IConfig(8) }

func TestGenerateIsSeeded(t *testing.T) {
	m, err := NewT2I(tinyT2I(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := diffusion.Sampler{Steps: 3, Guidance: 7.5}
	a, err := m.Generate([]string{"a dog on the beach", "a red can"}, []uint64{1, 2}, s)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.Generate([]string{"a dog on the beach", "a red can"}, []uint64{1, 2}, s)
	c, _ := m.Generate([]string{"a dog on the beach", "a red can"}, []uint64{3, 2}, s)
	if !bytes.Equal(a[0].Pix, b[0].Pix) || !bytes.Equal(a[1].Pix, b[1].Pix) {
		t.Fatal("same prompt and seed, different images")
	}
	if bytes.Equal(a[0].Pix, c[0].Pix) {
		t.Error("different seeds, same image")
	}
	if !bytes.Equal(a[1].Pix, c[1].Pix) {
		t.Error("the second image changed with the first one's seed")
	}
}

func TestT2IModelDirRoundTrip(t *testing.T) {
	m, err := NewT2I(tinyT2I(), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dir := filepath.Join(t.TempDir(), "t2i")
	if err := m.Save(dir, ckpt.Provenance{Tool: "test"}); err != nil {
		t.Fatal(err)
	}
	l, err := LoadT2I(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := diffusion.Sampler{Steps: 2, Guidance: 1}
	a, _ := m.Generate([]string{"a sks dog"}, []uint64{7}, s)
	b, err := l.Generate([]string{"a sks dog"}, []uint64{7}, s)
	if err != nil {
		t.Fatal(err)
	}
	var diff float64
	for i := range a[0].Pix {
		diff += math.Abs(float64(a[0].Pix[i]) - float64(b[0].Pix[i]))
	}
	if diff /= float64(len(a[0].Pix)); diff > 2 {
		t.Errorf("mean pixel difference %.2f after the fp16 round trip", diff)
	}
	if _, err := LoadT2I(t.TempDir()); err == nil {
		t.Error("empty directory loaded")
	}
}
