package eval

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"image"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/imageio"
)

// Shared samples: rows of a table that differ only in the selection rule
// share a subject's training run, and their rules often keep the same step
// (best@0.3, best@0.5 and best@0.7 kept the same weights on 7 of 8 subjects
// of the 30-subject table). The same weights, prompts, seeds and sampler
// give the same images, so a run keeps each kept model's generations in
// samples/<key>/ and a later row with the same key reads them instead of
// sampling again. PNG is lossless and the images are opaque, so the scores
// are those of sampling again, bit for bit.

// samplesKey identifies a generation: the model's weights (models.ModelID),
// the sampler and every prompt with its seed.
func samplesKey(modelID string, s diffusion.Sampler, prompts []string, seeds []uint64) string {
	h := sha256.New()
	fmt.Fprintf(h, "model %s\nsampler %v %d %v %v %v\n", modelID, s.Prediction, s.Steps, s.Guidance, s.Eta, s.Ancestral)
	if sc := s.Schedule; sc != nil {
		fmt.Fprintf(h, "schedule %v %v %q %d\n", sc.Betas, sc.FinalAlphaBar, sc.Spacing, sc.StepsOffset)
	}
	for i, p := range prompts {
		writeLine(h, strconv.FormatUint(seeds[i], 10), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

func writeLine(h hash.Hash, fields ...string) {
	for _, f := range fields {
		fmt.Fprintf(h, "%d:%s", len(f), f) // length-prefixed: no two prompt lists hash alike
	}
	h.Write([]byte{'\n'})
}

func sampleName(i, perPrompt int) string {
	return fmt.Sprintf("%02d-%d.png", i/perPrompt, i%perPrompt)
}

// readSamples returns the n images kept in dir, or nil when dir does not
// hold a finished set.
func readSamples(dir string, n, perPrompt int) ([]*image.RGBA, error) {
	if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
		return nil, nil
	}
	imgs := make([]*image.RGBA, n)
	for i := range imgs {
		var err error
		if imgs[i], err = imageio.Load(filepath.Join(dir, sampleName(i, perPrompt)), 0); err != nil { // square and opaque: the pixels as written
			return nil, err
		}
	}
	return imgs, nil
}

// writeSamples keeps imgs in dir: written beside it and renamed, so a
// stopped process never leaves a partial set under the key.
func writeSamples(dir string, imgs []*image.RGBA, perPrompt int) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	defer os.RemoveAll(tmp)
	for i, im := range imgs {
		if err := imageio.SavePNG(filepath.Join(tmp, sampleName(i, perPrompt)), im); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "done"), nil, 0o644); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil && !isExist(dir) {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}

func isExist(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "done"))
	return err == nil
}
