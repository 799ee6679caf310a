package models

import (
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/nn"
	"github.com/rpo-dev/rpo/internal/oracle"
)

// TestLoRAMatchesDiffusers gives the tiny U-Net random adapters (rank 2,
// α 3) on every attention projection, writes them as rpo writes a run's
// LoRA file, has diffusers load them with load_attn_procs, and compares
// the outputs with rpo's, adapters on (graph) and merged (--lora).
func TestLoRAMatchesDiffusers(t *testing.T) {
	dir := oracle.TinySD(t, "sd1")
	m, err := LoadDiffusers(filepath.Join(dir, "model"), 0, "")
	if err != nil {
		t.Fatal(err)
	}
	lora := &nn.LoRA{Rank: 2, Alpha: 3, Targets: []string{"to_q", "to_k", "to_v", "to_out.0"}, Under: "unet."}
	policy := m.Denoiser.Overlay()
	b := nn.NewBuilder(policy, nil)
	b.LoRA = lora
	in := m.NewDenoiseBatch(b, 2, false)
	if err := nn.Build(func() { in.Prediction(b) }); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range policy.Names() {
		if nn.IsLoRAParam(name) {
			n++
			d := policy.Lookup(name).Data().([]float32)
			for i, v := range nn.RandN(tensor.Float32, uint64(n), policy.Lookup(name).Shape()...).Data().([]float32) {
				d[i] = 0.1 * v
			}
		}
	}
	if n != 176 { // 11 transformers (4 down, 1 mid, 6 up) × 2 attentions × 4 projections × (down, up)
		t.Errorf("%d adapter tensors, want 176", n)
	}
	file := filepath.Join(t.TempDir(), LoRAFile)
	if err := SaveLoRA(file, policy, lora); err != nil {
		t.Fatal(err)
	}
	e := expected(t, dir)
	x, ts, ctx := e.Tensors["unet_x"].Float32s(), e.Tensors["unet_t"].Float64s(), e.Tensors["unet_ctx"].Float32s()
	tuned, err := m.WithLoRA(file, 1)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := tuned.Predict(x, ts, ctx)
	if err != nil {
		t.Fatal(err)
	}
	ref := oracle.Exec(t, "sd_lora_run.py", filepath.Join(dir, "model", "unet"), file, filepath.Join(dir, "expected.safetensors"))
	r, err := ckpt.Read(filepath.Join(ref, "out.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	want := r.Tensors["unet_out"].Float32s()
	parity(t, "U-Net with LoRA (merged) vs diffusers load_attn_procs", merged, want, 1e-4)
	// the same adapters in the kohya/A1111 format
	kfile := filepath.Join(t.TempDir(), KohyaLoRAFile)
	if err := SaveKohyaLoRA(kfile, policy, lora); err != nil {
		t.Fatal(err)
	}
	kf, _ := ckpt.Read(kfile)
	if _, ok := kf.Tensors["lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight"]; !ok {
		t.Errorf("kohya keys: %v…", kf.Names()[:3])
	}
	ktuned, err := m.WithLoRA(kfile, 1)
	if err != nil {
		t.Fatal(err)
	}
	kgot, _ := ktuned.Predict(x, ts, ctx)
	parity(t, "kohya-format file", kgot, merged, 1e-7)
	base, _ := m.Predict(x, ts, ctx)
	var moved float64
	for i := range base {
		moved = max(moved, float64(abs32(base[i]-want[i])))
	}
	if moved < 1e-3 {
		t.Errorf("the adapters changed the output by only %g", moved)
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
