package ckpt

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/nn"
)

func sample() *File {
	return &File{
		Metadata: map[string]string{"format": "pt", "step": "40"},
		Tensors: map[string]Tensor{
			"b.bias":   Encode(F32, []int{3}, []float64{1, -2.5, 3.25}),
			"a.weight": Encode(F32, []int{2, 2}, []float64{0.1, 0.2, 0.3, 0.4}),
			"scalar":   Encode(F32, []int{}, []float64{7}),
		},
	}
}

// TestKnownBytes pins the layout to the safetensors spec on a hand-built file.
func TestKnownBytes(t *testing.T) {
	f := &File{Tensors: map[string]Tensor{"x": Encode(F32, []int{1}, []float64{1})}}
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	header := `{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	for len(header)%8 != 0 {
		header += " "
	}
	if n := binary.LittleEndian.Uint64(b); n != uint64(len(header)) || string(b[8:8+n]) != header {
		t.Fatalf("header %q (%d)", b[8:8+n], n)
	}
	if got := b[8+len(header):]; len(got) != 4 || binary.LittleEndian.Uint32(got) != 0x3f800000 {
		t.Fatalf("data % x", got)
	}
}

func TestRoundTripEachDtype(t *testing.T) {
	vals := []float64{0, 1, -1, 0.5, 3.14159, -1234.5, 1e-3, 65504}
	for _, c := range []struct {
		d   DType
		tol float64 // relative
	}{{F32, 1e-7}, {F64, 0}, {F16, 1e-3}, {BF16, 1.0 / 128}} {
		f := &File{Metadata: map[string]string{"dtype": string(c.d)}, Tensors: map[string]Tensor{"t": Encode(c.d, []int{2, 4}, vals)}}
		path := filepath.Join(t.TempDir(), "m.safetensors")
		if err := Write(path, f); err != nil {
			t.Fatal(err)
		}
		g, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		got := g.Tensors["t"]
		if got.DType != c.d || len(got.Shape) != 2 || got.Shape[0] != 2 || got.Shape[1] != 4 || g.Metadata["dtype"] != string(c.d) {
			t.Fatalf("%s: header %v %v %v", c.d, got.DType, got.Shape, g.Metadata)
		}
		for i, v := range got.Float64s() {
			if math.Abs(v-vals[i]) > c.tol*math.Max(math.Abs(vals[i]), 1e-2) {
				t.Errorf("%s element %d: %g → %g", c.d, i, vals[i], v)
			}
		}
	}
}

func TestBFloat16Rounding(t *testing.T) {
	for _, c := range []struct {
		in   float32
		want uint16
	}{
		{1, 0x3f80},
		{-2, 0xc000},
		{1 + 1.0/256, 0x3f80}, // halfway: to even
		{1 + 3.0/256, 0x3f82}, // halfway: to even (up)
		{1 + 1.0/128, 0x3f81}, // exact
		{float32(math.Inf(1)), 0x7f80},
	} {
		if got := bfloat16(c.in); got != c.want {
			t.Errorf("bfloat16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if v := Encode(BF16, []int{1}, []float64{math.NaN()}).Float32s()[0]; v == v {
		t.Error("NaN did not stay NaN")
	}
}

func corrupt(t *testing.T, mutate func([]byte) []byte) error {
	t.Helper()
	b, err := sample().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	os.WriteFile(path, mutate(b), 0o644)
	_, err = Read(path)
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error does not name the file: %v", err)
	}
	return err
}

func TestCorruptFiles(t *testing.T) {
	cases := map[string]struct {
		mutate func([]byte) []byte
		says   string
	}{
		"empty":            {func(b []byte) []byte { return nil }, "shorter than the 8-byte header"},
		"truncated data":   {func(b []byte) []byte { return b[:len(b)-3] }, "truncated"},
		"truncated header": {func(b []byte) []byte { return b[:20] }, "truncated"},
		"huge header":      {func(b []byte) []byte { binary.LittleEndian.PutUint64(b, 1<<40); return b }, "exceeds"},
		"garbage header":   {func(b []byte) []byte { copy(b[8:], "not json"); return b }, "not a JSON object"},
		"trailing bytes":   {func(b []byte) []byte { return append(b, 0, 0, 0, 0) }, "trailing bytes"},
		"unknown dtype":    {func(b []byte) []byte { return []byte(strings.Replace(string(b), `"F32"`, `"I99"`, 1)) }, "dtype"},
		"shape mismatch":   {func(b []byte) []byte { return []byte(strings.Replace(string(b), `"shape":[3]`, `"shape":[4]`, 1)) }, "needs"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := corrupt(t, c.mutate)
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("error %q does not say %q", err, c.says)
			}
		})
	}
}

func TestOverlapAndGapRefused(t *testing.T) {
	for _, header := range []string{
		`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}`,
		`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`,
	} {
		b := make([]byte, 8, 64)
		binary.LittleEndian.PutUint64(b, uint64(len(header)))
		b = append(b, header...)
		b = append(b, make([]byte, 8)...)
		if _, err := Parse(b); err == nil {
			t.Errorf("accepted %s", header)
		}
	}
}

func TestAtomicWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	os.WriteFile(path, []byte("old"), 0o644)
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := Write(filepath.Join(dir, "missing", "x.safetensors"), sample()); err == nil {
		t.Error("write into a missing directory: no error")
	}
}

func TestStoreRoundTrip(t *testing.T) {
	src := nn.NewStore(tensor.Float32, 1)
	src.Get("conv.weight", []int{2, 3}, nn.KaimingUniform, 3, 2)
	src.Get("conv.bias", []int{2}, nn.KaimingUniform, 3, 2)
	f := &File{}
	FromStore(src, F32, "unet.", f)
	dst := nn.NewStore(tensor.Float32, 99)
	dst.Get("conv.weight", []int{2, 3}, nn.Zeros, 3, 2)
	dst.Get("conv.bias", []int{2}, nn.Zeros, 3, 2)
	if err := LoadStore(dst, f, "unet.", "test"); err != nil {
		t.Fatal(err)
	}
	for _, n := range src.Names() {
		a, b := nn.Float64s(src.Lookup(n)), nn.Float64s(dst.Lookup(n))
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s differs", n)
			}
		}
	}
	dst.Get("extra.weight", []int{1}, nn.Zeros, 1, 1)
	err := LoadStore(dst, f, "unet.", "test.safetensors")
	if err == nil || !strings.Contains(err.Error(), "missing unet.extra.weight") {
		t.Errorf("missing parameter: %v", err)
	}
}

type arch struct {
	Channels []int `yaml:"channels"`
	Heads    int   `yaml:"heads"`
}

func TestModelDirRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "model")
	info := &ModelInfo{Family: "test-unet", Provenance: Provenance{Tool: "rpo test", Seed: 3}}
	if err := info.SetArchitecture(arch{Channels: []int{4, 8}, Heads: 2}); err != nil {
		t.Fatal(err)
	}
	if err := WriteModelDir(dir, info, map[string]*File{"unet": sample()}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadModelDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var a arch
	if err := got.DecodeArchitecture(&a); err != nil || a.Heads != 2 || len(a.Channels) != 2 || got.Family != "test-unet" || got.Provenance.Seed != 3 {
		t.Fatalf("%+v %+v %v", got, a, err)
	}
	f, err := got.Open("unet")
	if err != nil || len(f.Tensors) != 3 {
		t.Fatalf("open: %v", err)
	}
	if _, err := got.Open("vae"); err == nil {
		t.Error("missing component: no error")
	}
	os.Remove(filepath.Join(dir, "unet.safetensors"))
	if _, err := ReadModelDir(dir); err == nil || !strings.Contains(err.Error(), "unet.safetensors") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := ReadModelDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a model directory") {
		t.Errorf("empty directory: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	b, _ := sample().Marshal()
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{}              "))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		for _, tt := range file.Tensors { // a parsed file decodes without panic
			tt.Float32s()
		}
		if _, err := file.Marshal(); err != nil {
			t.Fatalf("parsed file does not marshal: %v", err)
		}
	})
}

// TestCheckOptions: a difference outside mayChange is refused with the flag
// and both values; an option the checkpoint did not record (added by a later
// version) and a checkpoint without options are not checked.
func TestCheckOptions(t *testing.T) {
	saved := map[string]any{"lr": 0.003, "steps": 100.0, "seed": 5.0}
	if err := checkOptions("s.json", saved, map[string]any{"lr": 0.003, "steps": 200, "seed": 5, "reward_model": "x"}, map[string]bool{"steps": true}); err != nil {
		t.Fatalf("budget grown, new option: %v", err)
	}
	err := checkOptions("s.json", saved, map[string]any{"lr": 0.001, "steps": 100, "seed": 5}, nil)
	if err == nil || !strings.Contains(err.Error(), "--lr: 0.003 in the checkpoint, 0.001 now") || !strings.Contains(err.Error(), "s.json") {
		t.Fatalf("other lr: %v", err)
	}
	if err := checkOptions("s.json", saved, map[string]any{"lr": 0.003, "steps": 100}, nil); err == nil || !strings.Contains(err.Error(), "--seed: 5 in the checkpoint, unset now") {
		t.Fatalf("option dropped: %v", err)
	}
	if err := checkOptions("s.json", nil, map[string]any{"lr": 1}, nil); err != nil {
		t.Fatalf("no saved options: %v", err)
	}
}
