package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/embedded"
	"github.com/rpo-dev/rpo/internal/eval"
)

// EvalEncodersOptions are the options of `rpo eval encoders`.
type EvalEncodersOptions struct {
	Global      `mapstructure:",squash" yaml:",inline"`
	RewardModel string  `mapstructure:"reward_model" yaml:"reward_model"`
	ClipModel   string  `mapstructure:"clip_model" yaml:"clip_model"`
	DinoModel   string  `mapstructure:"dino_model" yaml:"dino_model"`
	Images      int     `mapstructure:"images" yaml:"images"`
	Pairs       int     `mapstructure:"pairs" yaml:"pairs"`
	Lambda      float64 `mapstructure:"lambda" yaml:"lambda"`
	Seed        uint64  `mapstructure:"seed" yaml:"seed"`
	JSON        bool    `mapstructure:"json" yaml:"json"`
}

// NewEvalEncodersCmd builds `rpo eval encoders`.
func NewEvalEncodersCmd(run func(context.Context, *EvalEncodersOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "encoders",
		Short: "Held-out accuracy of the reward and metric encoders (align-mini, clip-mini, dino-mini)",
		Long: `Measure the three encoders on renders of identities that pretraining never
samples: zero-shot class top-1 (CLIP's prompt ensemble: "a <class>" and
"a <class> <setting>" over every setting, averaged; and the single prompt
"a <class>") and setting top-1 (the class given) of the dual encoders, identity retrieval top-1 of dino-mini among
the 30 MiniDreamBench subjects, and for the dual encoders how often r_λ prefers
the right image of a prompt to the subject in another setting or another
identity of its class in the prompt's setting.`,
		Example: `  rpo eval encoders
  rpo eval encoders --reward-model runs/encoders/align-mini/model --images 1000 --pairs 1000 --json`,
		Args: cobra.NoArgs,
		RunE: runE(run),
	}
	f := cmd.Flags()
	f.String("reward-model", "", "align-mini model directory (default: embedded)")
	f.String("clip-model", "", "clip-mini model directory (default: embedded)")
	f.String("dino-model", "", "dino-mini model directory (default: embedded)")
	f.Int("images", 300, "held-out renders for the zero-shot and retrieval accuracies")
	f.Int("pairs", 300, "trials of the reward pair check")
	f.Float64("lambda", 0.5, "λ of the reward in the pair check")
	f.Uint64("seed", 11, "seed of the held-out renders")
	f.Bool("json", false, "print JSON instead of a table")
	return cmd
}

// RunEvalEncoders runs `rpo eval encoders`.
func RunEvalEncoders(ctx context.Context, o *EvalEncodersOptions) error {
	type row struct {
		Name    string             `json:"name"`
		Model   string             `json:"model"`
		Metrics map[string]float64 `json:"metrics"`
	}
	var rows []row
	start := time.Now()
	for _, e := range []struct{ dir, name string }{{o.RewardModel, embedded.AlignMini}, {o.ClipModel, embedded.ClipMini}, {o.DinoModel, embedded.DinoMini}} {
		if err := ctx.Err(); err != nil {
			return err
		}
		enc, label, err := openEncoder(e.dir, e.name)
		if err != nil {
			return err
		}
		if e.name != embedded.DinoMini && !enc.Dual() {
			enc.Close()
			return fmt.Errorf("%s (%s) is an image-only encoder; %s needs a dual encoder (image and text towers)", e.name, label, e.name)
		}
		m, err := eval.EvaluateEncoder(enc, o.Images, o.Seed)
		if err == nil && enc.Dual() {
			var p map[string]float64
			if p, err = eval.RewardPairs(enc, o.Pairs, o.Lambda, o.Seed+1); err == nil {
				for k, v := range p {
					m[k] = v
				}
			}
		}
		enc.Close()
		if err != nil {
			return fmt.Errorf("%s (%s): %w", e.name, label, err)
		}
		rows = append(rows, row{e.name, label, m})
		o.Logger.Info("evaluated", "encoder", e.name, "elapsed", time.Since(start).Round(time.Second))
	}
	if o.JSON {
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(o.Out, string(b))
		return err
	}
	pct := func(m map[string]float64, k string) string {
		if v, ok := m[k]; ok {
			return fmt.Sprintf("%.1f%%", 100*v)
		}
		return "—"
	}
	fmt.Fprintf(o.Out, "%d held-out renders, %d reward pairs (λ = %g), seed %d\n", o.Images, o.Pairs, o.Lambda, o.Seed)
	tw := tabwriter.NewWriter(o.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "encoder\tclass top-1\tclass (one prompt)\tsetting top-1\tidentity top-1\tr_λ > wrong setting\tr_λ > wrong identity\tmodel")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, pct(r.Metrics, "class_top1"), pct(r.Metrics, "class_top1_plain"), pct(r.Metrics, "context_top1"), pct(r.Metrics, "identity_top1"),
			pct(r.Metrics, "reward_wrong_context"), pct(r.Metrics, "reward_wrong_identity"), r.Model)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if line := worstClasses(r.Metrics, 5); line != "" {
			fmt.Fprintf(o.Out, "%s, worst classes: %s\n", r.Name, line)
		}
	}
	return nil
}

// worstClasses lists the n classes of lowest class top-1 with the wrong
// class most of their images went to: "cat 52% (→ dog 31%), …".
func worstClasses(m map[string]float64, n int) string {
	type class struct {
		name, to     string
		acc, toShare float64
	}
	var cs []class
	for k, v := range m {
		if name, ok := strings.CutPrefix(k, "class_top1/"); ok {
			cs = append(cs, class{name: name, acc: v})
		}
	}
	for i := range cs {
		for k, v := range m {
			if rest, ok := strings.CutPrefix(k, "confusion/"+cs[i].name+"→"); ok && (v > cs[i].toShare || v == cs[i].toShare && rest < cs[i].to) {
				cs[i].to, cs[i].toShare = rest, v
			}
		}
	}
	slices.SortFunc(cs, func(a, b class) int { return cmp.Or(cmp.Compare(a.acc, b.acc), strings.Compare(a.name, b.name)) })
	var parts []string
	for _, c := range cs[:min(n, len(cs))] {
		p := fmt.Sprintf("%s %.0f%%", c.name, 100*c.acc)
		if c.to != "" {
			p += fmt.Sprintf(" (→ %s %.0f%%)", c.to, 100*c.toShare)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}
