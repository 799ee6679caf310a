package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/embedded"
	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/reward"
)

// ScoreOptions are the options of `rpo score`.
type ScoreOptions struct {
	Global `mapstructure:",squash" yaml:",inline"`
	Refs   string   `mapstructure:"refs" yaml:"refs"`
	Prompt string   `mapstructure:"prompt" yaml:"prompt"`
	Lambda float64  `mapstructure:"lambda" yaml:"lambda"`
	Token  string   `mapstructure:"token" yaml:"token"`
	Model  string   `mapstructure:"model" yaml:"model"`
	JSON   bool     `mapstructure:"json" yaml:"json"`
	Images []string `mapstructure:"-" yaml:"images"`
}

// NewScoreCmd builds `rpo score`.
func NewScoreCmd(run func(context.Context, *ScoreOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "score --refs DIR --prompt P IMAGE...",
		Short: "ALIGN-I, ALIGN-T and the λ-Harmonic reward of images",
		Long: `Score images against a subject's reference images and a prompt with the reward
model: ALIGN-I (mean cosine to the references, mapped to [0,1]), ALIGN-T (cosine
to the prompt, mapped to [0,1]) and r_λ = 1/(λ/ALIGN-I + (1−λ)/ALIGN-T). The unique
token (--token) is removed from the prompt first.`,
		Example: `  rpo score --model runs/pretrain-encoders/align-mini/model --refs ./imgs --prompt "a sks dog on the beach" out/*.png`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := &ScoreOptions{}
			if err := resolve(cmd, o, &o.Global); err != nil {
				return err
			}
			o.Images = args
			return run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.String("refs", "", "directory of the subject's reference images (required)")
	f.String("prompt", "", "the prompt the images were made for (required)")
	f.Float64("lambda", 0.5, "λ of the λ-Harmonic reward (1: ALIGN-I only, 0: ALIGN-T only)")
	f.String("token", "sks", "unique identifier removed from the prompt")
	f.String("model", "", "reward model: an align-mini model directory, or a transformers AlignModel or CLIPModel directory (default: the embedded align-mini)")
	f.Bool("json", false, "print JSON instead of a table")
	return cmd
}

// ScoreRow is one image's scores.
type ScoreRow struct {
	Image  string  `json:"image"`
	AlignI float64 `json:"align_i"`
	AlignT float64 `json:"align_t"`
	Reward float64 `json:"reward"`
}

// RunScore runs `rpo score`.
func RunScore(_ context.Context, o *ScoreOptions) error {
	switch {
	case o.Refs == "":
		return fmt.Errorf("--refs is required")
	case strings.TrimSpace(o.Prompt) == "":
		return fmt.Errorf("--prompt is required")
	case o.Lambda < 0 || o.Lambda > 1:
		return fmt.Errorf("--lambda %g is outside [0, 1]", o.Lambda)
	}
	enc, label, err := openEncoder(o.Model, embedded.AlignMini)
	if err != nil {
		return err
	}
	defer enc.Close()
	if !enc.Dual() {
		return fmt.Errorf("--model %s is %s, an image-only encoder; the reward needs a dual encoder (align-mini, ALIGN, CLIP)", label, enc.Config.Name)
	}
	refs, err := loadRefs(o.Refs, enc.LoadSide(), o.Logger, false)
	if err != nil {
		return err
	}
	imgs := make([]*image.RGBA, len(o.Images))
	for i, p := range o.Images {
		if imgs[i], err = imageio.Load(p, enc.LoadSide()); err != nil {
			return err
		}
	}
	scorer, err := reward.NewScorer(enc, refs, o.Token)
	if err != nil {
		return err
	}
	prompts := make([]string, len(imgs))
	for i := range prompts {
		prompts[i] = o.Prompt
	}
	scores, err := scorer.Score(imgs, prompts)
	if err != nil {
		return err
	}
	clean := scorer.Clean(o.Prompt)
	rows := make([]ScoreRow, len(imgs))
	for i, sc := range scores {
		rows[i] = ScoreRow{Image: o.Images[i], AlignI: sc.AlignI, AlignT: sc.AlignT, Reward: sc.Reward(o.Lambda)}
	}
	if o.JSON {
		return json.NewEncoder(o.Out).Encode(map[string]any{"prompt": clean, "lambda": o.Lambda, "references": len(refs), "model": enc.Config.Name, "scores": rows})
	}
	fmt.Fprintf(o.Out, "prompt %q (token removed), %d references, λ = %g, %s\n", clean, len(refs), o.Lambda, enc.Config.Name)
	tw := tabwriter.NewWriter(o.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "image\tALIGN-I\tALIGN-T\tr_λ")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\n", r.Image, r.AlignI, r.AlignT, r.Reward)
	}
	return tw.Flush()
}
