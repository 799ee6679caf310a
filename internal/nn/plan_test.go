package nn

import (
	"context"
	"errors"
	"runtime"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// planNet is a small U-Net-like training graph: convolutions, ResBlocks
// with time embeddings, attention with context, an upsample and a skip
// concatenation, LoRA adapters on the attention, an MSE loss; with lora
// only the adapters train.
func planNet(t *testing.T, plan, lora bool) (loss float64, grads map[string][]float32, p *Program) {
	t.Helper()
	defer func(v bool) { PlanBuffers = v }(PlanBuffers)
	PlanBuffers = plan
	store := NewStore(tensor.Float32, 5)
	b := NewBuilder(store, nil)
	if lora {
		b.LoRA = &LoRA{Rank: 2, Alpha: 2, Targets: []string{"to_q", "to_k", "to_v", "to_out"}}
	}
	x, xd := b.InputData("x", 2, 4, 8, 8)
	temb, td := b.InputData("temb", 2, 16)
	ctx, cd := b.InputData("ctx", 2, 3, 8)
	y, yd := b.InputData("y", 2, 4, 8, 8)
	for i, d := range [][]float32{xd.Data().([]float32), td.Data().([]float32), cd.Data().([]float32), yd.Data().([]float32)} {
		r := RandN(tensor.Float32, uint64(10+i), len(d))
		copy(d, r.Data().([]float32))
	}
	var l *G.Node
	if err := Build(func() {
		h := b.Conv("in", x, 16, 3, 1, 1)
		h1 := b.ResBlock("res1", h, temb, 16, 4)
		d := b.Conv("down", h1, 16, 3, 2, 1)
		d = b.AttnBlock("attn", b.ResBlock("res2", d, temb, 16, 4), ctx, 2, 4)
		u := b.Upsample2x(d)
		h = b.ResBlock("res3", b.ConcatChannels(u, h1), temb, 16, 4)
		l = b.MSE(b.Conv("out", b.GroupNorm("norm", h, 4, true), 4, 3, 1, 1), y)
	}); err != nil {
		t.Fatal(err)
	}
	var trainable func(string) bool
	if lora {
		trainable = IsLoRAParam
	}
	p, err := CompileTrainable(b, l, true, trainable)
	if err != nil {
		t.Fatal(err)
	}
	for run := 0; run < 2; run++ { // twice: a buffer shared wrongly shows as drift
		if loss, err = p.Run(); err != nil {
			t.Fatal(err)
		}
	}
	grads = map[string][]float32{}
	for n, g := range p.Grads() {
		grads[n] = append([]float32(nil), g.Data().([]float32)...)
	}
	return loss, grads, p
}

// TestBufferPlanComputesTheSame checks that sharing buffers by liveness and
// running only what the reads need change no bit of the loss or of any
// gradient, full and LoRA, and that the plan shares.
func TestBufferPlanComputesTheSame(t *testing.T) {
	for _, lora := range []bool{false, true} {
		l0, g0, p0 := planNet(t, false, lora)
		l1, g1, p1 := planNet(t, true, lora)
		if l0 != l1 {
			t.Errorf("lora %v: loss %v with the plan, %v without", lora, l1, l0)
		}
		if len(g0) != len(g1) || len(g0) == 0 {
			t.Fatalf("lora %v: %d gradients with the plan, %d without", lora, len(g1), len(g0))
		}
		for n, a := range g0 {
			for i := range a {
				if a[i] != g1[n][i] {
					t.Fatalf("lora %v: %s[%d] = %v with the plan, %v without", lora, n, i, g1[n][i], a[i])
				}
			}
		}
		pl := p1.Plan
		t.Logf("lora %v: %v", lora, pl)
		if pl.Nodes == 0 || pl.SharedBytes >= pl.OwnedBytes {
			t.Errorf("lora %v: the plan shares nothing: %v", lora, pl)
		}
		p0.Close()
		p1.Close()
	}
}

// TestInterruptStopsARun: after Interrupt a program's run fails at its
// next owned operator with an error that is context.Canceled.
func TestInterruptStopsARun(t *testing.T) {
	_, _, p := planNet(t, true, false)
	defer p.Close()
	Interrupt()
	_, err := p.Run()
	ResetInterrupt()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run after Interrupt: %v, want context.Canceled", err)
	}
	if _, err := p.Run(); err != nil {
		t.Fatalf("run after ResetInterrupt: %v", err)
	}
}

// TestGradientsSameOnAnyCoreCount: the loss and every gradient of a
// training graph have the same bits on 1, 2 and 4 cores (the batch sums of
// the filter and norm gradients make the same parts everywhere).
func TestGradientsSameOnAnyCoreCount(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(2)
	l2, g2, _ := planNet(t, true, false)
	for _, procs := range []int{1, 4} {
		runtime.GOMAXPROCS(procs)
		l, g, _ := planNet(t, true, false)
		if l != l2 {
			t.Errorf("%d cores: loss %v, 2 cores %v", procs, l, l2)
		}
		for n, a := range g2 {
			for i := range a {
				if a[i] != g[n][i] {
					t.Fatalf("%d cores: gradient %s[%d] %v, 2 cores %v", procs, n, i, g[n][i], a[i])
				}
			}
		}
	}
}
