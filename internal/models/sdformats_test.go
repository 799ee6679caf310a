package models

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/oracle"
)

// TestSDWeightFormats loads the tiny U-Net's weights as users have them
// besides plain fp32: the fp16 and bf16 variants, sharded with an index,
// and refuses a pickle, a missing tensor and a mis-shaped one by name.
func TestSDWeightFormats(t *testing.T) {
	src := filepath.Join(oracle.TinySD(t, "sd1"), "model")
	e := expected(t, filepath.Dir(src))
	ref, err := LoadDiffusers(src, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ref.Predict(e.Tensors["unet_x"].Float32s(), e.Tensors["unet_t"].Float64s(), e.Tensors["unet_ctx"].Float32s())
	weights, err := ckpt.Read(filepath.Join(src, "unet", "diffusion_pytorch_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	// copy makes a model directory whose unet/ holds only what write puts there
	copyModel := func(write func(unet string)) string {
		dir := filepath.Join(t.TempDir(), "m")
		if b, err := exec.Command("cp", "-r", src, dir).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, b)
		}
		os.Remove(filepath.Join(dir, "unet", "diffusion_pytorch_model.safetensors"))
		write(filepath.Join(dir, "unet"))
		return dir
	}
	convert := func(d ckpt.DType) *ckpt.File {
		f := &ckpt.File{Tensors: map[string]ckpt.Tensor{}}
		for n, tt := range weights.Tensors {
			f.Tensors[n] = ckpt.Encode(d, tt.Shape, tt.Float64s())
		}
		return f
	}
	check := func(name string, dir, variant string, tol float64) {
		t.Helper()
		m, err := LoadDiffusers(dir, 0, variant)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := m.Predict(e.Tensors["unet_x"].Float32s(), e.Tensors["unet_t"].Float64s(), e.Tensors["unet_ctx"].Float32s())
		if err != nil {
			t.Fatal(err)
		}
		parity(t, name, got, want, tol)
	}
	for _, c := range []struct {
		d   ckpt.DType
		tol float64
	}{{ckpt.F16, 2e-2}, {ckpt.BF16, 1e-1}} {
		dir := copyModel(func(unet string) {
			ckpt.Write(filepath.Join(unet, "diffusion_pytorch_model.fp16.safetensors"), convert(c.d))
		})
		check(string(c.d)+" variant", dir, "fp16", c.tol)
		if _, err := LoadDiffusers(dir, 0, ""); err == nil || !strings.Contains(err.Error(), "--weight-variant") {
			t.Errorf("plain names missing, variant present: %v", err)
		}
	}
	sharded := copyModel(func(unet string) {
		names := weights.Names()
		sort.Strings(names)
		idx := map[string]string{}
		for s, part := range [][]string{names[:len(names)/2], names[len(names)/2:]} {
			f := &ckpt.File{Tensors: map[string]ckpt.Tensor{}}
			file := []string{"diffusion_pytorch_model-00001-of-00002.safetensors", "diffusion_pytorch_model-00002-of-00002.safetensors"}[s]
			for _, n := range part {
				f.Tensors[n] = weights.Tensors[n]
				idx[n] = file
			}
			ckpt.Write(filepath.Join(unet, file), f)
		}
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": idx})
		os.WriteFile(filepath.Join(unet, "diffusion_pytorch_model.safetensors.index.json"), b, 0o644)
	})
	check("sharded", sharded, "", 1e-7)

	for _, c := range []struct {
		name, want string
		write      func(unet string)
	}{
		{"pickle", "convert them", func(unet string) {
			os.WriteFile(filepath.Join(unet, "diffusion_pytorch_model.bin"), []byte("x"), 0o644)
		}},
		{"missing tensor", "conv_out.bias", func(unet string) {
			f := convert(ckpt.F32)
			delete(f.Tensors, "conv_out.bias")
			ckpt.Write(filepath.Join(unet, "diffusion_pytorch_model.safetensors"), f)
		}},
		{"mis-shaped tensor", "conv_in.weight", func(unet string) {
			f := convert(ckpt.F32)
			f.Tensors["conv_in.weight"] = ckpt.Encode(ckpt.F32, []int{1, 2}, []float64{1, 2})
			ckpt.Write(filepath.Join(unet, "diffusion_pytorch_model.safetensors"), f)
		}},
	} {
		_, err := LoadDiffusers(copyModel(c.write), 0, "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (want an error naming %q)", c.name, err, c.want)
		}
	}
}
