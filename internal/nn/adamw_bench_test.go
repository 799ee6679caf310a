package nn

import (
	"fmt"
	"testing"

	"gorgonia.org/tensor"
)

// BenchmarkAdamWUpdate: one AdamW step on 3.3 M float32 parameters in 100
// tensors (the embedded U-Net's size).
func BenchmarkAdamWUpdate(b *testing.B) {
	store := NewStore(tensor.Float32, 1)
	grads := map[string]*tensor.Dense{}
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("p%03d", i)
		store.Get(name, []int{33_000}, Normal(0.02), 1, 1)
		grads[name] = RandN(tensor.Float32, uint64(i), 33_000)
	}
	opt := NewAdamW(1e-4)
	for i := 0; i < b.N; i++ {
		if _, err := opt.Update(store, grads); err != nil {
			b.Fatal(err)
		}
	}
}
