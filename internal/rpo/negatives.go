package rpo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/models"
)

// Negative is one image the frozen base model sampled for a training
// prompt: the "generated" side of every preference pair.
type Negative struct {
	Prompt string      `json:"prompt"` // c_gen, with the token
	Seed   uint64      `json:"seed"`
	File   string      `json:"file"` // PNG, relative to the cache directory
	Key    string      `json:"key"`  // what the image depends on (see NegativeKey)
	Image  *image.RGBA `json:"-"`
}

// NegativeKey hashes everything a negative depends on: the base model's
// weights, the prompt, the seed and the sampler settings.
func NegativeKey(modelID, prompt string, seed uint64, s diffusion.Sampler) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00steps=%d guidance=%g eta=%g ancestral=%v", modelID, prompt, seed, s.Steps, s.Guidance, s.Eta, s.Ancestral)
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// manifest is the cache's index: negatives.json.
type manifest struct {
	Negatives []Negative `json:"negatives"`
}

// Negatives returns k negatives for each prompt, sampling only those the
// cache directory does not hold yet and adding them to it; nothing in the
// cache is ever deleted. Seeds are seed, seed+1, … per prompt. A negative is
// found by its file, NegativeKey + ".png", not through the manifest
// (negatives.json, an index for people and tools), which every call
// updates under a file lock, so that runs sharing a cache at the same time
// (eval shards) keep each other's entries.
func Negatives(m *models.T2I, modelID string, prompts []string, k int, seed uint64, s diffusion.Sampler, cache string) ([]Negative, error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("rpo: %w", err)
	}
	var out []Negative
	var todo []int
	for _, p := range prompts {
		for i := 0; i < k; i++ {
			n := Negative{Prompt: p, Seed: seed + uint64(i), Key: NegativeKey(modelID, p, seed+uint64(i), s)}
			n.File = n.Key + ".png"
			if img, err := imageio.Load(filepath.Join(cache, n.File), m.Config.Resolution); err == nil {
				n.Image = img
			} else {
				todo = append(todo, len(out))
			}
			out = append(out, n)
		}
	}
	// sample the missing ones in batches of 8, two at a time where there
	// is memory for a replica of the model: a batch of 8 keeps one core
	// busy, not two (its operators are small), and the images are the
	// same whichever model samples them
	batches := (len(todo) + 7) / 8
	samplers := []*models.T2I{m}
	if batches > 1 && runtime.GOMAXPROCS(0) > 1 && copyFits(m.Bytes()) {
		r, err := m.Replica()
		if err != nil {
			return nil, err
		}
		defer r.Close()
		samplers = append(samplers, r)
	}
	outer := s.Progress
	var mu sync.Mutex // out's images and the progress of every batch
	done := make([]int, batches)
	batch := func(b int, m *models.T2I) error {
		s := s
		if outer != nil { // progress over every batch, not one
			s.Progress = func(d, n int) {
				mu.Lock()
				defer mu.Unlock()
				done[b] = d
				sum := 0
				for _, v := range done {
					sum += v
				}
				outer(sum, batches*n)
			}
		}
		idx := todo[b*8 : min(b*8+8, len(todo))]
		ps, seeds := make([]string, len(idx)), make([]uint64, len(idx))
		for j, i := range idx {
			ps[j], seeds[j] = out[i].Prompt, out[i].Seed
		}
		imgs, err := m.Generate(ps, seeds, s)
		if err != nil {
			return err
		}
		for j, i := range idx {
			if err := imageio.SavePNG(filepath.Join(cache, out[i].File), imgs[j]); err != nil {
				return err
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for j, i := range idx {
			out[i].Image = imgs[j]
		}
		return nil
	}
	for b0 := 0; b0 < batches; b0 += len(samplers) {
		errs := make([]error, len(samplers))
		var wg sync.WaitGroup
		for w, mw := range samplers[:min(len(samplers), batches-b0)] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[w] = batch(b0+w, mw)
			}()
		}
		wg.Wait()
		if err := addToManifest(cache, out); err != nil { // a partial run keeps its index
			return nil, err
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	return out, addToManifest(cache, out)
}

// addToManifest adds the negatives of ns that have an image to the cache's
// negatives.json, read and written under the lock of negatives.json.lock so
// that entries other processes add at the same time (eval shards sharing
// the cache) are kept; it writes only when something is new.
func addToManifest(cache string, ns []Negative) error {
	return ckpt.WithLock(filepath.Join(cache, "negatives.json.lock"), func() error { return addToManifestLocked(cache, ns) })
}

func addToManifestLocked(cache string, ns []Negative) error {
	mp := filepath.Join(cache, "negatives.json")
	var man manifest
	if b, err := os.ReadFile(mp); err == nil {
		if err := json.Unmarshal(b, &man); err != nil {
			return fmt.Errorf("rpo: %s: %w", mp, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rpo: %w", err)
	}
	have := map[string]bool{}
	for _, n := range man.Negatives {
		have[n.Key] = true
	}
	added := false
	for _, n := range ns {
		if n.Image != nil && !have[n.Key] {
			man.Negatives = append(man.Negatives, n)
			have[n.Key], added = true, true
		}
	}
	if !added {
		return nil
	}
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	return ckpt.WriteFileAtomic(mp, b)
}
