package models

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/oracle"
)

// parity compares got with the reference want: the largest absolute error
// and the largest error relative to the reference's largest magnitude.
func parity(t *testing.T, what string, got, want []float32, relTol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var maxAbs, scale float64
	for i := range got {
		maxAbs = math.Max(maxAbs, math.Abs(float64(got[i])-float64(want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	rel := maxAbs / scale
	t.Logf("%s: max abs error %.3g, relative %.3g (reference max %.3g)", what, maxAbs, rel, scale)
	if !(rel <= relTol) {
		t.Errorf("%s: relative error %.3g over %.3g", what, rel, relTol)
	}
}

func expected(t *testing.T, dir string) *ckpt.File {
	t.Helper()
	f, err := ckpt.Read(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSDUNetMatchesDiffusers(t *testing.T) {
	for _, variant := range []string{"sd1", "sd2"} {
		dir := oracle.TinySD(t, variant)
		var c SDUNetConfig
		b, _ := os.ReadFile(filepath.Join(dir, "model", "unet", "config.json"))
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		e := expected(t, dir)
		xs := e.Tensors["unet_x"].Shape
		store := nn.NewStore(tensor.Float32, 1)
		bd := nn.NewBuilder(store, nil)
		x, xd := bd.InputData("x", xs...)
		tf, tfd := bd.InputData("t", xs[0], c.TimeDim())
		cs := e.Tensors["unet_ctx"].Shape
		ctx, ctxd := bd.InputData("ctx", cs...)
		var out G.Value
		if err := nn.Build(func() { G.Read(SDUNet(bd, &c, x, tf, ctx), &out) }); err != nil {
			t.Fatal(err)
		}
		w, err := ckpt.Read(filepath.Join(dir, "model", "unet", "diffusion_pytorch_model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if err := ckpt.LoadStore(store, w, "", "unet"); err != nil {
			t.Fatal(err)
		}
		copy(xd.Data().([]float32), e.Tensors["unet_x"].Float32s())
		copy(ctxd.Data().([]float32), e.Tensors["unet_ctx"].Float32s())
		ts := e.Tensors["unet_t"].Float64s()
		for i, v := range c.TimestepFeatures(ts) {
			tfd.Data().([]float32)[i] = float32(v)
		}
		prog, err := nn.Compile(bd, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		parity(t, variant+" unet", out.Data().([]float32), e.Tensors["unet_out"].Float32s(), 1e-4)
		prog.Close()
	}
}
