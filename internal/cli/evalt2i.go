package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/embedded"
	"github.com/rpo-dev/rpo/internal/eval"
	"github.com/rpo-dev/rpo/internal/imageio"
)

// EvalT2IOptions are the options of `rpo eval t2i`.
type EvalT2IOptions struct {
	SDFlags   `mapstructure:",squash" yaml:",inline"`
	Global    `mapstructure:",squash" yaml:",inline"`
	Model     string  `mapstructure:"model" yaml:"model"`
	ClipModel string  `mapstructure:"clip_model" yaml:"clip_model"`
	Captions  int     `mapstructure:"captions" yaml:"captions"`
	Steps     int     `mapstructure:"steps" yaml:"steps"`
	Guidance  float64 `mapstructure:"guidance" yaml:"guidance"`
	Seed      uint64  `mapstructure:"seed" yaml:"seed"`
	OutDir    string  `mapstructure:"out" yaml:"out"`
}

// NewEvalT2ICmd builds `rpo eval t2i`.
func NewEvalT2ICmd(run func(context.Context, *EvalT2IOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "t2i",
		Short: "Check a base text-to-image model on held-out captions (CLIP-T vs real renders, class accuracy)",
		Long: `Generate one image for each of --captions held-out captions (world scenes whose
identities pretraining never samples) and measure them with clip-mini: CLIP-T of
the generated images against CLIP-T of real renders of the same captions (and
their ratio), and zero-shot class and setting accuracy of both: overall, by
class (with the classes the misclassified generated images went to), and on
the captions without a cube shape or painting style. Writes check.json and
grid.png (real renders above, generated images below) to --out.`,
		Example: `  rpo eval t2i --out eval/t2i
  rpo eval t2i --model runs/t2i/model --clip-model runs/encoders/clip-mini/model --captions 200`,
		Args: cobra.NoArgs,
		RunE: runE(run),
	}
	f := cmd.Flags()
	addSDFlags(f)
	f.String("model", "", "text-to-image model directory (default: the embedded model)")
	f.String("clip-model", "", "clip-mini model directory (default: the embedded one)")
	f.Int("captions", 200, "held-out captions, one image each")
	f.Int("steps", 50, "DDIM steps")
	f.Float64("guidance", 7.5, "classifier-free guidance")
	f.Uint64("seed", 2024, "seed of the captions and of the images")
	f.String("out", "eval/t2i", "output directory")
	return cmd
}

// RunEvalT2I runs `rpo eval t2i`.
func RunEvalT2I(ctx context.Context, o *EvalT2IOptions) error {
	m, _, label, err := openT2I(o.Model, o.SDFlags.options())
	if err != nil {
		return err
	}
	defer m.Close()
	clip, clipLabel, err := openEncoder(o.ClipModel, embedded.ClipMini)
	if err != nil {
		return err
	}
	defer clip.Close()
	start := time.Now()
	r, grid, err := eval.CheckT2I(ctx, m, clip, eval.T2ICheckOptions{
		Captions: o.Captions, Seed: o.Seed, Sampler: diffusion.Sampler{Steps: o.Steps, Guidance: o.Guidance},
	}, func(done, total int) {
		o.Logger.Info("generated", "images", done, "of", total, "elapsed", time.Since(start).Round(time.Second))
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(struct {
		Model string `json:"model"`
		Clip  string `json:"clip_model"`
		*eval.T2ICheck
	}{label, clipLabel, r}, "", "  ")
	if err != nil {
		return err
	}
	if err := ckpt.WriteFileAtomic(filepath.Join(o.OutDir, "check.json"), append(b, '\n')); err != nil {
		return err
	}
	if err := imageio.SavePNG(filepath.Join(o.OutDir, "grid.png"), grid); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "model %s, clip %s, %d held-out captions, DDIM %d, guidance %g (%s)\n", label, clipLabel, r.Captions, o.Steps, o.Guidance, time.Since(start).Round(time.Second))
	fmt.Fprintf(o.Out, "CLIP-T  generated %.4f ± %.4f   real renders %.4f ± %.4f   ratio %.1f%%\n",
		r.CLIPTGenerated.Mean, r.CLIPTGenerated.CI95, r.CLIPTReal.Mean, r.CLIPTReal.CI95, 100*r.CLIPTRatio)
	fmt.Fprintf(o.Out, "class top-1    generated %.1f%%   real renders %.1f%%   (one prompt \"a <class>\": %.1f%%, %.1f%%)\n",
		100*r.ClassGenerated, 100*r.ClassReal, 100*r.ClassGeneratedPlain, 100*r.ClassRealPlain)
	fmt.Fprintf(o.Out, "setting top-1  generated %.1f%%   real renders %.1f%%\n", 100*r.ContextGenerated, 100*r.ContextReal)
	fmt.Fprintf(o.Out, "class top-1 without cube shape or painting style (%d captions)  generated %.1f%%   real renders %.1f%%\n",
		r.Unreshaped.N, 100*r.Unreshaped.Generated, 100*r.Unreshaped.Real)
	classes := slices.Sorted(maps.Keys(r.ByClass))
	slices.SortStableFunc(classes, func(a, b string) int { return cmp.Compare(r.ByClass[a].Generated, r.ByClass[b].Generated) })
	var worst []string
	for _, c := range classes[:min(6, len(classes))] {
		a := r.ByClass[c]
		to := ""
		if c, n := a.MostConfused(); n > 0 {
			to = fmt.Sprintf("; → %s %d", c, n)
		}
		worst = append(worst, fmt.Sprintf("%s %.0f%% (real %.0f%%, %d%s)", c, 100*a.Generated, 100*a.Real, a.N, to))
	}
	fmt.Fprintf(o.Out, "worst classes, generated: %s\n", strings.Join(worst, ", "))
	fmt.Fprintf(o.Out, "wrote %s\n", o.OutDir)
	return nil
}
