package ckpt

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"gorgonia.org/tensor"

	"github.com/rpo-dev/rpo/internal/nn"
)

// FromStore converts every parameter of store to a tensor of dtype d, under
// its store name with prefix (for example "unet.") prepended.
func FromStore(store *nn.Store, d DType, prefix string, into *File) {
	if into.Tensors == nil {
		into.Tensors = map[string]Tensor{}
	}
	for _, n := range store.Names() {
		t := store.Lookup(n)
		into.Tensors[prefix+n] = Encode(d, t.Shape().Clone(), nn.Float64s(t))
	}
}

// LoadStore sets every parameter of store from the tensors of f whose names
// start with prefix. The store must already hold the model's parameters
// (build the model once first): a parameter missing from the file, a tensor
// the model does not have, or a shape mismatch is an error naming source.
func LoadStore(store *nn.Store, f *File, prefix, source string) error {
	var missing, unexpected []string
	want := map[string]bool{}
	for _, n := range store.Names() {
		want[n] = true
		t, ok := f.Tensors[prefix+n]
		if !ok {
			missing = append(missing, prefix+n)
			continue
		}
		p := store.Lookup(n)
		if !p.Shape().Eq(tensor.Shape(t.Shape)) {
			return fmt.Errorf("ckpt: %s: tensor %q has shape %v, the model expects %v", source, prefix+n, t.Shape, p.Shape())
		}
		if d, ok := p.Data().([]float32); ok && t.DType != F64 { // decode in place: no float64 copy of a large model
			t.decodeFloat32(d)
			for i, v := range d {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fmt.Errorf("ckpt: %s: tensor %q holds %v (element %d); the weights are not usable", source, prefix+n, v, i)
				}
			}
			continue
		}
		vals := t.Float64s()
		for i, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("ckpt: %s: tensor %q holds %v (element %d); the weights are not usable", source, prefix+n, v, i)
			}
		}
		if err := store.Set(n, nn.FromFloat64(store.Dtype(), vals, t.Shape...)); err != nil {
			return fmt.Errorf("ckpt: %s: %w", source, err)
		}
	}
	for n := range f.Tensors {
		if strings.HasPrefix(n, prefix) && !want[strings.TrimPrefix(n, prefix)] {
			unexpected = append(unexpected, n)
		}
	}
	sort.Strings(unexpected)
	if len(missing) > 0 || len(unexpected) > 0 {
		return fmt.Errorf("ckpt: %s does not match the model: missing %s; unexpected %s", source, list(missing), list(unexpected))
	}
	return nil
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	if len(s) > 5 {
		return fmt.Sprintf("%s and %d more", strings.Join(s[:5], ", "), len(s)-5)
	}
	return strings.Join(s, ", ")
}
